"""Distributed import (spec part 2, §4): two real glance-api workers, one database, one
image store, a staging directory each. Data staged on one worker can only be imported
or removed there, so the other worker sends such requests on to it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OCTET, ApiClient, error_text, import_settled
from tests.fixtures.service import GlanceServer, free_port, self_signed_cert
from tests.functional.test_tasks import finished_tasks

DATA = os.urandom(50_000)
GLANCE_DIRECT = {"method": {"name": "glance-direct"}}


def worker(workdir: Path, database_url: str, store: Path, self_url: str | None = None
           ) -> GlanceServer:
    """A worker on the shared database and store; ``self_url`` defaults to its own URL."""
    server = GlanceServer(workdir, {"glance_store": {"filesystem_store_datadir": str(store)}},
                          database_url=database_url)
    server.conf["DEFAULT"]["worker_self_reference_url"] = self_url or server.url
    return server


@pytest.fixture(scope="module")
def workers(database_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[GlanceServer, GlanceServer]]:
    root = tmp_path_factory.mktemp("distributed")
    with worker(root / "a", database_url, root / "store") as first, \
            worker(root / "b", database_url, root / "store") as second:
        yield first, second


@pytest.fixture
def stager(workers: tuple[GlanceServer, GlanceServer]) -> ApiClient:
    return ApiClient(workers[0].url)


@pytest.fixture
def other(workers: tuple[GlanceServer, GlanceServer]) -> ApiClient:
    return ApiClient(workers[1].url)


def staged(api: ApiClient) -> str:
    image = api.create_image(disk_format="raw", container_format="bare")
    response = api.put(f"/v2/images/{image['id']}/stage", data=DATA, headers=OCTET)
    assert response.status_code == 204, response.text
    return str(image["id"])


def test_import_sent_to_another_worker_runs_where_the_data_was_staged(workers, stager,
                                                                      other):
    image_id = staged(stager)
    assert (workers[0].staging_dir / image_id).exists()
    response = other.post(f"/v2/images/{image_id}/import", json=GLANCE_DIRECT)
    assert response.status_code == 202, response.text
    done = other.wait_for(image_id, lambda i: i["status"] == "active" and import_settled(i))
    assert (done["status"], done["size"]) == ("active", len(DATA))
    assert other.get(f"/v2/images/{image_id}/file").content == DATA
    assert not (workers[0].staging_dir / image_id).exists()


def test_forwarded_import_answers_with_the_request_id_of_the_task(stager, other):
    image_id = staged(stager)
    response = other.post(f"/v2/images/{image_id}/import", json=GLANCE_DIRECT)
    # The task record is finished just after the image settles: wait for it, as Tempest does.
    [task] = finished_tasks(other, image_id)
    assert task["request_id"] == response.headers["x-openstack-request-id"]
    assert task["status"] == "success"


def test_import_checks_run_before_anything_is_forwarded(stager, other):
    image_id = staged(stager)
    response = other.post(f"/v2/images/{image_id}/import",
                          json={"method": {"name": "web-download"}})
    assert response.status_code == 409
    assert "Image needs to be in 'queued' state to use 'web-download' method" in \
        error_text(response)


def test_delete_sent_to_another_worker_removes_the_staged_data(workers, stager, other):
    image_id = staged(stager)
    assert other.delete(f"/v2/images/{image_id}").status_code == 204
    assert stager.get(f"/v2/images/{image_id}").status_code == 404
    assert not (workers[0].staging_dir / image_id).exists()


@pytest.fixture(scope="module")
def gone_stager(database_url: str, tmp_path_factory: pytest.TempPathFactory,
                workers: tuple[GlanceServer, GlanceServer]) -> Iterator[ApiClient]:
    """A worker that records a URL nobody answers at, as a worker that has since died."""
    store = Path(workers[0].conf["glance_store"]["filesystem_store_datadir"])
    with worker(tmp_path_factory.mktemp("gone"), database_url, store,
                self_url=f"http://127.0.0.1:{free_port()}") as server:
        yield ApiClient(server.url)


def test_import_of_data_on_an_unreachable_worker_is_504(gone_stager, other):
    image_id = staged(gone_stager)
    response = other.post(f"/v2/images/{image_id}/import", json=GLANCE_DIRECT)
    assert response.status_code == 504
    assert "Stage host is unavailable" in error_text(response)
    assert other.get(f"/v2/images/{image_id}").json()["status"] == "uploading"


def test_delete_of_data_on_an_unreachable_worker_deletes_here(gone_stager, other):
    image_id = staged(gone_stager)
    assert other.delete(f"/v2/images/{image_id}").status_code == 204
    assert other.get(f"/v2/images/{image_id}").status_code == 404




@pytest.fixture(scope="module")
def tls_workers(database_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[ApiClient, ApiClient]]:
    """Two HTTPS workers with a private CA; the second trusts it for forwarded requests."""
    root = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_cert(root)
    tls = {"cert_file": str(cert), "key_file": str(key)}
    servers = [GlanceServer(root / name, {"DEFAULT": {**tls, **extra},
                                          "glance_store": {"filesystem_store_datadir":
                                                           str(root / "store")}},
                            database_url=database_url, scheme="https", ca_file=str(cert))
               for name, extra in (("a", {}), ("b", {"stage_host_ca_file": str(cert)}))]
    for server in servers:
        server.conf["DEFAULT"]["worker_self_reference_url"] = server.url
    with servers[0] as stager_server, servers[1] as other_server:
        clients = [ApiClient(s.url) for s in (stager_server, other_server)]
        for client in clients:  # the CA, not REQUESTS_CA_BUNDLE from the environment
            client.session.trust_env = False
            client.session.verify = str(cert)
        yield clients[0], clients[1]


def test_import_is_forwarded_over_https_to_a_worker_the_stage_host_ca_file_verifies(
        tls_workers):
    stager_tls, other_tls = tls_workers
    image_id = staged(stager_tls)
    response = other_tls.post(f"/v2/images/{image_id}/import", json=GLANCE_DIRECT)
    assert response.status_code == 202, response.text
    done = other_tls.wait_for(image_id, import_settled)
    assert (done["status"], done["size"]) == ("active", len(DATA))


def test_import_forwarded_to_a_worker_with_an_unknown_ca_is_504(tls_workers):
    """The first worker has no stage_host_ca_file: the second's certificate fails."""
    stager_tls, other_tls = tls_workers
    image_id = staged(other_tls)
    response = stager_tls.post(f"/v2/images/{image_id}/import", json=GLANCE_DIRECT)
    assert response.status_code == 504
    assert "Stage host is unavailable" in error_text(response)
