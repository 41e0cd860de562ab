#!/usr/bin/env python3
"""The CPU cost of decoding a chunked upload: gunicorn's reader against ChunkedSocketBody.

    python bench/chunked_reader.py [--mib 512]

A thread sends a chunked body over a socketpair (1 KiB, 64 KiB - glanceclient's - and
1 MiB chunks); the reading thread reads it 1 MiB at a time, as UploadStream does, through
gunicorn's ``Body(ChunkedReader)`` and through ``glance_svc.api.chunked_body``. Printed:
MB decoded per CPU-second of the reading thread (what the upload path pays per byte,
hardly touched by other load on the machine) and MB/s of wall time.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gunicorn.http.body import Body, ChunkedReader  # noqa: E402
from gunicorn.http.unreader import SocketUnreader  # noqa: E402

from bench.units import MIB  # noqa: E402
from glance_svc.api.chunked_body import ChunkedSocketBody  # noqa: E402


class _Request:
    """The two limits ChunkedReader reads from its request."""

    limit_request_field_size = 8190
    max_buffer_headers = 0


def send_chunked(sock: socket.socket, total: int, chunk: int) -> None:
    piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
    per_send = max(1, MIB // len(piece))
    count = total // chunk
    while count:
        now = min(per_send, count)
        sock.sendall(piece * now)
        count -= now
    sock.sendall(b"0\r\n\r\n")


def measure(kind: str, total: int, chunk: int) -> tuple[float, float]:
    """(MB per reader CPU-second, MB/s wall) of reading the whole body."""
    reader_sock, sender_sock = socket.socketpair()
    with reader_sock, sender_sock:
        threading.Thread(target=send_chunked, args=(sender_sock, total, chunk),
                         daemon=True).start()
        body: Any = (Body(ChunkedReader(_Request(), SocketUnreader(reader_sock)))
                     if kind == "gunicorn" else ChunkedSocketBody(reader_sock, b""))
        cpu, wall = time.thread_time(), time.perf_counter()
        got = 0
        while data := body.read(MIB):
            got += len(data)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    if got != total:
        raise RuntimeError(f"{kind}: decoded {got} of {total} bytes")
    return total / 1e6 / max(cpu, 1e-9), total / 1e6 / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=512, help="body size (512)")
    total = parser.parse_args().mib * MIB
    print(f"{'reader':<10} {'chunks':>9} {'MB/CPU-s':>10} {'MB/s wall':>10}")
    for chunk in (1024, 64 * 1024, MIB):
        for kind in ("gunicorn", "direct"):
            per_cpu, per_wall = measure(kind, total, chunk)
            print(f"{kind:<10} {chunk // 1024:>5} KiB {per_cpu:>10,.0f} {per_wall:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
