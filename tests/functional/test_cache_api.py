"""The /v2/cache API (spec part 2, §3.7) and the versions it brings (§7.2), on a node
with ``image_cache_dir`` and the trusted-auth+caching flavor."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_A, ApiClient, outcome
from tests.fixtures import cache as cache_fixtures
from tests.fixtures.cache import cache_node, cache_now, cached
from tests.fixtures.service import GlanceServer

JSON = {"Accept": "application/json"}
NODE_URL = "http://node-a.example:9292"
MAX_SIZE = 3000


@pytest.fixture(scope="module")
def cache_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[GlanceServer]:
    with cache_node(tmp_path_factory.mktemp("glance-cache"), database_url, NODE_URL,
                    image_cache_max_size=MAX_SIZE) as srv:
        yield srv


# The shared fixtures over this module's cache_server.
admin = cache_fixtures.admin
cache_dir = cache_fixtures.cache_dir


@pytest.fixture
def empty_cache(admin: ApiClient) -> None:
    assert admin.delete("/v2/cache").status_code == 204


# -- listing and policy -------------------------------------------------------------------
def test_a_member_may_not_list_the_cache(admin: ApiClient) -> None:
    member = admin.as_user(PROJECT_A)
    assert outcome(member.get("/v2/cache", headers=JSON)) == (
        403, "You are not authorized to complete cache_list action.")


def test_an_empty_cache_lists_nothing(admin: ApiClient, empty_cache: None) -> None:
    response = admin.get("/v2/cache")
    assert response.status_code == 200
    assert response.json() == {"cached_images": [], "queued_images": []}


def test_a_body_on_clean_is_refused(admin: ApiClient) -> None:
    assert outcome(admin.post("/v2/cache/clean", data=b"{}", headers=JSON)) == (
        400, "A body is not expected with this request.")


# -- queueing -----------------------------------------------------------------------------
@pytest.mark.parametrize("image_id", ["0d6f3e0a-5b8c-4c55-9f7d-1e2a3b4c5d6e",
                                      "non-existing-image-id"])
def test_queueing_an_unknown_image_is_404(admin: ApiClient, image_id: str) -> None:
    assert outcome(admin.put(f"/v2/cache/{image_id}", headers=JSON)) == (
        404, f"Image {image_id} not found.")


def test_queueing_an_image_without_data_is_400(admin: ApiClient) -> None:
    image = admin.create_image()
    assert outcome(admin.put(f"/v2/cache/{image['id']}", headers=JSON)) == (
        400, "Only images with status active can be targeted for queueing")


def test_a_member_may_not_queue_an_image(admin: ApiClient) -> None:
    image = admin.active_image()
    member = admin.as_user(PROJECT_A)
    assert outcome(member.put(f"/v2/cache/{image['id']}", headers=JSON)) == (
        403, "You are not authorized to complete cache_image action.")


def test_a_queued_active_image_is_cached_at_once(admin: ApiClient, cache_dir: Path) -> None:
    image = admin.active_image(b"q" * 1500)
    response = admin.put(f"/v2/cache/{image['id']}")
    assert (response.status_code, response.content) == (202, b"")
    entry = cache_now(admin, image["id"])
    assert {k: entry[k] for k in ("image_id", "size", "hits", "checksum")} == {
        "image_id": image["id"], "size": 1500, "hits": 0, "checksum": None}
    assert isinstance(entry["id"], int)
    assert abs(entry["last_accessed"] - time.time()) < 60
    assert (cache_dir / image["id"]).read_bytes() == b"q" * 1500
    assert image["id"] not in admin.get("/v2/cache").json()["queued_images"]


def test_queueing_a_cached_image_again_is_202(admin: ApiClient) -> None:
    image = admin.active_image()
    cache_now(admin, image["id"])
    assert admin.put(f"/v2/cache/{image['id']}").status_code == 202


# -- deleting and clearing ----------------------------------------------------------------
def test_deleting_one_cached_image_removes_file_and_entry(admin: ApiClient,
                                                          cache_dir: Path) -> None:
    image = admin.active_image()
    cache_now(admin, image["id"])
    assert admin.delete(f"/v2/cache/{image['id']}").status_code == 204
    assert image["id"] not in cached(admin)
    assert not (cache_dir / image["id"]).exists()


def test_deleting_an_unknown_uncached_image_is_404(admin: ApiClient) -> None:
    image_id = str(uuid.uuid4())
    assert outcome(admin.delete(f"/v2/cache/{image_id}", headers=JSON)) == (
        404, f"Image {image_id} not found.")


def test_clearing_without_target_empties_cache_and_queue(admin: ApiClient,
                                                         cache_dir: Path) -> None:
    image = admin.active_image()
    cache_now(admin, image["id"])
    (cache_dir / "queue" / str(uuid.uuid4())).touch()
    assert admin.delete("/v2/cache").status_code == 204
    assert admin.get("/v2/cache").json() == {"cached_images": [], "queued_images": []}


def test_clearing_the_queue_keeps_cached_images(admin: ApiClient, cache_dir: Path) -> None:
    image = admin.active_image()
    cache_now(admin, image["id"])
    queued = str(uuid.uuid4())
    (cache_dir / "queue" / queued).touch()
    response = admin.delete("/v2/cache", headers={"X-Image-Cache-Clear-Target": "queue"})
    assert response.status_code == 204
    listing = admin.get("/v2/cache").json()
    assert listing["queued_images"] == []
    assert image["id"] in {e["image_id"] for e in listing["cached_images"]}


@pytest.mark.parametrize("target", ["both", "invalid"])
def test_an_unknown_clear_target_is_400(admin: ApiClient, target: str) -> None:
    response = admin.delete("/v2/cache", headers={"x-image-cache-clear-target": target,
                                                  **JSON})
    assert outcome(response) == (400, "If provided 'x-image-cache-clear-target' must be "
                                      "'cache', 'queue' or empty string.")


# -- clean and prune (2.18) ---------------------------------------------------------------
def test_clean_removes_invalid_and_stalled_files(admin: ApiClient, cache_dir: Path) -> None:
    invalid = cache_dir / "invalid" / str(uuid.uuid4())
    stalled = cache_dir / "incomplete" / str(uuid.uuid4())
    fresh = cache_dir / "incomplete" / str(uuid.uuid4())
    for path in (invalid, stalled, fresh):
        path.write_bytes(b"x")
    day_ago = time.time() - 86401
    os.utime(stalled, (day_ago, day_ago))
    response = admin.post("/v2/cache/clean")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert (invalid.exists(), stalled.exists(), fresh.exists()) == (False, False, True)
    fresh.unlink()


def test_prune_within_the_max_size_prunes_nothing(admin: ApiClient,
                                                  empty_cache: None) -> None:
    image = admin.active_image(b"p" * 1000)
    cache_now(admin, image["id"])
    response = admin.post("/v2/cache/prune")
    assert response.status_code == 200
    assert response.json() == {"total_files_pruned": 0, "total_bytes_pruned": 0}


def test_prune_removes_least_recently_used_until_under_the_max(
        admin: ApiClient, cache_server: GlanceServer, empty_cache: None) -> None:
    images = [admin.active_image(bytes([n]) * 1200) for n in range(3)]
    for image in images:
        cache_now(admin, image["id"])
        time.sleep(1.1)  # last_accessed is kept to the second
    # A hit makes the oldest the most recently used.
    assert admin.get(f"/v2/images/{images[0]['id']}/file").status_code == 200
    response = admin.post("/v2/cache/prune")
    assert response.json() == {"total_files_pruned": 1, "total_bytes_pruned": 1200}
    assert sorted(cached(admin)) == sorted([images[0]["id"], images[2]["id"]])


def test_a_member_may_not_clean_or_prune(admin: ApiClient) -> None:
    member = admin.as_user(PROJECT_A)
    assert outcome(member.post("/v2/cache/clean", headers=JSON))[0] == 403
    assert outcome(member.post("/v2/cache/prune", headers=JSON))[0] == 403


# -- nodes --------------------------------------------------------------------------------
def test_nodes_of_a_cached_image_name_this_node(admin: ApiClient) -> None:
    image = admin.active_image()
    cache_now(admin, image["id"])
    response = admin.get(f"/v2/cache/nodes/{image['id']}")
    assert (response.status_code, response.json()) == (200, [NODE_URL])


def test_nodes_of_an_unknown_image_is_404(admin: ApiClient) -> None:
    assert admin.get(f"/v2/cache/nodes/{uuid.uuid4()}").status_code == 404


# -- versions -----------------------------------------------------------------------------
def test_a_cache_lists_versions_2_14_2_16_and_2_18_as_current(admin: ApiClient) -> None:
    versions = [(v["id"], v["status"]) for v in admin.get("/versions").json()["versions"]]
    assert versions == [
        ("v2.18", "CURRENT"), ("v2.17", "SUPPORTED"), ("v2.16", "SUPPORTED"),
        ("v2.15", "SUPPORTED"), ("v2.14", "SUPPORTED"), ("v2.9", "SUPPORTED"),
        *[(f"v2.{n}", "SUPPORTED") for n in range(7, -1, -1)]]


def test_a_cache_accepts_the_2_18_url_prefix(admin: ApiClient) -> None:
    assert admin.get("/v2.18/cache").status_code == 200


def test_tempest_image_caching_cycle(admin: ApiClient) -> None:
    """tempest's ImageCachingTest.test_image_caching_cycle, step by step (spec §3.9)."""
    member = admin.as_user(PROJECT_A)
    assert member.get("/v2/cache").status_code == 403
    assert admin.get("/v2/cache").status_code == 200
    assert admin.put("/v2/cache/non-existing-image-id").status_code == 404
    queued = admin.create_image(disk_format="raw", container_format="bare")
    assert admin.put(f"/v2/cache/{queued['id']}").status_code == 400
    image = admin.active_image(visibility="private")
    cache_now(admin, image["id"])
    assert admin.delete("/v2/cache").status_code == 204
    listing = admin.get("/v2/cache").json()
    assert (len(listing["queued_images"]), len(listing["cached_images"])) == (0, 0)
    response = admin.delete("/v2/cache", headers={"x-image-cache-clear-target": "invalid"})
    assert response.status_code == 400
