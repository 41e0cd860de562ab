#!/usr/bin/env python3
"""Benchmark glance_svc on this machine and print the figures beside the machine's limits.

    python bench/run.py [--size-mib 1024] [--database-url URL] [--workers N] [--keep]

Starts its own glance-api (no-auth flavor, file store, SQLite in a temp dir unless
--database-url names another database) on 127.0.0.1, then measures over HTTP:

* upload MB/s of one image, Content-Length (the client sends the file with sendfile, so
  the figure is the server's), and again with Transfer-Encoding: chunked, in glanceclient's
  64 KiB chunks and in 1 MiB chunks; each as a fraction of the upload's limit measured in
  the same run (md5 and sha512 hashed in parallel; the slower of that and a disk write with
  fsync if the file store syncs) and of a bare upload server's speed (bench/limits.py);
  --uploads-only stops there;
* download MB/s of that image (best of three; the server sends it with sendfile);
* the parallel-download sweep of ``bench/downloads.py`` (1 to 16 clients; one image, an
  image each, the http store) beside a bare sendfile server (--downloads-only stops there);
* creates/s of 500 metadata-only `POST /v2/images`, one after the other;
* median and p95 latency of `GET /v2/images?limit=100` with 1000 images in the database;
* the same list, and a page sorted by name after a marker, at 1k, 10k and 100k images
  (the rows beyond the first thousand are inserted straight into the database, so this
  takes seconds, not an hour of API calls): with every listing query served by an index
  the figures stay flat as the catalogue grows;
* peak RSS of the server processes (gunicorn master and workers), and each one's RSS,
  PSS and USS at the end (the per-worker target is on RSS);

and, as the ceilings those figures live under, md5 and sha512 hashing speed and a plain
file copy on the same disk. MB = 10^6 bytes. Targets are printed as figures, never asserted:
this script is not part of the test suite, and the machine may be busy (the load average
is printed with the results). Everything it writes goes to a temp dir it removes at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from bench import downloads, limits  # noqa: E402
from bench.units import MB, MIB  # noqa: E402
from glance_svc.db.sqlalchemy.models import images as images_table  # noqa: E402
from tests.fixtures.service import GlanceServer  # noqa: E402

BLOCK = 4 * MIB
OCTET = {"Content-Type": "application/octet-stream"}


# -- the machine's limits ------------------------------------------------------------------


def hash_speed(name: str, total: int) -> tuple[float, float]:
    """(MB/s, MB per CPU-second) of hashlib `name` over `total` bytes of in-memory data."""
    block = os.urandom(16 * MIB)
    rounds = max(1, total // len(block))
    digest = hashlib.new(name)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        digest.update(block)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return rounds * len(block) / MB / wall, rounds * len(block) / MB / max(cpu, 1e-9)


def parallel_hash_speed(total: int) -> float:
    """MB/s of md5 and sha512 over the same data on two threads: an upload's hash limit."""
    block = os.urandom(16 * MIB)
    rounds = max(1, total // len(block))

    def digest(name: str) -> None:
        h = hashlib.new(name)
        for _ in range(rounds):
            h.update(block)

    threads = [threading.Thread(target=digest, args=(name,)) for name in ("md5", "sha512")]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rounds * len(block) / MB / (time.perf_counter() - started)


def copy_speed(source: Path) -> float:
    """MB/s of shutil.copyfile (in-kernel copy; page cache, no fsync) on the bench's disk."""
    target = source.with_suffix(".copy")
    started = time.perf_counter()
    shutil.copyfile(source, target)
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    return size / MB / seconds


def write_image_file(path: Path, size: int) -> None:
    """`size` bytes of incompressible data (16 MiB of random bytes, each copy numbered)."""
    pattern = os.urandom(16 * MIB)
    with path.open("wb") as out:
        written, index = 0, 0
        while written < size:
            block = index.to_bytes(8, "big") + pattern[8:]
            chunk = block[: size - written]
            out.write(chunk)
            written += len(chunk)
            index += 1


# -- the server's RSS ----------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc (gunicorn master and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(pid: int) -> tuple[float, float, float]:
    """RSS, PSS and USS of a process in MiB, from /proc/PID/smaps_rollup (0s if gone).

    RSS counts every page the process maps, shared or not, so N workers forked from one
    master do not cost N times their RSS; PSS splits each shared page between its
    sharers, and USS (private clean + dirty) is what the process alone holds.
    """
    fields: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            fields[name] = int(value.split()[0])
    except OSError:
        return 0.0, 0.0, 0.0
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return fields.get("Rss", 0) / 1024, fields.get("Pss", 0) / 1024, uss / 1024


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds used so far by `root` and its descendants.

    On a busy machine wall-clock rates say little; CPU seconds per phase say what the
    server itself spent, whatever else was running.
    """
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples the summed RSS of the server's process tree every 50 ms; keeps the peak."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kib = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            total = sum(status_kib(pid, "VmRSS") for pid in process_tree(self.root))
            self.peak_kib = max(self.peak_kib, total)
            self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# -- HTTP, with as little client overhead as possible -----------------------------------


@dataclass
class Api:
    """Persistent http.client connections to the server (one per calling thread)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        self._local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "conn", None) is None:
            self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=600,
                                                          blocksize=MIB)
        return self._local.conn

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            self._local.conn = None
            raise

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        status, data = self.call(method, path, payload, headers)
        if status != expect:
            raise RuntimeError(f"{method} {path} -> {status} (expected {expect}): {data[:500]!r}")
        return json.loads(data) if data else None

    def create_image(self, name: str) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        return self.json("POST", "/v2/images", body, expect=201)["id"]


def upload_sendfile(api: Api, image_id: str, path: Path) -> float:
    """PUT /file with Content-Length, body sent by sendfile(2); seconds until the 204."""
    size = path.stat().st_size
    head = (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: {api.host}:{api.port}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((api.host, api.port)) as sock, path.open("rb") as data:
        started = time.perf_counter()
        sock.sendall(head)
        sock.sendfile(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
        seconds = time.perf_counter() - started
    if response.status != 204:
        raise RuntimeError(f"upload -> {response.status}: {body[:500]!r}")
    return seconds


# python-glanceclient's chunk size (glanceclient.common.utils.CHUNKSIZE): what
# `glance image-create --file` sends.
GLANCECLIENT_CHUNK = 64 * 1024


def upload_chunked(api: Api, image_id: str, path: Path, chunk_size: int = MIB) -> float:
    """PUT /file with Transfer-Encoding: chunked in ``chunk_size`` chunks; seconds to 204."""

    def chunks() -> Iterator[bytes]:
        with path.open("rb", buffering=0) as data:
            while chunk := data.read(chunk_size):
                yield chunk

    conn = http.client.HTTPConnection(api.host, api.port, timeout=600, blocksize=MIB)
    try:
        started = time.perf_counter()
        conn.request("PUT", f"/v2/images/{image_id}/file", body=chunks(),
                     headers={**OCTET, "Transfer-Encoding": "chunked"}, encode_chunked=True)
        response = conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 204:
        raise RuntimeError(f"chunked upload -> {response.status}: {body[:500]!r}")
    return seconds


def upload_glanceclient(api: Api, image_id: str, path: Path) -> float:
    """The upload of `glance image-create --file`: python-glanceclient's own code path."""
    from glanceclient import client as glanceclient

    glance = glanceclient.Client("2", endpoint=f"http://{api.host}:{api.port}",
                                 token="bench")  # the no-auth flavor ignores it
    with path.open("rb") as data:
        started = time.perf_counter()
        glance.images.upload(image_id, data)
        return time.perf_counter() - started


def download(api: Api, image_id: str, expected_size: int) -> float:
    """GET /file read into a reused buffer (nothing kept, nothing hashed); seconds taken."""
    path = f"/v2/images/{image_id}/file"
    return timed(lambda: downloads.fetch(api.port, path, expected_size))


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fill_images(database_url: str, total: int) -> int:
    """Insert public active image rows until the database holds ``total``; returns the count.

    Straight through SQL in batches, bypassing the API: creating 100,000 images over HTTP
    would take the bench longer than everything else together.
    """
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(images_table)).scalar_one()
            start = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            for first in range(count, total, 10_000):
                conn.execute(sa.insert(images_table), [
                    {"id": str(uuid.uuid4()), "name": f"bench-bulk-{n:06d}", "status": "active",
                     "visibility": "public", "disk_format": "raw", "container_format": "bare",
                     "size": n, "created_at": start + dt.timedelta(milliseconds=n),
                     "updated_at": start}
                    for n in range(first, min(total, first + 10_000))])
            return max(count, total)
    finally:
        engine.dispose()


def list_latencies(api: Api, path: str, requests: int) -> list[float]:
    """Seconds per ``GET path``, ``requests`` times one after the other."""
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        status, body = api.call("GET", path)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"list {path} -> {status}: {body[:500]!r}")
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# -- the run -----------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    cpu: str = ""


class CpuMeter:
    """Server CPU seconds spent between start() and a row's cpu column."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.mark = cpu_seconds(root)

    def start(self) -> None:
        self.mark = cpu_seconds(self.root)

    def spent(self, amount: float = 0.0, unit: str = "") -> str:
        seconds = cpu_seconds(self.root) - self.mark
        if amount and seconds > 0:
            return f"{seconds:.1f} s ({amount / seconds:,.0f} {unit}/CPU-s)"
        return f"{seconds:.1f} s"


def run(args: argparse.Namespace, workdir: Path) -> list[Row]:
    size = args.size_mib * MIB
    image_file = workdir / "image.raw"
    say(f"writing a {args.size_mib} MiB test image")
    write_image_file(image_file, size)
    expected_md5 = hashlib.md5()
    with image_file.open("rb") as data:
        while block := data.read(BLOCK):
            expected_md5.update(block)

    rows = []
    cpu_per_mb = 0.0
    for name in ("md5", "sha512"):
        wall, per_cpu = hash_speed(name, min(size, 1024 * MIB))
        cpu_per_mb += 1 / per_cpu
        rows.append(Row(f"{name}, in memory", f"{wall:,.0f} MB/s", "",
                        f"({per_cpu:,.0f} MB/CPU-s)"))
    rows.append(Row("md5 + sha512, CPU", f"{1 / cpu_per_mb:,.0f} MB/CPU-s", "",
                    "(best an upload can do per CPU-s; cf. server CPU)"))
    hash_limit = parallel_hash_speed(min(size, 1024 * MIB))
    rows.append(Row("md5 || sha512, two threads", f"{hash_limit:,.0f} MB/s",
                    "", "(the hash limit)"))
    rows.append(Row("file copy (copyfile, page cache)", f"{copy_speed(image_file):,.0f} MB/s"))
    fsync_limit = limits.fsync_write_speed(workdir, size)
    rows.append(Row("disk write + fsync, same size", f"{fsync_limit:,.0f} MB/s"))
    bare = limits.bare_upload_speed(image_file, workdir)
    rows.append(Row("bare upload server (recv, 2 hashes, write)", f"{bare:,.0f} MB/s",
                    "", "(no HTTP, no database)"))
    upload_limit = limits.upload_limit(hash_limit, fsync_limit,
                                       limits.file_store_fsyncs(workdir))
    rows.append(Row("upload limit", f"{upload_limit.mb_per_s:,.0f} MB/s", "",
                    f"({upload_limit.source})"))
    machine = rows[:]

    server_dir = workdir / "glance"
    conf = dict(downloads.SERVER_CONF)
    if args.threads:
        conf["DEFAULT"] = {"threads": args.threads}
    server = GlanceServer(server_dir, conf, workers=args.workers,
                          database_url=args.database_url)
    say(f"starting glance-api (workers={args.workers}) in {server_dir}")
    server.start()
    assert server.process is not None
    sampler = RssSampler(server.process.pid)
    sampler.start()
    try:
        api = Api("127.0.0.1", server.port)
        results: list[Row] = []
        cpu = CpuMeter(server.process.pid)

        if args.downloads_only:
            return download_sweep(args, api, server, workdir)
        image_id = api.create_image("bench-upload")
        say("upload, Content-Length")
        cpu.start()
        seconds = upload_sendfile(api, image_id, image_file)
        upload_cpu = cpu.spent(size / MB, "MB")
        stored = api.json("GET", f"/v2/images/{image_id}")
        if (stored["status"], stored["size"], stored["checksum"]) != (
                "active", size, expected_md5.hexdigest()):
            raise RuntimeError(f"uploaded image is wrong: {stored}")
        results.append(Row("upload, Content-Length", f"{size / MB / seconds:,.0f} MB/s",
                           of_limit(size / MB / seconds, upload_limit.mb_per_s, bare),
                           upload_cpu))

        for label, chunk_size in (("64 KiB chunks, glanceclient's", GLANCECLIENT_CHUNK),
                                  ("1 MiB chunks", MIB)):
            chunked_id = api.create_image("bench-upload-chunked")
            say(f"upload, chunked, {label}")
            cpu.start()
            seconds = upload_chunked(api, chunked_id, image_file, chunk_size)
            results.append(Row(f"upload, chunked, {label}", f"{size / MB / seconds:,.0f} MB/s",
                               of_limit(size / MB / seconds, upload_limit.mb_per_s, bare),
                               cpu.spent(size / MB, "MB")))
            api.call("DELETE", f"/v2/images/{chunked_id}")
        client_id = api.create_image("bench-upload-glanceclient")
        say("upload, python-glanceclient")
        cpu.start()
        seconds = upload_glanceclient(api, client_id, image_file)
        results.append(Row("upload, python-glanceclient (chunked)",
                           f"{size / MB / seconds:,.0f} MB/s",
                           of_limit(size / MB / seconds, upload_limit.mb_per_s, bare),
                           cpu.spent(size / MB, "MB")))
        api.call("DELETE", f"/v2/images/{client_id}")
        if args.uploads_only:
            return results + [Row("", "")] + [Row("machine: " + r.metric, r.value, r.target,
                                                  r.cpu) for r in rows]

        say("download x3")
        cpu.start()
        best = min(download(api, image_id, size) for _ in range(3))
        results.append(Row("download (best of 3)", f"{size / MB / best:,.0f} MB/s",
                           ">= 2,000 MB/s", cpu.spent(3 * size / MB, "MB")))
        results += download_sweep(args, api, server, workdir)

        say(f"{args.creates} metadata-only creates")
        cpu.start()
        elapsed = timed(lambda: [api.create_image(f"bench-create-{i:04d}")
                                 for i in range(args.creates)])
        results.append(Row(f"creates ({args.creates}, sequential)",
                           f"{args.creates / elapsed:,.0f} /s", ">= 150 /s",
                           cpu.spent(args.creates, "creates")))

        existing = 1 + args.creates  # bench-upload is still there
        say(f"filling the database to {args.list_images} images")
        for i in range(max(0, args.list_images - existing)):
            api.create_image(f"bench-list-{i:04d}")
        count = 0
        path: str | None = "/v2/images?limit=1000"
        while path:
            page = api.json("GET", path)
            count += len(page["images"])
            path = page.get("next")
        say(f"{args.list_requests} x GET /v2/images?limit=100 over {count} images")
        cpu.start()
        latencies = list_latencies(api, "/v2/images?limit=100", args.list_requests)
        list_cpu = cpu_seconds(server.process.pid) - cpu.mark
        results.append(Row(f"list limit=100 ({count} images), median",
                           f"{statistics.median(latencies) * 1000:.1f} ms", "< 10 ms",
                           f"{list_cpu:.1f} s ({list_cpu / len(latencies) * 1000:.1f} ms/list)"))
        results.append(Row("list limit=100, p95",
                           f"{percentile(latencies, 0.95) * 1000:.1f} ms"))

        results += list_scaling(api, server.database_url, args.list_scale_requests)

        processes = process_tree(server.process.pid)
        per_process = [status_kib(pid, "VmHWM") / 1024 for pid in processes]
        results.append(Row(f"peak RSS, {len(processes)} server processes (sampled sum)",
                           f"{sampler.peak_kib / 1024:,.0f} MiB"))
        results.append(Row("peak RSS per process (VmHWM)",
                           ", ".join(f"{mib:,.0f}" for mib in per_process) + " MiB"))
        for index, pid in enumerate(processes):  # the master first, then its workers
            rss, pss, uss = memory_mib(pid)
            results.append(Row(f"{f'worker {index}' if index else 'master'} after the run: "
                               "RSS / PSS / USS", f"{rss:,.1f} / {pss:,.1f} / {uss:,.1f} MiB",
                               "RSS <= 64 MiB" if index else ""))
    finally:
        sampler.stop()
        server.stop()
    return results + [Row("", "")] + [Row("machine: " + r.metric, r.value, r.target, r.cpu)
                                       for r in machine]


def download_sweep(args: argparse.Namespace, api: Api, server: GlanceServer, workdir: Path
                   ) -> list[Row]:
    source = workdir / "sweep.raw"
    write_image_file(source, args.sweep_size_mib * MIB)
    assert server.process is not None
    figures = downloads.sweep(api, server.images_dir, source,
                              lambda image_id, path: upload_sendfile(api, image_id, path),
                              CpuMeter(server.process.pid), repeats=args.sweep_repeats,
                              say=say)
    source.unlink()
    return [Row(*f) for f in figures]


LIST_SCALES = (1_000, 10_000, 100_000)


def list_scaling(api: Api, database_url: str, requests: int) -> list[Row]:
    """Median list latencies at each of ``LIST_SCALES`` images: they should not grow."""
    rows = []
    for scale in LIST_SCALES:
        count = fill_images(database_url, scale)
        marker = api.json("GET", "/v2/images?limit=1&sort=name:asc")["images"][0]["id"]
        say(f"{requests} x 2 lists over {count} images")
        plain = list_latencies(api, "/v2/images?limit=100", requests)
        sorted_ = list_latencies(api, f"/v2/images?limit=100&sort=name:asc&marker={marker}",
                                 requests)
        rows.append(Row(f"list limit=100 at {count:,} images, median / p95",
                        f"{statistics.median(plain) * 1000:.1f} / "
                        f"{percentile(plain, 0.95) * 1000:.1f} ms", "flat"))
        rows.append(Row(f"  sort=name:asc after a marker at {count:,}",
                        f"{statistics.median(sorted_) * 1000:.1f} / "
                        f"{percentile(sorted_, 0.95) * 1000:.1f} ms", "flat"))
    return rows


def of_limit(value: float, limit: float, bare: float | None = None) -> str:
    """The figure as a fraction of its limit measured in the same run (target: 80%).

    ``bare``: what a bare server reached on this machine, shown as a second fraction.
    """
    of_bare = f", {value / bare:.0%} of bare" if bare else ""
    return f"{value / limit:.0%} of limit (>= 80%){of_bare}"


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def print_table(rows: list[Row], header: str) -> None:
    width = max(len(r.metric) for r in rows)
    value_width = max(len(r.value) for r in rows)
    target_width = max(len("target"), *(len(r.target) for r in rows))
    print(header)
    print(f"{'metric'.ljust(width)}  {'value'.rjust(value_width)}  "
          f"{'target'.ljust(target_width)}  server CPU")
    print(f"{'-' * width}  {'-' * value_width}  {'-' * target_width}  ----------")
    for row in rows:
        if not row.metric:
            print()
            continue
        print(f"{row.metric.ljust(width)}  {row.value.rjust(value_width)}  "
              f"{row.target.ljust(target_width)}  {row.cpu}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="image size (1024)")
    parser.add_argument("--database-url", help="database for glance_svc (default: SQLite)")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8),
                        help="glance-api workers (default: CPUs, at most 8, as glance_svc)")
    parser.add_argument("--threads", type=int, help="threads per worker (service default)")
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--list-images", type=int, default=1000)
    parser.add_argument("--list-requests", type=int, default=1000)
    parser.add_argument("--list-scale-requests", type=int, default=200,
                        help="requests per list at each of 1k/10k/100k images (200)")
    parser.add_argument("--tmpdir", help="where to put the temporary data (default: $TMPDIR)")
    parser.add_argument("--uploads-only", action="store_true",
                        help="stop after the upload rows (when profiling the upload path)")
    parser.add_argument("--sweep-size-mib", type=int, default=256,
                        help="size of each image of the download sweep (256)")
    parser.add_argument("--sweep-repeats", type=int, default=3,
                        help="measurements of each sweep point, medians compared (3)")
    parser.add_argument("--downloads-only", action="store_true",
                        help="skip uploads, creates and lists: only the download sweep")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (for logs)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="glance-bench-", dir=args.tmpdir))
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    try:
        rows = run(args, workdir)
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    header = (
        f"glance_svc bench: {args.size_mib} MiB image, workers={args.workers}, "
        f"threads={args.threads or 'default'}, "
        f"DB={'SQLite' if not args.database_url else args.database_url.split(':')[0]}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after, {time.monotonic() - started:.0f} s; MB = 10^6 bytes"
    )
    print_table(rows, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
