"""Location URLs pass ``[import_filtering_opts]`` before the server fetches anything.

The target is an ``Origin`` on 127.0.0.1 standing for anything internal (a database
admin page, the metadata service): it records every request, so a test can prove that
a refused location was never fetched, not merely that the answer was 400.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PATCH_V21, PROJECT_A, ApiClient, outcome, trusted_server_with
from tests.fixtures.origin import ORIGIN_ALLOWED, Origin, Redirector, serving
from tests.fixtures.service import GlanceServer

DATA = os.urandom(20_000)
JSON = {"Accept": "application/json"}
PATCH_LOCATIONS_ON = {"DEFAULT": {"show_multiple_locations": True}}


@pytest.fixture
def target() -> Iterator[Origin]:
    yield from serving(Origin(DATA))


@pytest.fixture
def redirector(target: Origin) -> Iterator[Redirector]:
    yield from serving(Redirector(target.url))


@pytest.fixture(scope="module")
def locations_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[GlanceServer]:
    """trusted-auth with the default import filter and the old PATCH location API on."""
    yield from trusted_server_with(PATCH_LOCATIONS_ON, database_url, tmp_path_factory)


@pytest.fixture
def member(locations_server: GlanceServer) -> ApiClient:
    return ApiClient(locations_server.url, JSON).as_user(PROJECT_A)


def queued(api: ApiClient) -> str:
    return api.create_image(disk_format="raw", container_format="bare")["id"]


def post_location(api: ApiClient, image_id: str, url: str, **extra: Any):  # noqa: ANN201
    return api.post(f"/v2/images/{image_id}/locations", json={"url": url, **extra})


def patch_location(api: ApiClient, image_id: str, url: str):  # noqa: ANN201
    ops = [{"op": "add", "path": "/locations/-", "value": {"url": url, "metadata": {}}}]
    return api.patch(f"/v2/images/{image_id}", headers=PATCH_V21, json=ops)


def status_of(api: ApiClient, image_id: str) -> str:
    return api.get(f"/v2/images/{image_id}").json()["status"]


def test_member_cannot_post_a_loopback_location(member, target) -> None:
    image_id = queued(member)
    response = post_location(member, image_id, target.url)
    assert outcome(response) == (
        400, f"URI for add location does not pass filtering: {target.url}")
    assert (target.requests, status_of(member, image_id)) == ([], "queued")


def test_service_user_cannot_post_a_loopback_location_either(locations_server, target
                                                              ) -> None:
    # Glance 33 filters http(s) locations whoever adds them: the service role lifts
    # only the http-only restriction.
    owner = ApiClient(locations_server.url, JSON).as_user(PROJECT_A)
    nova = ApiClient(locations_server.url, JSON).as_user(PROJECT_A, roles="service,reader",
                                                         user_id="nova")
    image_id = queued(owner)
    response = post_location(nova, image_id, target.url)
    assert outcome(response) == (
        400, f"URI for add location does not pass filtering: {target.url}")
    assert target.requests == []


def test_metadata_service_address_is_refused(member) -> None:
    url = "http://169.254.169.254/latest/meta-data/"
    response = post_location(member, queued(member), url)
    assert outcome(response) == (400, f"URI for add location does not pass filtering: {url}")


def test_numeric_spelling_of_loopback_is_refused(member) -> None:
    url = "http://2130706433/disk.img"
    response = post_location(member, queued(member), url)
    assert outcome(response) == (400, f"URI for add location does not pass filtering: {url}")


def test_unparsable_url_is_refused_not_a_server_error(member) -> None:
    url = "http://[::1/disk.img"
    response = post_location(member, queued(member), url)
    assert outcome(response) == (400, f"URI for add location does not pass filtering: {url}")


def test_patch_add_of_a_loopback_location_is_invalid(member, target) -> None:
    image_id = queued(member)
    response = patch_location(member, image_id, target.url)
    assert outcome(response) == (400, "Invalid location")
    assert (target.requests, status_of(member, image_id)) == ([], "queued")


def test_allowed_host_on_a_port_not_allowed_is_refused(make_server, target) -> None:
    server = make_server({"import_filtering_opts": {"allowed_hosts": "127.0.0.1"}},
                         paste_flavor="trusted-auth")
    member = ApiClient(server.url, JSON).as_user(PROJECT_A)
    response = post_location(member, queued(member), target.url)
    assert outcome(response) == (
        400, f"URI for add location does not pass filtering: {target.url}")
    assert target.requests == []


def test_host_and_port_the_operator_allows_are_fetched(make_server, target) -> None:
    server = make_server(ORIGIN_ALLOWED, paste_flavor="trusted-auth")
    member = ApiClient(server.url).as_user(PROJECT_A)
    image_id = queued(member)
    response = post_location(member, image_id, target.url)
    assert (response.status_code, response.content) == (202, b"")
    assert target.requests[0] == "HEAD /disk.img"


def test_os_hash_algo_is_set_while_the_hash_is_computed(make_server, target) -> None:
    server = make_server(ORIGIN_ALLOWED, paste_flavor="trusted-auth")
    member = ApiClient(server.url).as_user(PROJECT_A)
    image_id = queued(member)
    target.release.clear()  # the background read waits until the image was looked at
    assert post_location(member, image_id, target.url).status_code == 202
    hashing = member.get(f"/v2/images/{image_id}").json()
    target.release.set()
    assert (hashing["status"], hashing["os_hash_algo"], hashing["os_hash_value"],
            hashing["checksum"]) == ("active", "sha512", None, None)
    hashed = member.wait_for(image_id, lambda i: i["os_hash_value"] is not None, timeout=30)
    assert (hashed["os_hash_algo"], hashed["os_hash_value"]) == (
        "sha512", hashlib.sha512(DATA).hexdigest())


def test_redirect_from_an_allowed_location_to_a_refused_one_is_not_followed(
        make_server, redirector, target) -> None:
    server = make_server({"import_filtering_opts": {"allowed_hosts": "127.0.0.1",
                                                    "allowed_ports": redirector.port}},
                         paste_flavor="trusted-auth")
    member = ApiClient(server.url, JSON).as_user(PROJECT_A)
    image_id = queued(member)
    url = f"http://127.0.0.1:{redirector.port}/disk.img"
    response = post_location(member, image_id, url)
    assert outcome(response) == (
        400, f"Invalid location {url}: Redirect to disallowed URL: {target.url}")
    assert (target.requests, status_of(member, image_id)) == ([], "queued")
