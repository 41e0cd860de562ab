"""The machine's limits for an upload, measured beside the upload rows of bench/run.py.

An upload of a Content-Length or chunked body into the file store has to receive the
bytes, hash them with md5 and the multihash (sha512) and write them. Its ceilings:

* md5 and sha512 hashed on two threads (``run.parallel_hash_speed``): the hash limit;
* a disk write of the same size followed by ``fsync``: what the disk takes when the data
  must be on it before the upload answers. It bounds an upload only if the file store
  syncs its files, which ``file_store_fsyncs`` finds out by running the store's own
  writer, not by trusting a comment;
* a bare upload server (``--bare-upload-server``): one process that receives the body
  over loopback with ``recv_into``, hashes it on two threads and writes it, with no HTTP
  parsing, no WSGI and no database. With only a few cores the hashes, the socket copy,
  the page-cache copy and the client share them, so this, not the hash limit alone, is
  what the service can reach on such a machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

from bench.units import MB, MIB

BLOCK = MIB


def fsync_write_speed(directory: Path, size: int) -> float:
    """MB/s of writing ``size`` bytes to a new file in ``directory`` and fsyncing it."""
    block = memoryview(os.urandom(BLOCK))
    fd, name = tempfile.mkstemp(prefix="fsync-", dir=directory)
    try:
        started = time.perf_counter()
        written = 0
        while written < size:
            written += os.write(fd, block[:size - written])
        os.fsync(fd)
        seconds = time.perf_counter() - started
    finally:
        os.close(fd)
        os.unlink(name)
    return size / MB / seconds


def file_store_fsyncs(directory: Path) -> bool:
    """Whether ``filestore.write_file`` (the file store's writer) syncs what it writes."""
    from glance_svc.store import filestore

    syncs: list[str] = []
    path = str(directory / "fsync-probe")
    with mock.patch.object(os, "fsync", side_effect=lambda fd: syncs.append("fsync")), \
            mock.patch.object(os, "fdatasync", side_effect=lambda fd: syncs.append("fdatasync")):
        filestore.write_file(path, io.BytesIO(b"probe"))
    os.unlink(path)
    return bool(syncs)


@dataclasses.dataclass(frozen=True)
class UploadLimit:
    """The ceiling an upload's MB/s is compared with, and why it is that one."""

    mb_per_s: float
    source: str


def upload_limit(hash_limit: float, fsync_limit: float, fsyncs: bool) -> UploadLimit:
    """The hash limit; the slower of it and the fsync write if the store syncs."""
    if fsyncs and fsync_limit < hash_limit:
        return UploadLimit(fsync_limit, "fsync write; the file store syncs")
    if fsyncs:
        return UploadLimit(hash_limit, "md5 || sha512; the file store syncs, faster")
    return UploadLimit(hash_limit, "md5 || sha512; the file store does not fsync")


# -- the bare upload server ------------------------------------------------------------------


def _hash_on_thread(name: str, chunks: queue.Queue[memoryview | None]) -> None:
    digest = hashlib.new(name)
    while (chunk := chunks.get()) is not None:
        digest.update(chunk)


def _serve_one_upload(directory: Path) -> None:
    """Accept one connection: an 8-byte length, then that many bytes; answer b"ok".

    Each block is received into its own buffer, handed to an md5 and a sha512 thread
    (bounded queues, as the service does) and written to a new file in ``directory``.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    conn, _ = listener.accept()
    queues = [queue.Queue[memoryview | None](4) for _ in range(2)]
    threads = [threading.Thread(target=_hash_on_thread, args=(name, q))
               for name, q in zip(("md5", "sha512"), queues, strict=True)]
    for thread in threads:
        thread.start()
    size = int.from_bytes(conn.recv(8, socket.MSG_WAITALL), "big")
    fd = os.open(directory / "bare-upload", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    received = 0
    while received < size:
        buffer = bytearray(min(BLOCK, size - received))
        got = conn.recv_into(buffer, len(buffer), socket.MSG_WAITALL)
        if not got:
            break
        view = memoryview(buffer)[:got]
        for q in queues:
            q.put(view)
        while view:
            view = view[os.write(fd, view):]
        received += got
    for q in queues:
        q.put(None)
    for thread in threads:
        thread.join()
    os.close(fd)
    os.unlink(directory / "bare-upload")
    conn.sendall(b"ok")
    conn.close()


def bare_upload_speed(path: Path, directory: Path) -> float:
    """MB/s of sending ``path`` with sendfile to the bare upload server, until its b"ok"."""
    size = path.stat().st_size
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.limits", "--bare-upload-server", str(directory)],
        cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        with socket.create_connection(("127.0.0.1", port)) as sock, path.open("rb") as data:
            started = time.perf_counter()
            sock.sendall(size.to_bytes(8, "big"))
            sock.sendfile(data)
            if sock.recv(2, socket.MSG_WAITALL) != b"ok":
                raise RuntimeError("the bare upload server failed")
            seconds = time.perf_counter() - started
    finally:
        server.wait(timeout=60)
    return size / MB / seconds


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bare-upload-server"]:
        _serve_one_upload(Path(sys.argv[2]))
