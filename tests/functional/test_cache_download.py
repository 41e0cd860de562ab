"""Downloads through the cache filter (spec part 2, §3.4, §3.5): the first whole-image
download fills this node's cache, verified by md5; later ones are read from the cache
after the same visibility, deactivation and policy checks; Range reads never touch it."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import PROJECT_A, PROJECT_B, ApiClient
from tests.fixtures import cache as cache_fixtures
from tests.fixtures.cache import cache_node, cached, wait_cached
from tests.fixtures.service import GlanceServer

DATA = bytes(range(256)) * 8


@pytest.fixture(scope="module")
def cache_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[GlanceServer]:
    with cache_node(tmp_path_factory.mktemp("glance-cache-download"), database_url,
                    "http://node-a.example:9292") as srv:
        yield srv


# The shared fixtures over this module's cache_server.
admin = cache_fixtures.admin
cache_dir = cache_fixtures.cache_dir


@pytest.fixture
def owner(cache_server: GlanceServer) -> ApiClient:
    return ApiClient(cache_server.url).as_user(PROJECT_A)


@pytest.fixture
def image(owner: ApiClient) -> dict[str, Any]:
    return owner.active_image(DATA)


def entry(admin: ApiClient, image_id: str) -> dict[str, Any] | None:
    return cached(admin).get(image_id)


def download(client: ApiClient, image_id: str, **headers: str) -> requests.Response:
    return client.get(f"/v2/images/{image_id}/file", headers=headers)


def test_the_first_download_fills_the_cache(owner: ApiClient, admin: ApiClient,
                                            image: dict[str, Any], cache_dir: Path) -> None:
    assert entry(admin, image["id"]) is None
    response = download(owner, image["id"])
    assert (response.status_code, response.content) == (200, DATA)
    assert wait_cached(admin, image["id"])["hits"] == 0
    assert (cache_dir / image["id"]).read_bytes() == DATA


def test_a_cached_image_is_served_from_the_cache(
        owner: ApiClient, admin: ApiClient, image: dict[str, Any],
        cache_server: GlanceServer) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    (cache_server.images_dir / image["id"]).unlink()  # only the cache has it now
    response = download(owner, image["id"])
    assert (response.status_code, response.content) == (200, DATA)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-MD5"] == hashlib.md5(DATA).hexdigest()
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["x-openstack-request-id"].startswith("req-")
    assert entry(admin, image["id"])["hits"] == 1  # type: ignore[index]


def test_a_range_read_is_not_cached(owner: ApiClient, admin: ApiClient,
                                    image: dict[str, Any]) -> None:
    response = download(owner, image["id"], Range=f"bytes=0-{len(DATA) - 1}")
    assert response.status_code == 206
    assert entry(admin, image["id"]) is None


def test_a_range_read_of_a_cached_image_is_honoured(owner: ApiClient, admin: ApiClient,
                                                    image: dict[str, Any]) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    response = download(owner, image["id"], Range="bytes=10-19")
    assert (response.status_code, response.content) == (206, DATA[10:20])
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(DATA)}"
    assert entry(admin, image["id"])["hits"] == 0  # type: ignore[index]


def test_a_cached_private_image_stays_invisible_to_other_projects(
        owner: ApiClient, admin: ApiClient, image: dict[str, Any]) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    assert download(owner.as_user(PROJECT_B), image["id"]).status_code == 404


def test_a_cached_image_needs_the_download_policy(owner: ApiClient, admin: ApiClient,
                                                  image: dict[str, Any]) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    assert download(owner.as_user(PROJECT_A, roles="reader"), image["id"]).status_code == 403


def test_a_deactivated_cached_image_is_403_for_its_owner(
        owner: ApiClient, admin: ApiClient, image: dict[str, Any]) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    assert owner.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    assert download(owner, image["id"]).status_code == 403
    assert download(admin, image["id"]).content == DATA


def test_data_that_does_not_match_the_checksum_is_not_cached(
        owner: ApiClient, admin: ApiClient, image: dict[str, Any],
        cache_server: GlanceServer, cache_dir: Path) -> None:
    (cache_server.images_dir / image["id"]).write_bytes(b"\xff" * len(DATA))
    with contextlib.suppress(requests.RequestException):  # cut after the last chunk
        download(owner, image["id"])
    time.sleep(0.5)
    assert entry(admin, image["id"]) is None
    assert not (cache_dir / image["id"]).exists()
    assert (cache_dir / "invalid" / image["id"]).read_bytes() == b"\xff" * len(DATA)


def test_deleting_an_image_drops_its_cached_copy(owner: ApiClient, admin: ApiClient,
                                                 image: dict[str, Any],
                                                 cache_dir: Path) -> None:
    download(owner, image["id"])
    wait_cached(admin, image["id"])
    assert owner.delete(f"/v2/images/{image['id']}").status_code == 204
    assert entry(admin, image["id"]) is None
    assert not (cache_dir / image["id"]).exists()
