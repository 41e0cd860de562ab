"""The registry behind Keystone: glance-api logs in as the glance service user.

The registry's keystone flavor validates tokens with auth_token and lets only admin or
service callers in; glance-api's registry client gets its token with the password plugin
of its own [keystone_authtoken] (the glance user, admin on the service project). Real
Keystone, real processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ApiClient
from tests.fixtures.keystone import KeystoneServer, keystone  # noqa: F401
from tests.fixtures.service import GlanceServer

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def keystone_api(keystone: KeystoneServer,  # noqa: F811
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    """glance-api (keystone flavor) in front of a glance-registry (keystone flavor)."""
    authtoken = keystone.authtoken_options()
    registry_conf = {"paste_deploy": {"flavor": "keystone"}, "keystone_authtoken": authtoken}
    with GlanceServer(tmp_path_factory.mktemp("api-ks"), {"keystone_authtoken": authtoken},
                      paste_flavor="keystone", data_api="registry",
                      registry_conf=registry_conf) as server:
        yield server


def user_client(server: GlanceServer, keystone: KeystoneServer, name: str  # noqa: F811
                ) -> ApiClient:
    return ApiClient(server.url, {"X-Auth-Token": keystone.token(keystone.users[name])})


def test_user_creates_and_reads_an_image_through_the_keystone_registry(
        keystone_api: GlanceServer, keystone: KeystoneServer) -> None:  # noqa: F811
    client = user_client(keystone_api, keystone, "demo-a-member")
    image = client.create_image(name="via-keystone-registry")
    response = client.get(f"/v2/images/{image['id']}")
    assert (response.status_code, response.json()["owner"]) == (
        200, keystone.users["demo-a-member"].project_id)


def test_registry_refuses_a_user_token(keystone_api: GlanceServer,
                                       keystone: KeystoneServer) -> None:  # noqa: F811
    token = keystone.token(keystone.users["demo-a-member"])
    response = requests.post(f"{keystone_api.registry.url}/rpc", timeout=30, json=[
        {"command": "storage_used", "kwargs": {"owner": None}}],
        headers={"X-Auth-Token": token})
    assert response.status_code == 403


def test_registry_refuses_a_call_without_token(keystone_api: GlanceServer) -> None:
    response = requests.post(f"{keystone_api.registry.url}/rpc", timeout=30, json=[])
    assert response.status_code == 401


def test_registry_serves_the_glance_service_user(keystone_api: GlanceServer,
                                                 keystone: KeystoneServer) -> None:  # noqa: F811
    token = keystone.token(keystone.users["glance"])
    response = requests.post(f"{keystone_api.registry.url}/rpc", timeout=30, json=[
        {"command": "storage_used", "kwargs": {"owner": "nobody"}}],
        headers={"X-Auth-Token": token})
    assert (response.status_code, response.json()) == (200, [0])


def test_api_without_service_credentials_gets_503(keystone: KeystoneServer,  # noqa: F811
                                                  tmp_path: Path) -> None:
    registry_conf = {"paste_deploy": {"flavor": "keystone"},
                     "keystone_authtoken": keystone.authtoken_options()}
    with GlanceServer(tmp_path / "api", data_api="registry",
                      registry_conf=registry_conf) as server:
        response = requests.post(f"{server.url}/v2/images", json={"name": "x"},
                                 headers=JSON, timeout=30)
    assert response.status_code == 503

