"""Fixtures shared by the whole suite: real glance-api servers and an HTTP client.

The database the functional suite runs on comes from GLANCE_TEST_DATABASES, a comma list
of ``sqlite`` and ``mariadb`` (default ``sqlite``); with both, every test using
``database_url`` runs twice. ``mariadb`` starts a real MariaDB server (tests/fixtures/mariadb.py).

Session servers are shared: tests using them must not assume an empty image list (filter
by a unique tag or name), or they must use ``make_server`` for a server of their own.
"""

from __future__ import annotations

import html
import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.service import GlanceServer

DATABASES = [d.strip() for d in os.environ.get("GLANCE_TEST_DATABASES", "sqlite").split(",")
             if d.strip()]
_db_counter = itertools.count()

PROJECT_A = "a" * 32
PROJECT_B = "b" * 32
PROJECT_C = "c" * 32


class ApiClient:
    """requests with a base URL and, for the trusted-auth flavor, identity headers."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.session = requests.Session()

    def as_user(self, project_id: str | None, roles: str = "member,reader",
                user_id: str | None = None) -> ApiClient:
        """A client whose requests carry the headers keystonemiddleware would set."""
        headers = {"X-Identity-Status": "Confirmed", "X-Roles": roles,
                   "X-User-Id": user_id or f"user-{project_id or 'none'}"}
        if project_id:
            headers["X-Project-Id"] = project_id
        return ApiClient(self.base_url, {**self.headers, **headers})

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.session.request(method, self.base_url + path, headers=headers,
                                    timeout=kwargs.pop("timeout", 60), **kwargs)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # -- shortcuts for setting up a test ----------------------------------------------
    def create_image(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", f"test-{uuid.uuid4().hex[:8]}")
        response = self.post("/v2/images", json=fields)
        assert response.status_code == 201, response.text
        return response.json()

    def upload(self, image_id: str, data: bytes, **headers: str) -> requests.Response:
        return self.put(f"/v2/images/{image_id}/file", data=data,
                        headers={"Content-Type": "application/octet-stream", **headers})

    def wait_for(self, image_id: str, done: Callable[[dict[str, Any]], bool],
                 timeout: float = 60) -> dict[str, Any]:
        """Poll the image until ``done(image)`` or the timeout; return the last image seen."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.get(f"/v2/images/{image_id}").json()
            if done(image) or time.monotonic() > deadline:
                return image
            time.sleep(0.1)

    def active_image(self, data: bytes = b"\0" * 1024, **fields: Any) -> dict[str, Any]:
        fields.setdefault("disk_format", "raw")
        fields.setdefault("container_format", "bare")
        image = self.create_image(**fields)
        response = self.upload(image["id"], data)
        assert response.status_code == 204, response.text
        return self.get(f"/v2/images/{image['id']}").json()


def import_settled(image: dict[str, Any]) -> bool:
    """An import finished: its lock is released and the image left ``importing``."""
    return "os_glance_import_task" not in image and image["status"] != "importing"


def error_text(response: requests.Response) -> str:
    """An error body with WebOb's HTML escaping undone, for message assertions."""
    return html.unescape(response.text)


def outcome(response: requests.Response) -> tuple[int, str]:
    """Status and message of an answer asked for as JSON (``Accept: application/json``)."""
    return response.status_code, response.json()["message"].split("<br")[0]


PATCH_V21 = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database for one session server."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "glance.sqlite"
        yield f"sqlite:///{path}"
        return
    if request.param == "mariadb":
        mariadb = request.getfixturevalue("mariadb_server")
        yield mariadb.create_database(f"glance_func_{next(_db_counter)}")
        return
    raise ValueError(f"unknown test database {request.param!r}")


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.fixtures.mariadb import MariaDBServer

    with MariaDBServer(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[GlanceServer]:
    """A no-auth glance-api shared by the session (every caller is admin)."""
    with GlanceServer(tmp_path_factory.mktemp("glance-noauth"),
                      database_url=database_url) as srv:
        yield srv


def trusted_server_with(conf: dict[str, dict[str, Any]] | None, database_url: str,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    """A trusted-auth glance-api with ``conf`` on ``database_url``, for as long as the
    generator runs: the body of a module fixture that needs options of its own."""
    with GlanceServer(tmp_path_factory.mktemp("glance-trusted"), conf,
                      paste_flavor="trusted-auth", database_url=database_url) as srv:
        yield srv


@pytest.fixture(scope="session")
def trusted_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[GlanceServer]:
    """A glance-api that trusts identity headers (the trusted-auth flavor): policy tests
    choose the caller's project and roles per request."""
    yield from trusted_server_with(None, database_url, tmp_path_factory)


@pytest.fixture
def api(server: GlanceServer) -> ApiClient:
    return ApiClient(server.url)


@pytest.fixture
def trusted_api(trusted_server: GlanceServer) -> ApiClient:
    return ApiClient(trusted_server.url)


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., GlanceServer]]:
    """Start a server with its own config: ``make_server(conf={...}, paste_flavor=...)``."""
    started: list[GlanceServer] = []

    def _make(conf: dict[str, dict[str, Any]] | None = None, **kwargs: Any) -> GlanceServer:
        srv = GlanceServer(tmp_path / f"glance-{len(started)}", conf, **kwargs)
        srv.start()
        started.append(srv)
        return srv

    yield _make
    for srv in started:
        srv.stop()
