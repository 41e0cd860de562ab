"""Parallel writers of one image (issue 7, items 1 and 5): no lost updates, quotas hold.

Every test sends 20 or more requests at once, from threads that start together, to a
real glance-api, on each database of GLANCE_TEST_DATABASES and, with
GLANCE_TEST_DATA_API=registry, through glance-registry. A PATCH or a tag PUT reads the
image, changes one thing and saves: each must keep its own change without erasing the
others', and the quotas must count every writer, not only the ones it read.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.conftest import PATCH_V21, PROJECT_A, ApiClient
from tests.fixtures.service import GlanceServer

WRITERS = 20
QUOTA = 5
MiB = 1024 * 1024
UPLOADS = 6
UPLOAD_SIZE = 18 * MiB
STORAGE_QUOTA = 50 * MiB  # "50MB": room for two uploads of 18 MiB, not three


def in_parallel(count: int, call: Callable[[int], requests.Response]
                ) -> list[requests.Response]:
    """Run ``call(0..count-1)`` on ``count`` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(index: int) -> requests.Response:
        start.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def statuses(responses: list[requests.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def serve(database_url: str, workdir: Any, quotas: dict[str, Any]
          ) -> GlanceServer:
    """A glance-api taking the writers at once: two workers of 32 threads, identity
    headers (members need projects)."""
    conf = {"DEFAULT": {"threads": 32, **quotas}}
    return GlanceServer(workdir, conf, paste_flavor="trusted-auth", workers=2,
                        database_url=database_url)


@pytest.fixture(scope="module")
def busy_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[GlanceServer]:
    with serve(database_url, tmp_path_factory.mktemp("glance-busy"), {}) as srv:
        yield srv


@pytest.fixture(scope="module")
def quota_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[GlanceServer]:
    quotas = {"image_property_quota": QUOTA, "image_tag_quota": QUOTA,
              "image_member_quota": QUOTA, "user_storage_quota": "50MB"}
    with serve(database_url, tmp_path_factory.mktemp("glance-quotas"), quotas) as srv:
        yield srv


def owner_of(server: GlanceServer) -> ApiClient:
    """A fresh client (one HTTP session per thread) of the project owning the images."""
    return ApiClient(server.url).as_user(PROJECT_A)


def patch_add(client: ApiClient, image_id: str, name: str, value: str
              ) -> requests.Response:
    return client.patch(f"/v2/images/{image_id}", headers=PATCH_V21,
                        json=[{"op": "add", "path": f"/{name}", "value": value}])


def project(index: int) -> str:
    return f"{index:032x}"


# -- no lost updates --------------------------------------------------------------------------
def test_parallel_patch_adds_of_distinct_properties_all_survive(
        busy_server: GlanceServer) -> None:
    image_id = owner_of(busy_server).create_image()["id"]

    responses = in_parallel(WRITERS, lambda i: patch_add(
        owner_of(busy_server), image_id, f"p{i}", f"v{i}"))

    assert statuses(responses) == [200] * WRITERS
    image = owner_of(busy_server).get(f"/v2/images/{image_id}").json()
    assert {k: v for k, v in image.items() if k.startswith("p") and k[1:].isdigit()} == {
        f"p{i}": f"v{i}" for i in range(WRITERS)}


def test_parallel_tag_puts_all_survive(busy_server: GlanceServer) -> None:
    image_id = owner_of(busy_server).create_image()["id"]

    responses = in_parallel(WRITERS, lambda i: owner_of(busy_server).put(
        f"/v2/images/{image_id}/tags/t{i}"))

    assert statuses(responses) == [204] * WRITERS
    tags = owner_of(busy_server).get(f"/v2/images/{image_id}").json()["tags"]
    assert sorted(tags) == sorted(f"t{i}" for i in range(WRITERS))


def test_parallel_patches_of_one_property_end_with_one_written_value(
        busy_server: GlanceServer) -> None:
    image_id = owner_of(busy_server).create_image(shared_key="initial")["id"]
    written = {f"value-{i}" for i in range(WRITERS)}

    responses = in_parallel(WRITERS, lambda i: owner_of(busy_server).patch(
        f"/v2/images/{image_id}", headers=PATCH_V21,
        json=[{"op": "replace", "path": "/shared_key", "value": f"value-{i}"}]))

    assert statuses(responses) == [200] * WRITERS
    assert owner_of(busy_server).get(f"/v2/images/{image_id}").json()["shared_key"] in written


def test_parallel_member_adds_all_survive(busy_server: GlanceServer) -> None:
    image_id = owner_of(busy_server).create_image(visibility="shared")["id"]

    responses = in_parallel(WRITERS, lambda i: owner_of(busy_server).post(
        f"/v2/images/{image_id}/members", json={"member": project(i)}))

    assert statuses(responses) == [200] * WRITERS
    members = owner_of(busy_server).get(f"/v2/images/{image_id}/members").json()
    assert sorted(m["member_id"] for m in members["members"]) == [
        project(i) for i in range(WRITERS)]


# -- quotas hold --------------------------------------------------------------------------------
def test_parallel_property_adds_hold_the_property_quota(quota_server: GlanceServer) -> None:
    image_id = owner_of(quota_server).create_image()["id"]

    responses = in_parallel(WRITERS, lambda i: patch_add(
        owner_of(quota_server), image_id, f"p{i}", "x"))

    assert statuses(responses) == [200] * QUOTA + [413] * (WRITERS - QUOTA)
    refused = next(r for r in responses if r.status_code == 413)
    assert "The limit has been exceeded on the number of allowed image properties. " \
           f"Attempted: {QUOTA + 1}, Maximum: {QUOTA}" in refused.text
    image = owner_of(quota_server).get(f"/v2/images/{image_id}").json()
    assert len([k for k in image if k.startswith("p") and k[1:].isdigit()]) == QUOTA


def test_parallel_tag_puts_hold_the_tag_quota(quota_server: GlanceServer) -> None:
    image_id = owner_of(quota_server).create_image()["id"]

    responses = in_parallel(WRITERS, lambda i: owner_of(quota_server).put(
        f"/v2/images/{image_id}/tags/t{i}"))

    assert statuses(responses) == [204] * QUOTA + [413] * (WRITERS - QUOTA)
    assert len(owner_of(quota_server).get(f"/v2/images/{image_id}").json()["tags"]) == QUOTA


def test_parallel_member_adds_hold_the_member_quota(quota_server: GlanceServer) -> None:
    image_id = owner_of(quota_server).create_image(visibility="shared")["id"]

    responses = in_parallel(WRITERS, lambda i: owner_of(quota_server).post(
        f"/v2/images/{image_id}/members", json={"member": project(i)}))

    assert statuses(responses) == [200] * QUOTA + [413] * (WRITERS - QUOTA)
    members = owner_of(quota_server).get(f"/v2/images/{image_id}/members").json()["members"]
    assert len(members) == QUOTA


def test_parallel_uploads_hold_the_user_storage_quota(quota_server: GlanceServer) -> None:
    owner = owner_of(quota_server)
    marker = uuid.uuid4().hex
    ids = [owner.create_image(disk_format="raw", container_format="bare", tags=[marker])["id"]
           for _ in range(UPLOADS)]
    data = b"\0" * UPLOAD_SIZE

    responses = in_parallel(UPLOADS, lambda i: owner_of(quota_server).upload(ids[i], data))

    assert statuses(responses) == [204] * 2 + [413] * (UPLOADS - 2)
    for response in responses:
        if response.status_code == 413:
            assert "Image exceeds the storage quota" in response.text
    images: list[dict[str, Any]] = [owner.get(f"/v2/images/{i}").json() for i in ids]
    active = [image for image in images if image["status"] == "active"]
    assert sum(image["size"] for image in active) <= STORAGE_QUOTA
    assert [(image["status"], image["size"], image["checksum"]) for image in images
            if image["status"] != "active"] == [("queued", None, None)] * (UPLOADS - 2)
    assert sorted(set(quota_server.stored_files()) & set(ids)) == sorted(
        image["id"] for image in active)
