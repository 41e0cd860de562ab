"""Run Tempest's image API tests against glance_svc with a real Keystone (scripts/tempest).

Two configurations, each a fresh deployment of two glance-api processes on one database
and one set of stores (two API nodes, as Tempest's distributed-import and cache tests
expect; the second is registered in the catalog as ``image_remote``, Tempest's
``[image] alternate_image_endpoint``):

- ``single-store``: the single ``file`` + ``http`` store, format enforcement on;
- ``multi-store``: two file stores and an http store with weights,
  ``show_multiple_locations``, the cache and glance-download; format mismatches are
  tolerated there, so that Tempest's list-filter tests (which upload random bytes) run.

The glance-api.conf of each is written here, over the test fixture's minimal one, rather
than rendered from templates/: the role's templates need Ansible's variables and paths of
a deployed host, and what the stage checks is the API, not the rendering (which
tests/templates checks).

Tempest itself runs from its own virtualenv (its pins differ from ours); this module runs
in glance_svc's venv, which it needs to start glance-api and Keystone through the test
fixtures. Usage: ``python -m tests.tempest.run TEMPEST_VENV WORKDIR [CONFIG ...]``.
Prints Tempest's own summary per configuration; exits 1 if any test failed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import re
import shutil
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.fixtures.keystone import ADMIN_PASSWORD, KeystoneServer
from tests.fixtures.service import GlanceServer, run_manage

HERE = Path(__file__).resolve().parent
TEST_REGEX = r"^tempest\.api\.image"
CONCURRENCY = "2"
# Tempest's summary block, from its "Totals" banner to "Sum of execute time ...".
SUMMARY = re.compile(r"^={3,}\nTotals\n={3,}\n.*?(?=^Sum of execute time|\Z)", re.M | re.S)
# "{1} tempest.api...test_x [0.9s] ... FAILED", also "setUpClass (tempest...Class) ...".
FAILED_TEST = re.compile(r"^\{\d+\} (.+?) (?:\[[\d.]+s\] )?\.\.\. FAILED$", re.M)


# Let web-download and locations reach the runner's HTTP server on loopback, and Tempest's
# location tests their own data server on a random localhost port: a test deployment's
# filter, never a production one.
LOOPBACK_FILTERING: dict[str, dict[str, Any]] = {
    "import_filtering_opts": {"allowed_hosts": ["127.0.0.1", "localhost"],
                              "allowed_ports": []},
}


def _file_store(path: Path) -> dict[str, Any]:
    return {"filesystem_store_datadir": str(path)}


def single_store(shared: Path) -> dict[str, dict[str, Any]]:
    """glance-api.conf of the single-store configuration (both nodes)."""
    return {
        "DEFAULT": {
            "enabled_import_methods": ["glance-direct", "web-download", "copy-image"],
        },
        "glance_store": {"stores": ["file", "http"], "default_store": "file",
                         **_file_store(shared / "images")},
        "image_format": {"require_image_format_match": True},
        **LOOPBACK_FILTERING,
    }


def multi_store(shared: Path) -> dict[str, dict[str, Any]]:
    """glance-api.conf of the multi-store configuration (both nodes)."""
    return {
        "DEFAULT": {
            "enabled_backends": {"file1": "file", "file2": "file", "web": "http"},
            "show_multiple_locations": True,
            "enabled_import_methods": ["glance-direct", "web-download", "copy-image",
                                       "glance-download"],
            "image_cache_dir": str(shared / "cache"),
        },
        "glance_store": {"default_backend": "file1"},
        "file1": {**_file_store(shared / "file1"), "weight": 100,
                  "store_description": "the fast file store"},
        "file2": {**_file_store(shared / "file2"), "weight": 50,
                  "store_description": "the slow file store"},
        "web": {"weight": 10, "store_description": "images on the web"},
        # Tempest's ListUserImagesTest uploads random bytes under every disk format; it
        # runs only where a mismatch is tolerated, so this configuration tolerates it.
        "image_format": {"require_image_format_match": False},
        **LOOPBACK_FILTERING,
    }


CONFIGS: dict[str, tuple[Callable[[Path], dict[str, dict[str, Any]]], str]] = {
    "single-store": (single_store, "keystone"),
    "multi-store": (multi_store, "keystone+cachemanagement"),
}


# ------------------------------------------------------------------------ test data


def write_test_images(directory: Path) -> None:
    """The two files Tempest's http_image / http_qcow2_image point at.

    ``cirros.qcow2`` is a real (empty, 1 MiB virtual) qcow2, so web-download passes
    format enforcement; ``cirros.tar.gz`` only has to be bytes to hash.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cirros.tar.gz").write_bytes(bytes(range(256)) * 64)
    qcow2 = directory / "cirros.qcow2"
    if not qcow2.exists():
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(qcow2), "1M"],
                       check=True)


@contextlib.contextmanager
def http_server(directory: Path) -> Iterator[int]:
    """Serve ``directory`` on 127.0.0.1 (a free port, yielded) from a thread."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Tempest's output is the stage's output; the access log would drown it."""


# ------------------------------------------------------------------------ deployment


@contextlib.contextmanager
def deployment(name: str, workdir: Path, keystone: KeystoneServer
               ) -> Iterator[tuple[GlanceServer, GlanceServer]]:
    """Two glance-api nodes of configuration ``name``, registered in Keystone's catalog."""
    build, flavor = CONFIGS[name]
    shared = workdir / "shared"
    shared.mkdir(parents=True)
    database_url = f"sqlite:///{shared / 'glance.sqlite'}"
    nodes = []
    with contextlib.ExitStack() as stack:
        for node in ("node-a", "node-b"):
            server = GlanceServer(
                workdir / node, build(shared), paste_flavor=flavor,
                database_url=database_url, sync_db=not nodes, data_api="sql",
            )
            server.conf["keystone_authtoken"] = keystone.authtoken_options()
            if "image_cache_dir" in server.conf["DEFAULT"]:
                # Each node has its own cache, as each API host has its own disk; only
                # the records of who caches what are shared (the database).
                server.conf["DEFAULT"]["image_cache_dir"] = str(workdir / node / "cache")
            # Each node names itself, so the other can proxy staged imports to it.
            server.conf["DEFAULT"]["worker_self_reference_url"] = server.url
            stack.enter_context(server)
            if not nodes:  # the catalog, once, as the bundle loads it on its first API host
                loaded = run_manage(server.conf_path, "db", "load_metadefs")
                if loaded.returncode != 0:
                    raise RuntimeError(f"glance-manage db load_metadefs failed:\n"
                                       f"{loaded.stdout}{loaded.stderr}")
            nodes.append(server)
        keystone.register_image_endpoint(nodes[0].url)
        keystone.register_image_endpoint(nodes[1].url, service_type="image_remote")
        yield nodes[0], nodes[1]


def write_tempest_conf(path: Path, name: str, values: dict[str, str]) -> None:
    """tempest-common.conf with ``values`` filled in, then the configuration's fragment."""
    common = string.Template((HERE / "tempest-common.conf").read_text()).substitute(values)
    path.write_text(common + "\n" + (HERE / f"{name}.conf").read_text())


def run_tempest(tempest_venv: Path, workdir: Path, conf: Path) -> tuple[int, str]:
    """``tempest run`` over the image tests; its output is logged, the log returned."""
    log = workdir / "tempest-run.log"
    argv = [str(tempest_venv / "bin" / "tempest"), "run", "--config-file", str(conf),
            "--regex", TEST_REGEX, "--concurrency", CONCURRENCY]
    with log.open("w") as out:
        # Run in the work dir: `tempest run` writes its .stestr.conf and results there.
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                check=False)
    return result.returncode, log.read_text(errors="replace")


def report(name: str, returncode: int, output: str, log: Path, seconds: float) -> None:
    """Tempest's own summary block and its failed tests, under the configuration's name."""
    print(f"== tempest {name}: {seconds:.0f} s, exit {returncode}, full output in {log}")
    for test in FAILED_TEST.findall(output):
        print(f"FAILED {test}")
    summary = SUMMARY.search(output)
    print(summary.group(0).rstrip() if summary else output[-3000:], flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tempest_venv", type=lambda arg: Path(arg).resolve())
    parser.add_argument("workdir", type=Path)
    parser.add_argument("configs", nargs="*", metavar="CONFIG",
                        help=f"any of {', '.join(CONFIGS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration {', '.join(sorted(unknown))}")
    workdir: Path = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    write_test_images(workdir / "http")
    failed = []
    with http_server(workdir / "http") as http_port, \
            KeystoneServer(workdir / "keystone") as keystone:
        for name in args.configs or list(CONFIGS):
            started = time.monotonic()
            config_dir = workdir / name
            with deployment(name, config_dir, keystone):
                conf = config_dir / "tempest.conf"
                write_tempest_conf(conf, name, {
                    "workdir": str(config_dir),
                    "admin_password": ADMIN_PASSWORD,
                    "auth_url": keystone.auth_url,
                    "http_base": f"http://127.0.0.1:{http_port}",
                })
                returncode, output = run_tempest(args.tempest_venv, config_dir, conf)
            report(name, returncode, output, config_dir / "tempest-run.log",
                   time.monotonic() - started)
            if returncode != 0:
                failed.append(name)
    if failed:
        print(f"tempest: failures in {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
