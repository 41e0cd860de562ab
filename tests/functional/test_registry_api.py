"""glance-api in registry mode (data_api = glance_svc.db.registry.api), real processes.

The promise: with the registry on, glance-api holds no database connection at all; every
image record goes through glance-registry. (The rest of the API suite runs in this mode
too when GLANCE_TEST_DATA_APIS includes ``registry``.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ApiClient
from tests.fixtures.scrubber import ScrubberEnv
from tests.fixtures.service import GlanceServer

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    """Shared by the module; delayed delete is on for the scrubber test, and no other test
    deletes an image."""
    with GlanceServer(tmp_path_factory.mktemp("api"), {"DEFAULT": {"delayed_delete": True}},
                      data_api="registry") as server:
        yield server


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (gunicorn's master and its workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo.extend(int(c) for c in children.read_text().split())
    return found


def open_files(pids: list[int]) -> set[str]:
    paths = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                paths.add(os.readlink(fd))
            except OSError:
                continue
    return paths


def test_api_config_has_no_database_section(registry_server: GlanceServer) -> None:
    assert "[database]" not in registry_server.conf_path.read_text()


def test_api_without_database_serves_images(registry_server: GlanceServer) -> None:
    client = ApiClient(registry_server.url)
    image = client.create_image(name="through-the-registry")
    response = client.get(f"/v2/images/{image['id']}")
    assert (response.status_code, response.json()["name"]) == (200, "through-the-registry")


def test_api_records_reach_the_database_through_the_registry(
        registry_server: GlanceServer) -> None:
    client = ApiClient(registry_server.url)
    image = client.create_image()
    assert '"POST /rpc HTTP/1.1" 200' in registry_server.registry.log()
    assert image["id"] in [i["id"] for i in client.get("/v2/images?limit=1000").json()["images"]]


def test_api_processes_never_open_the_database_file(registry_server: GlanceServer) -> None:
    client = ApiClient(registry_server.url)
    client.create_image()
    client.get("/v2/images")
    assert registry_server.process is not None
    api_files = open_files(descendants(registry_server.process.pid))
    database = registry_server.database_url.removeprefix("sqlite:///")
    assert [f for f in api_files if f.startswith(database)] == []
    registry_files = open_files(descendants(registry_server.registry.process.pid))
    assert database in registry_files  # the check does see an open database


def test_api_answers_503_when_the_registry_is_down(tmp_path: Path) -> None:
    with GlanceServer(tmp_path / "api", data_api="registry") as server:
        client = ApiClient(server.url)
        image = client.create_image()
        server.registry.stop()
        response = client.get(f"/v2/images/{image['id']}", headers=JSON)
    assert response.status_code == 503


def test_api_errors_from_the_registry_keep_their_status(registry_server: GlanceServer
                                                        ) -> None:
    client = ApiClient(registry_server.url)
    image = client.create_image()
    response = client.post("/v2/images", json={"id": image["id"]})
    assert response.status_code == 409


def test_delayed_delete_and_scrubber_through_the_registry(
        registry_server: GlanceServer, tmp_path: Path) -> None:
    client = ApiClient(registry_server.url)
    image = client.active_image()
    assert client.delete(f"/v2/images/{image['id']}").status_code == 204
    assert image["id"] in registry_server.stored_files()
    scrubber = ScrubberEnv(tmp_path / "scrubber", registry_server.database_url, {
        **registry_server.registry.client_conf(),
        "database": {"connection": None},
        "glance_store": {"filesystem_store_datadir": str(registry_server.images_dir)},
    }, sync_db=False)
    try:
        result = scrubber.run()
        assert result.returncode == 0, result.stdout + result.stderr
        assert scrubber.image(image["id"]).status == "deleted"
    finally:
        scrubber.close()
    assert image["id"] not in registry_server.stored_files()
