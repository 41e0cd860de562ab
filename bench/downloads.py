"""Parallel downloads beside a bare sendfile server: the download sweep of bench/run.py.

For 1, 2, 4, 8 and 16 clients reading at once it measures the aggregate MB/s of

* glance-api sending one image to all of them (file store, sendfile),
* glance-api sending each client an image of its own (file store, distinct files),
* glance-api sending one image whose data is in the http store (the worker reads it from
  an HTTP server and streams it on: the path of every store other than file),

each beside the ceiling for the same bytes: a bare server that does nothing but
``sendfile`` the same files (glance's own store files), read by the same client code at
the same concurrency. The two are measured in turn, ``repeats`` times, and the medians
compared, so a neighbour's burst on a shared machine hits both. The http store reads its
data from that bare server too. Streaming through a process moves every byte over the
loopback twice and through user space, which sendfile does not, so the http-store rows
also show a second ceiling: a bare relay that only ``recv_into``s a reused buffer from
the bare server and ``sendall``s it on (the least any streaming server can do).

The images are ``size`` bytes each (one per client for the distinct sweep); the caller
creates them through the API with the ``upload`` it passes in.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from bench.units import MB, MIB
from glance_svc.store.bodies import STREAM_CHUNK
from tests.fixtures.origin import ORIGIN_ALLOWED

CLIENTS = (1, 2, 4, 8, 16)
# glance-api options the sweep needs: its http store may read from 127.0.0.1.
SERVER_CONF = ORIGIN_ALLOWED
Figure = tuple[str, str, str, str]  # metric, value, target, server CPU (run.py's Row)


class ImageApi(Protocol):
    """What the sweep needs of bench/run.py's ``Api``."""

    host: str
    port: int

    def create_image(self, name: str) -> str: ...

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any: ...


class Meter(Protocol):
    """bench/run.py's ``CpuMeter``: glance-api's CPU seconds since ``start``."""

    def start(self) -> None: ...

    def spent(self, amount: float = 0.0, unit: str = "") -> str: ...


# -- the ceiling: a server that only calls sendfile -----------------------------------------


def _serve_forever(listener: socket.socket, files: Sequence[Path]) -> None:
    """Answer ``GET /<n>`` (and HEAD) with file ``n`` by sendfile, one thread a connection."""
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_serve_connection, args=(conn, files), daemon=True).start()


def _serve_connection(conn: socket.socket, files: Sequence[Path]) -> None:
    with conn:
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending.split(b"\r\n\r\n", 1)
            method, target = head.split(b" ", 2)[:2]
            index = target.lstrip(b"/")
            if not index.isdigit() or int(index) >= len(files):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            with open(files[int(index)], "rb") as data_file:
                size = os.fstat(data_file.fileno()).st_size
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\n\r\n" % size)
                if method == b"GET":
                    offset = 0
                    while offset < size:
                        offset += os.sendfile(conn.fileno(), data_file.fileno(), offset,
                                              size - offset)


def _relay_forever(listener: socket.socket, upstream: int) -> None:
    """Answer ``GET /<n>`` with the upstream's ``/<n>``, through a reused buffer."""
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_relay_connection, args=(conn, upstream), daemon=True).start()


def _relay_connection(conn: socket.socket, upstream: int) -> None:
    buffer = bytearray(STREAM_CHUNK)
    view = memoryview(buffer)
    with conn, socket.create_connection(("127.0.0.1", upstream)) as source:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        source.sendall(head)
        # The upstream's answer goes on unchanged, up to the length it announced.
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += source.recv(65536)
        head, body = answer.split(b"\r\n\r\n", 1)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        conn.sendall(head + b"\r\n\r\n" + body)
        remaining = length - len(body)
        while remaining > 0:
            count = source.recv_into(view[:min(remaining, len(view))])
            if not count:
                return
            conn.sendall(view[:count])
            remaining -= count


@contextlib.contextmanager
def _serving(target: Callable[..., None], argument: object) -> Iterator[int]:
    """``target(listener, argument)`` in a process of its own; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    server = multiprocessing.get_context("fork").Process(
        target=target, args=(listener, argument), daemon=True)
    server.start()
    try:
        yield listener.getsockname()[1]
    finally:
        server.terminate()
        server.join()
        listener.close()


def bare_sendfile_server(files: Sequence[Path]) -> contextlib.AbstractContextManager[int]:
    """A bare sendfile server for ``files`` (GET /<index>); its port."""
    return _serving(_serve_forever, list(files))


def bare_relay(upstream: int) -> contextlib.AbstractContextManager[int]:
    """A bare relay of the server on port ``upstream``; its port."""
    return _serving(_relay_forever, upstream)


# -- the client, the same for glance-api and the bare server --------------------------------


def fetch(port: int, path: str, expected: int) -> None:
    """GET ``path`` into a reused buffer (nothing kept, nothing hashed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    buffer = memoryview(bytearray(4 * MIB))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {response.read()[:300]!r}")
        received = 0
        while count := response.readinto(buffer):
            received += count
    finally:
        conn.close()
    if received != expected:
        raise RuntimeError(f"GET {path} returned {received} bytes, expected {expected}")


def aggregate_mbps(port: int, paths: Sequence[str], size: int) -> float:
    """MB/s of all ``paths`` fetched at once, one thread each, until the last is done."""
    start = threading.Barrier(len(paths) + 1)
    errors: list[BaseException] = []

    def client(path: str) -> None:
        start.wait()
        try:
            fetch(port, path, size)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return len(paths) * size / MB / elapsed


# -- the sweep --------------------------------------------------------------------------------


def compared(*measures: Callable[[], float], repeats: int) -> list[float]:
    """Median MB/s of each of ``measures``, measured in turn ``repeats`` times."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(repeats):
        for measure, values in zip(measures, samples, strict=True):
            values.append(measure())
    return [statistics.median(values) for values in samples]


def figure(metric: str, value: float, limit: float, cpu: str, relay: float | None = None
           ) -> Figure:
    target = f"{value / limit:.0%} of bare sendfile {limit:,.0f} MB/s (>= 80%)"
    if relay is not None:
        target += f", {value / relay:.0%} of a bare relay {relay:,.0f} MB/s"
    return (metric, f"{value:,.0f} MB/s", target, cpu)


def http_store_image(api: ImageApi, url: str, timeout: float = 600) -> str:
    """An image whose data is ``url`` (http store), once its hashes are computed."""
    image_id = api.create_image("bench-download-http-store")
    api.json("POST", f"/v2/images/{image_id}/locations", {"url": url}, expect=202)
    deadline = time.monotonic() + timeout
    while api.json("GET", f"/v2/images/{image_id}")["checksum"] is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the http-store image {image_id} was never hashed")
        time.sleep(0.2)
    return image_id


def sweep(api: ImageApi, images_dir: Path, source: Path,
          upload: Callable[[str, Path], object], meter: Meter, *,
          clients: Sequence[int] = CLIENTS, repeats: int = 3,
          say: Callable[[str], None] = print) -> list[Figure]:
    """The sweep's figures; ``source`` is uploaded once per client of the largest count.

    The CPU column is glance-api's over a point's ``repeats`` (the bare servers are not
    its processes): the server's cost per byte, which a busy machine blurs far less than
    it blurs MB/s.
    """
    size = source.stat().st_size
    image_ids = []
    say(f"uploading {max(clients)} images of {size // MIB} MiB for the download sweep")
    for number in range(max(clients)):
        image_ids.append(api.create_image(f"bench-download-{number:02d}"))
        upload(image_ids[-1], source)
    files = [images_dir / image_id for image_id in image_ids]
    figures: list[Figure] = []
    with bare_sendfile_server(files) as bare_port, bare_relay(bare_port) as relay_port:
        http_id = http_store_image(api, f"http://127.0.0.1:{bare_port}/0")
        for count in clients:
            say(f"download sweep, {count} client(s), x{repeats}")
            same = [f"/v2/images/{image_ids[0]}/file"] * count
            bare_same = ["/0"] * count
            distinct = [f"/v2/images/{i}/file" for i in image_ids[:count]]
            bare_distinct = [f"/{i}" for i in range(count)]
            sent = repeats * count * size / MB
            for label, paths, bare_paths in (("same image", same, bare_same),
                                             ("distinct images", distinct, bare_distinct)):
                meter.start()
                ours, limit = compared(partial(aggregate_mbps, api.port, paths, size),
                                       partial(aggregate_mbps, bare_port, bare_paths, size),
                                       repeats=repeats)
                figures.append(figure(f"download, {count:>2} clients, {label}", ours, limit,
                                      meter.spent(sent, "MB")))
            from_http = [f"/v2/images/{http_id}/file"] * count
            meter.start()
            ours, limit, relay = compared(partial(aggregate_mbps, api.port, from_http, size),
                                          partial(aggregate_mbps, bare_port, bare_same, size),
                                          partial(aggregate_mbps, relay_port, bare_same, size),
                                          repeats=repeats)
            figures.append(figure(f"download, {count:>2} clients, http store", ours, limit,
                                  meter.spent(sent, "MB"), relay))
    figures.sort(key=lambda f: ("http store" in f[0], "distinct" in f[0]))
    return figures
