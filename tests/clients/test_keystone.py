"""The real Keystone fixture does what glance_svc's keystone flavor relies on.

These run before any glance_svc is involved: if keystonemiddleware cannot validate a
token issued here, every keystone-mode client test would fail for a reason that is not
glance_svc's, so this is checked on its own first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from keystonemiddleware import auth_token
from webob import Request

from tests.fixtures.keystone import KeystoneServer

StartResponse = Callable[..., Any]


def _echo_identity(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A downstream app that answers with the identity headers auth_token set for it."""
    names = ("HTTP_X_IDENTITY_STATUS", "HTTP_X_USER_ID", "HTTP_X_PROJECT_ID", "HTTP_X_ROLES")
    body = json.dumps({name: environ.get(name) for name in names}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.fixture(scope="module")
def authtoken(keystone: KeystoneServer) -> auth_token.AuthProtocol:
    """keystonemiddleware configured exactly as glance-api's [keystone_authtoken] will be."""
    conf = {**keystone.authtoken_options(), "delay_auth_decision": "false"}
    return auth_token.AuthProtocol(_echo_identity, conf)


def _call(app: auth_token.AuthProtocol, token: str) -> Any:
    return Request.blank("/v2/images", headers={"X-Auth-Token": token}).get_response(app)


def test_member_token_is_confirmed_for_its_user_and_project(keystone, authtoken):
    member = keystone.users["demo-a-member"]
    response = _call(authtoken, keystone.token(member))
    assert response.status_int == 200
    identity = response.json
    assert identity["HTTP_X_IDENTITY_STATUS"] == "Confirmed"
    assert identity["HTTP_X_USER_ID"] == member.user_id
    assert identity["HTTP_X_PROJECT_ID"] == member.project_id


def test_member_role_implies_reader_in_validated_token(keystone, authtoken):
    response = _call(authtoken, keystone.token(keystone.users["demo-a-member"]))
    assert sorted(response.json["HTTP_X_ROLES"].split(",")) == ["member", "reader"]


def test_reader_role_implies_nothing_more(keystone, authtoken):
    response = _call(authtoken, keystone.token(keystone.users["demo-a-reader"]))
    assert response.json["HTTP_X_ROLES"] == "reader"


def test_admin_role_implies_manager_member_and_reader(keystone, authtoken):
    response = _call(authtoken, keystone.token(keystone.admin))
    roles = sorted(response.json["HTTP_X_ROLES"].split(","))
    assert roles == ["admin", "manager", "member", "reader"]


def test_demo_projects_are_distinct(keystone):
    a = keystone.users["demo-a-member"]
    b = keystone.users["demo-b-member"]
    assert a.project_id != b.project_id
    assert keystone.users["demo-a-reader"].project_id == a.project_id


def test_forged_token_is_refused_with_keystone_challenge(keystone, authtoken):
    response = _call(authtoken, "gAAAAAB-not-a-fernet-token")
    assert response.status_int == 401
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.auth_url}"'


def test_catalog_points_image_service_at_the_keystone_flavored_glance(keystone, glance_keystone):
    """The CLIs find glance_svc through this catalog entry, as they would in production."""
    session = keystone.session(keystone.users["demo-b-member"])
    endpoints = {
        interface: session.get_endpoint(service_type="image", interface=interface)
        for interface in ("public", "internal", "admin")
    }
    assert endpoints == dict.fromkeys(("public", "internal", "admin"), glance_keystone.url)
