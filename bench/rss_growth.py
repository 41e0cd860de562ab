#!/usr/bin/env python3
"""Does a glance-api worker grow with the number of requests it has served?

    python bench/rss_growth.py [--requests 10000] [--clients 4] [--tmpdir DIR]

Starts one glance-api worker (no-auth flavor, file store, SQLite in a temp dir), warms it
up with a few hundred requests, then sends ``--requests`` more - creates, shows, small
uploads, downloads, lists and deletes in turn, from ``--clients`` threads at once - and
prints the worker's RSS, PSS and USS (see ``bench.run.memory_mib``) after the warm-up and
at every tenth of the run. A steady figure is the target; a figure that climbs with every tenth
is a leak. A benchmark, not a test: nothing is asserted, the machine may be busy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.run import OCTET, Api, memory_mib, process_tree  # noqa: E402
from tests.fixtures.service import GlanceServer  # noqa: E402

WARM_UP = 300
PAYLOAD = os.urandom(256 * 1024)


def one_round(api: Api, name: str) -> int:
    """Six requests: create, upload, show, download, list, delete."""
    image_id = api.create_image(name)
    expect(api.call("PUT", f"/v2/images/{image_id}/file", PAYLOAD, OCTET), 204)
    api.json("GET", f"/v2/images/{image_id}")
    expect(api.call("GET", f"/v2/images/{image_id}/file"), 200)
    api.json("GET", "/v2/images?limit=20")
    expect(api.call("DELETE", f"/v2/images/{image_id}"), 204)
    return 6


def expect(answer: tuple[int, bytes], status: int) -> None:
    if answer[0] != status:
        raise RuntimeError(f"got {answer[0]}, expected {status}: {answer[1][:300]!r}")


def drive(api: Api, requests: int, clients: int) -> None:
    """About ``requests`` requests from ``clients`` threads."""
    rounds = max(1, requests // 6 // clients)

    def client(index: int) -> None:
        for n in range(rounds):  # Api keeps one connection per thread
            one_round(api, f"rss-{index}-{n}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def worker_figures(master: int) -> str:
    rss, pss, uss = memory_mib(process_tree(master)[-1])
    return f"worker RSS {rss:6.1f} MiB, PSS {pss:6.1f} MiB, USS {uss:6.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--tmpdir", help="where to put the temporary data (default: $TMPDIR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="glance-rss-", dir=args.tmpdir) as workdir:
        server = GlanceServer(Path(workdir) / "glance", None, workers=1)
        server.start()
        assert server.process is not None
        try:
            api = Api("127.0.0.1", server.port)
            print(f"after start:            {worker_figures(server.process.pid)}")
            drive(api, WARM_UP, args.clients)
            print(f"after {WARM_UP:>6} warm-up: {worker_figures(server.process.pid)}")
            started = time.perf_counter()
            step = max(1, args.requests // 10)
            for done in range(step, args.requests + 1, step):
                drive(api, step, args.clients)
                print(f"after {done:>6} requests: {worker_figures(server.process.pid)}"
                      f"  ({time.perf_counter() - started:.0f} s)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
