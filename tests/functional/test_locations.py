"""GET/POST /v2/images/{id}/locations (API 2.17) and direct_url/locations exposure."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PROJECT_A, PROJECT_B, ApiClient, error_text, trusted_server_with
from tests.fixtures.origin import ORIGIN_ALLOWED, Origin, serving
from tests.fixtures.service import GlanceServer

DATA = os.urandom(30_000)
SHA256 = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    for server in serving(Origin(DATA)):
        yield server.base_url


@pytest.fixture(scope="module")
def trusted_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[GlanceServer]:
    """This module's trusted-auth server, whose import filter admits the origin."""
    yield from trusted_server_with(ORIGIN_ALLOWED, database_url, tmp_path_factory)


@pytest.fixture
def owner(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A)


@pytest.fixture
def service(trusted_api: ApiClient) -> ApiClient:
    # Nova's service user acts inside the project that owns the image.
    return trusted_api.as_user(PROJECT_A, roles="service,reader", user_id="nova")


def add_location(api: ApiClient, image_id: str, url: str, **extra: Any):
    return api.post(f"/v2/images/{image_id}/locations", json={"url": url, **extra})


def queued(api: ApiClient) -> dict:
    return api.create_image(disk_format="raw", container_format="bare")


def test_owner_adds_an_http_location_and_the_image_becomes_active(owner, origin):
    image = queued(owner)
    response = add_location(owner, image["id"], f"{origin}/disk.img")
    assert response.status_code == 202
    assert response.content == b""
    shown = owner.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"]) == ("active", len(DATA))
    hashed = owner.wait_for(image["id"], lambda i: i["checksum"] is not None, timeout=30)
    assert hashed["checksum"] == hashlib.md5(DATA).hexdigest()
    assert hashed["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert owner.get(f"/v2/images/{image['id']}/file").content == DATA


def test_service_reads_the_locations(owner, service, origin):
    image = queued(owner)
    add_location(owner, image["id"], f"{origin}/disk.img")
    response = service.get(f"/v2/images/{image['id']}/locations")
    assert response.status_code == 200
    assert response.json() == [{"url": f"{origin}/disk.img", "metadata": {}}]


def test_owner_may_not_read_the_locations(owner, origin):
    image = queued(owner)
    add_location(owner, image["id"], f"{origin}/disk.img")
    response = owner.get(f"/v2/images/{image['id']}/locations")
    assert response.status_code == 403
    assert "fetch_image_location" in error_text(response)


def test_non_service_callers_are_limited_to_http(owner, trusted_server):
    image = queued(owner)
    response = add_location(owner, image["id"], f"file://{trusted_server.images_dir}/x")
    assert response.status_code == 403
    assert "http store must be enabled to use location API by normal user." in error_text(response)


def test_service_may_register_file_data(trusted_api, service, trusted_server):
    owner = trusted_api.as_user(PROJECT_A)
    donor = owner.active_image(DATA)
    image = queued(owner)
    url = f"file://{trusted_server.images_dir}/{donor['id']}"
    assert add_location(service, image["id"], url).status_code == 202
    assert owner.get(f"/v2/images/{image['id']}").json()["status"] == "active"


def test_location_on_an_active_image_is_409(owner, origin):
    image = owner.active_image(b"data")
    response = add_location(owner, image["id"], f"{origin}/disk.img")
    assert response.status_code == 409
    assert "It's not allowed to add locations if image status is active." in error_text(response)


def test_unreachable_location_is_400(owner, origin):
    image = queued(owner)
    assert add_location(owner, image["id"], f"{origin}/missing.img").status_code == 400
    assert owner.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_other_projects_cannot_add_locations(trusted_api, owner, origin):
    image = owner.create_image(disk_format="raw", container_format="bare",
                               visibility="community")
    stranger = trusted_api.as_user(PROJECT_B)
    response = add_location(stranger, image["id"], f"{origin}/disk.img")
    assert response.status_code == 403
    assert "add_image_location" in error_text(response)


def test_invisible_image_is_404(trusted_api, owner, origin):
    image = queued(owner)
    stranger = trusted_api.as_user(PROJECT_B)
    assert add_location(stranger, image["id"], f"{origin}/disk.img").status_code == 404


@pytest.mark.parametrize(("validation", "status"), [
    ({"os_hash_algo": "sha256", "os_hash_value": "zz"}, 400),
    ({"os_hash_algo": "sha256", "os_hash_value": "abcd"}, 400),
    ({"os_hash_algo": "whirlpool", "os_hash_value": SHA256}, 400),
    ({"os_hash_algo": "sha256"}, 400),
    ({"os_hash_algo": "sha256", "os_hash_value": SHA256, "extra": "x"}, 400),
])
def test_bad_validation_data_is_400(owner, origin, validation, status):
    image = queued(owner)
    response = add_location(owner, image["id"], f"{origin}/disk.img",
                            validation_data=validation)
    assert response.status_code == status


def test_validation_data_that_matches_activates(owner, origin):
    image = queued(owner)
    response = add_location(owner, image["id"], f"{origin}/disk.img",
                            validation_data={"os_hash_algo": "sha256", "os_hash_value": SHA256})
    assert response.status_code == 202
    done = owner.wait_for(image["id"], lambda i: i["status"] != "importing", timeout=30)
    assert (done["status"], done["os_hash_algo"], done["os_hash_value"]) == (
        "active", "sha256", SHA256)


def test_validation_data_that_does_not_match_returns_to_queued(owner, origin):
    image = queued(owner)
    wrong = hashlib.sha256(b"something else").hexdigest()
    add_location(owner, image["id"], f"{origin}/disk.img",
                 validation_data={"os_hash_algo": "sha256", "os_hash_value": wrong})
    done = owner.wait_for(image["id"], lambda i: i["status"] != "importing", timeout=30)
    assert (done["status"], done["size"], done["os_hash_value"]) == ("queued", None, None)
    assert owner.get(f"/v2/images/{image['id']}/file").status_code == 204


def test_refused_http_location_stays_listed_on_the_queued_image(owner, service, origin):
    # Glance's bug 2076648, which Tempest's location tests assert: the http store cannot
    # delete, so a location whose hash did not match stays on the queued image.
    image = queued(owner)
    wrong = hashlib.sha256(b"something else").hexdigest()
    add_location(owner, image["id"], f"{origin}/disk.img",
                 validation_data={"os_hash_algo": "sha256", "os_hash_value": wrong})
    owner.wait_for(image["id"], lambda i: i["status"] != "importing", timeout=30)
    listed = service.get(f"/v2/images/{image['id']}/locations")
    assert [loc["url"] for loc in listed.json()] == [f"{origin}/disk.img"]


def test_missing_url_is_400(owner):
    image = queued(owner)
    assert owner.post(f"/v2/images/{image['id']}/locations", json={}).status_code == 400


def test_location_quota_is_413(make_server, origin):
    server = make_server(conf={"DEFAULT": {"image_location_quota": 0}, **ORIGIN_ALLOWED})
    api = ApiClient(server.url)
    image = queued(api)
    response = add_location(api, image["id"], f"{origin}/disk.img")
    assert response.status_code == 413
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_direct_url_and_locations_when_enabled(make_server):
    server = make_server(conf={"DEFAULT": {"show_image_direct_url": True,
                                           "show_multiple_locations": True}})
    api = ApiClient(server.url)
    image = api.active_image(b"abc")
    url = f"file://{server.images_dir}/{image['id']}"
    assert image["direct_url"] == url
    assert image["locations"] == [{"url": url, "metadata": {}}]


def test_direct_url_is_hidden_by_default(api):
    image = api.active_image(b"abc")
    assert "direct_url" not in image
    assert "locations" not in image
