"""Fixtures of the metadefs tests (``test_metadefs_*.py`` import them by name).

The session's trusted-auth server gets the packaged catalog loaded once, with the real
``glance-manage db load_metadefs``, as a deployment does: that is where the resource types
come from. Every test then makes namespaces of its own, named uniquely, so the tests
never depend on each other or on the catalog's contents beyond its resource types.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PROJECT_A, PROJECT_B, ApiClient
from tests.fixtures.service import GlanceServer, run_manage, write_ini

NAMESPACES = "/v2/metadefs/namespaces"
ADMIN_ROLES = "admin,member,reader"
# A resource type of the packaged catalog, which the session server has loaded.
IMAGE_TYPE = "OS::Glance::Image"


@pytest.fixture(scope="session")
def catalog(trusted_server: GlanceServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session database with the packaged catalog loaded; its connection URL."""
    conf = tmp_path_factory.mktemp("manage") / "glance-manage.conf"
    write_ini(conf, {"database": {"connection": trusted_server.database_url}})
    result = run_manage(conf, "db", "load_metadefs")
    assert result.returncode == 0, result.stderr
    return trusted_server.database_url


def json_client(trusted_api: ApiClient) -> ApiClient:
    """Errors answered as JSON, so tests can compare their messages."""
    return ApiClient(trusted_api.base_url, {"Accept": "application/json"})


@pytest.fixture
def admin(trusted_api: ApiClient, catalog: str) -> ApiClient:
    """An admin of project A: the only caller the default policy lets write."""
    return json_client(trusted_api).as_user(PROJECT_A, roles=ADMIN_ROLES)


@pytest.fixture
def reader(trusted_api: ApiClient, catalog: str) -> ApiClient:
    """A member and reader of project B: may read what is public or its own."""
    return json_client(trusted_api).as_user(PROJECT_B)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_namespace(client: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"namespace": unique("ns"), "visibility": "public", **fields}
    response = client.post(NAMESPACES, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def namespace(admin: ApiClient) -> Iterator[str]:
    """A public, unprotected namespace of project A; removed afterwards."""
    name = create_namespace(admin)["namespace"]
    yield name
    admin.put(f"{NAMESPACES}/{name}", json={"namespace": name, "protected": False})
    admin.delete(f"{NAMESPACES}/{name}")
