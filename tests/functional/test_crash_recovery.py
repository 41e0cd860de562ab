"""Kill a glance-api worker with SIGKILL mid-upload, mid-stage and mid-import: nothing is
stranded. The image becomes retryable, a retry succeeds, and no data file is left that no
image row claims. Files no image claims are swept after the grace period, fresh ones not.

The servers run two workers and a one-second ``recovery_interval``; the worker to kill is
the one holding the image's partial file open (found through ``/proc/<pid>/fd``), so the
other worker, or the one gunicorn starts in its place, does the recovery.
"""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import OCTET, ApiClient
from tests.fixtures.service import GlanceServer

# The stores write in 1 MiB pieces: the part sent before the pause must exceed one.
FIRST_PART = 2 * 1024 * 1024
BODY = os.urandom(2 * FIRST_PART)
WAIT = 30  # seconds: the bound on every wait below
HOUR = 3600


def recovery_conf(**extra: object) -> dict[str, dict[str, object]]:
    return {"DEFAULT": {"recovery_interval": 1, "orphan_data_grace_period": HOUR, **extra}}


@pytest.fixture
def crash_server(make_server: Callable[..., GlanceServer], database_url: str
                 ) -> GlanceServer:
    return make_server(recovery_conf(), database_url=database_url, workers=2)


# -- helpers -----------------------------------------------------------------------------
def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def workers_of(server: GlanceServer) -> list[int]:
    """The gunicorn workers: the children of the glance-api master."""
    assert server.process is not None
    master = server.process.pid
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2:].split()[1]) == master:
            children.append(int(entry))
    return children


def holder_of(server: GlanceServer, path: Path) -> int | None:
    """The worker that has ``path`` open, if any."""
    for pid in workers_of(server):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                    return pid
            except OSError:
                continue
    return None


def kill_holder(server: GlanceServer, path: Path) -> None:
    """SIGKILL the worker writing ``path``, once it has written something."""
    wait_until(lambda: path.exists() and path.stat().st_size > 0 and
               holder_of(server, path) is not None, f"a worker writes {path}")
    pid = holder_of(server, path)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)


def data_files(directory: Path) -> list[str]:
    """Image data files in a store or staging directory (not the recovery lock)."""
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


class SlowBody:
    """A chunked request body that sends a first part, then waits until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        yield BODY[:FIRST_PART]
        self.release.wait(WAIT)
        yield BODY[FIRST_PART:]


class Request(threading.Thread):
    """A request running in the background; its response (or error) is kept."""

    def __init__(self, call: Callable[[], requests.Response]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.response: requests.Response | None = None
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            self.response = self.call()
        except requests.RequestException as exc:
            self.error = exc


def slow_put(api: ApiClient, path: str, body: SlowBody) -> Request:
    return Request(lambda: requests.put(f"{api.base_url}{path}", data=iter(body),
                                        headers=OCTET, timeout=WAIT))


def client(server: GlanceServer) -> ApiClient:
    """An API client that opens a connection per request: a kept-alive connection may
    belong to the worker the test kills, and would be reset under the next request."""
    api = ApiClient(server.url)
    api.session.headers["Connection"] = "close"
    return api


def new_image(api: ApiClient) -> str:
    return api.create_image(disk_format="raw", container_format="bare")["id"]


def recovered(api: ApiClient, image_id: str) -> dict:
    image = api.wait_for(image_id, lambda i: i["status"] == "queued", timeout=WAIT)
    assert image["status"] == "queued", image
    return image


def kill_mid_transfer(server: GlanceServer, api: ApiClient, image_id: str, target: str
                      ) -> dict:
    """PUT a slow body to ``/file`` or ``/stage``, kill its worker; the recovered image."""
    directory = server.images_dir if target == "file" else server.staging_dir
    body = SlowBody()
    request = slow_put(api, f"/v2/images/{image_id}/{target}", body)
    kill_holder(server, directory / image_id)
    body.release.set()
    request.join(WAIT)
    return recovered(api, image_id)


# -- killed mid-upload ---------------------------------------------------------------------
def test_upload_of_a_killed_worker_returns_to_queued_with_no_data(crash_server):
    api = client(crash_server)
    image_id = new_image(api)
    image = kill_mid_transfer(crash_server, api, image_id, "file")
    assert (image["size"], image["checksum"], image["os_hash_value"]) == (None, None, None)
    wait_until(lambda: data_files(crash_server.images_dir) == [], "the partial file is gone")


def test_upload_retry_after_a_killed_worker_succeeds(crash_server):
    api = client(crash_server)
    image_id = new_image(api)
    kill_mid_transfer(crash_server, api, image_id, "file")

    assert api.upload(image_id, BODY).status_code == 204
    image = api.get(f"/v2/images/{image_id}").json()
    assert (image["status"], image["size"]) == ("active", len(BODY))
    assert data_files(crash_server.images_dir) == [image_id]


def test_live_slow_upload_is_left_alone_by_recovery(crash_server):
    api = client(crash_server)
    image_id = new_image(api)
    body = SlowBody()
    request = slow_put(api, f"/v2/images/{image_id}/file", body)
    path = crash_server.images_dir / image_id
    wait_until(lambda: path.exists() and path.stat().st_size > 0, "the upload writes")
    time.sleep(3)  # three recovery passes
    assert api.get(f"/v2/images/{image_id}").json()["status"] == "saving"
    body.release.set()
    request.join(WAIT)

    assert request.response is not None and request.response.status_code == 204
    assert api.get(f"/v2/images/{image_id}").json()["status"] == "active"
    assert path.read_bytes() == BODY


# -- killed mid-stage ----------------------------------------------------------------------
def test_stage_of_a_killed_worker_returns_to_queued_and_restaging_works(crash_server):
    api = client(crash_server)
    image_id = new_image(api)
    image = kill_mid_transfer(crash_server, api, image_id, "stage")
    assert image["size"] is None
    wait_until(lambda: data_files(crash_server.staging_dir) == [], "the staged part is gone")
    response = api.put(f"/v2/images/{image_id}/stage", data=BODY, headers=OCTET)
    assert response.status_code == 204
    assert api.get(f"/v2/images/{image_id}").json()["status"] == "uploading"


# -- killed mid-import ---------------------------------------------------------------------
class SlowSource(http.server.BaseHTTPRequestHandler):
    """Serves BODY: a first part, then the rest once ``release`` is set."""

    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        try:
            self.wfile.write(BODY[:FIRST_PART])
            self.wfile.flush()
            self.release.wait(WAIT)
            self.wfile.write(BODY[FIRST_PART:])
        except OSError:
            pass  # the importing worker was killed

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_source() -> Iterator[tuple[int, threading.Event]]:
    handler = type("Handler", (SlowSource,), {"release": threading.Event()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], handler.release
    handler.release.set()
    httpd.shutdown()


def web_download(api: ApiClient, image_id: str, port: int) -> requests.Response:
    return api.post(f"/v2/images/{image_id}/import", json={
        "method": {"name": "web-download", "uri": f"http://127.0.0.1:{port}/image.raw"}})


def test_import_of_a_killed_worker_returns_to_queued_unlocked_and_retry_works(
        make_server, database_url, slow_source):
    port, release = slow_source
    server = make_server(
        {**recovery_conf(), "import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                                      "allowed_ports": port}},
        database_url=database_url, workers=2)
    api = client(server)
    image_id = new_image(api)
    assert web_download(api, image_id, port).status_code == 202
    kill_holder(server, server.staging_dir / image_id)

    image = recovered(api, image_id)
    assert "os_glance_import_task" not in image
    assert image["size"] is None
    wait_until(lambda: data_files(server.staging_dir) == [], "the staged part is gone")
    assert data_files(server.images_dir) == []

    release.set()
    assert web_download(api, image_id, port).status_code == 202
    image = api.wait_for(image_id, lambda i: i["status"] == "active", timeout=WAIT)
    assert (image["status"], image["size"]) == ("active", len(BODY))
    assert data_files(server.images_dir) == [image_id]


# -- orphaned files ------------------------------------------------------------------------
def plant(directory: Path, age: float, name: str | None = None) -> Path:
    path = directory / (name or str(uuid.uuid4()))
    path.write_bytes(b"orphan")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def sweep_server(make_server: Callable[..., GlanceServer], database_url: str
                 ) -> GlanceServer:
    return make_server(recovery_conf(), database_url=database_url)


def test_orphaned_store_and_staging_files_older_than_the_grace_period_are_removed(
        sweep_server):
    old = [plant(sweep_server.images_dir, 2 * HOUR), plant(sweep_server.staging_dir, 2 * HOUR)]
    wait_until(lambda: not any(p.exists() for p in old), "old orphans are removed")


def test_an_import_plugins_old_scratch_file_is_removed(sweep_server):
    scratch = plant(sweep_server.staging_dir, 2 * HOUR, name=f"{uuid.uuid4()}.raw")
    wait_until(lambda: not scratch.exists(), "the scratch file is removed")


def test_orphaned_files_within_the_grace_period_are_kept(sweep_server):
    fresh = [plant(sweep_server.images_dir, 60), plant(sweep_server.staging_dir, 60)]
    marker = plant(sweep_server.images_dir, 2 * HOUR)
    wait_until(lambda: not marker.exists(), "a sweep ran")
    assert all(p.exists() for p in fresh)


def test_old_files_that_an_image_claims_are_kept(sweep_server):
    api = client(sweep_server)
    active = api.active_image(BODY)["id"]
    staged = new_image(api)
    assert api.put(f"/v2/images/{staged}/stage", data=BODY, headers=OCTET).status_code == 204
    claimed = [sweep_server.images_dir / active, sweep_server.staging_dir / staged]
    for path in claimed:
        os.utime(path, (time.time() - 2 * HOUR,) * 2)
    marker = plant(sweep_server.images_dir, 2 * HOUR)
    wait_until(lambda: not marker.exists(), "a sweep ran")
    assert [p.read_bytes() for p in claimed] == [BODY, BODY]


def test_old_store_file_of_a_queued_image_is_removed(sweep_server):
    api = client(sweep_server)
    image_id = new_image(api)
    path = plant(sweep_server.images_dir, 2 * HOUR, name=image_id)
    wait_until(lambda: not path.exists(), "the unclaimed file is removed")
    assert api.upload(image_id, BODY).status_code == 204
