"""glance_svc's `flavor = keystone` pipeline with tokens from a real Keystone.

The functional suite drives policy with the trusted-auth flavor (identity headers set by
the test). Only here do real tokens pass through keystonemiddleware, with Keystone's
implied roles (member implies reader, admin implies member), into glance_svc's context and
policy, so these check that hand-over on the wire.
"""

from __future__ import annotations

from tests.clients.conftest import Http
from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.service import GlanceServer


def as_user(keystone: KeystoneServer, server: GlanceServer, name: str) -> Http:
    return Http(server.url, keystone.token(keystone.users[name]))


def test_request_without_token_is_401_with_keystone_challenge(keystone, glance_keystone):
    response = Http(glance_keystone.url, None).get("/v2/images")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'


def test_request_with_forged_token_is_401(glance_keystone):
    response = Http(glance_keystone.url, "gAAAAAB-forged").get("/v2/images")
    assert response.status_code == 401


def test_healthcheck_needs_no_token(glance_keystone):
    response = Http(glance_keystone.url, None).get("/healthcheck")
    assert (response.status_code, response.text) == (200, "OK")


def test_member_creates_image_owned_by_its_project(keystone, glance_keystone):
    response = as_user(keystone, glance_keystone, "demo-a-member").post(
        "/v2/images", json={"name": "owned", "disk_format": "raw", "container_format": "bare"})
    assert response.status_code == 201, response.text
    assert response.json()["owner"] == keystone.users["demo-a-member"].project_id


def test_reader_lists_images_through_its_reader_role(keystone, glance_keystone):
    response = as_user(keystone, glance_keystone, "demo-a-reader").get("/v2/images")
    assert response.status_code == 200, response.text


def test_reader_cannot_create_images(keystone, glance_keystone):
    response = as_user(keystone, glance_keystone, "demo-a-reader").post(
        "/v2/images", json={"name": "nope", "disk_format": "raw", "container_format": "bare"})
    assert response.status_code == 403, response.text


def test_other_project_does_not_see_an_unshared_image(keystone, glance_keystone):
    owner = as_user(keystone, glance_keystone, "demo-a-member")
    created = owner.post("/v2/images", json={"name": "mine", "visibility": "private"})
    assert created.status_code == 201, created.text
    other = as_user(keystone, glance_keystone, "demo-b-member")
    assert other.get(f"/v2/images/{created.json()['id']}").status_code == 404


def test_admin_token_sees_every_projects_images(keystone, glance_keystone):
    owner = as_user(keystone, glance_keystone, "demo-b-member")
    created = owner.post("/v2/images", json={"name": "b-private", "visibility": "private"})
    assert created.status_code == 201, created.text
    admin = as_user(keystone, glance_keystone, "admin")
    assert admin.get(f"/v2/images/{created.json()['id']}").status_code == 200


def test_request_id_is_returned_on_authenticated_responses(keystone, glance_keystone):
    response = as_user(keystone, glance_keystone, "demo-a-member").get(
        "/v2/images", headers={"X-Openstack-Request-Id": "req-k-notes-1"})
    assert response.headers["x-openstack-request-id"] == "req-k-notes-1"
