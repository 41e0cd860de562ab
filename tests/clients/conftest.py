"""Real OpenStack clients against a running glance_svc, in both auth flavors.

Every client test takes the `cloud` fixture and so runs twice:

* ``noauth``: the default paste flavor. Every caller gets glance_svc's unauthenticated
  context, which is admin with no project, so images have no owner and "sharing" can only
  name a made-up member project that the same admin context then accepts.
* ``keystone``: ``[paste_deploy] flavor = keystone`` with a real Keystone
  (tests/fixtures/keystone.py). The owner is ``demo-a-member`` (role member in demo-a);
  the project images are shared with is demo-b, whose ``demo-b-member`` accepts with its
  own credentials. The CLIs find glance through Keystone's catalog, as in production.

Set-up and verification go over plain HTTP (`Cloud.http`), so each test exercises one
client call and checks what the service really stored, not what the client printed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures.keystone import KeystoneServer, keystone  # noqa: F401 (fixture)
from tests.fixtures.service import GlanceServer

MODES = ("noauth", "keystone")
BIN = Path(sys.executable).parent
OWNER = "owner"
MEMBER = "member"
# In no-auth mode there are no projects; glance_svc accepts any member id string.
NOAUTH_MEMBER_PROJECT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLI_TIMEOUT = 180
IMPORT_TIMEOUT = 60.0
# An odd size, a little over two 128 KiB chunks: off-by-one and last-chunk bugs show.
DATA_SIZE = 300_007


class Http(requests.Session):
    """requests against glance_svc's base URL, carrying the caller's token if any."""

    def __init__(self, base_url: str, token: str | None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        if token:
            self.headers["X-Auth-Token"] = token

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)

    def image(self, image_id: str) -> dict[str, Any]:
        """The image as the service stores it now (asserting it is visible)."""
        response = self.get(f"/v2/images/{image_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def members(self, image_id: str) -> dict[str, str]:
        """member_id -> status of the image's members."""
        response = self.get(f"/v2/images/{image_id}/members")
        assert response.status_code == 200, response.text
        return {m["member_id"]: m["status"] for m in response.json()["members"]}


@dataclass
class ImageData:
    """Bytes written to a file, with the digests glance_svc must report for them."""

    path: Path
    data: bytes
    md5: str = field(init=False)
    sha512: str = field(init=False)

    def __post_init__(self) -> None:
        self.path.write_bytes(self.data)
        self.md5 = hashlib.md5(self.data).hexdigest()
        self.sha512 = hashlib.sha512(self.data).hexdigest()


@dataclass
class Cloud:
    """One glance_svc (in one auth flavor) and how each client reaches it as a given user."""

    mode: str
    server: GlanceServer
    keystone: KeystoneServer | None
    home: Path
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def _user(self, who: str) -> Any:
        assert self.keystone is not None
        return self.keystone.users["demo-a-member" if who == OWNER else "demo-b-member"]

    @property
    def owner_project_id(self) -> str | None:
        """The owner glance_svc records: the token's project, or none without auth."""
        return self._user(OWNER).project_id if self.keystone else None

    @property
    def member_project_id(self) -> str:
        """The project images are shared with."""
        return self._user(MEMBER).project_id if self.keystone else NOAUTH_MEMBER_PROJECT

    def token(self, who: str = OWNER) -> str | None:
        if self.keystone is None:
            return None
        if who not in self._tokens:
            self._tokens[who] = self.keystone.token(self._user(who))
        return self._tokens[who]

    def http(self, who: str = OWNER) -> Http:
        return Http(self.url, self.token(who))

    # -- the clients ----------------------------------------------------------------------

    def cli_env(self, tool: str, who: str = OWNER) -> dict[str, str]:
        """A clean environment (no inherited OS_*, no clouds.yaml) for `openstack`/`glance`."""
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(self.home), "LANG": "C.UTF-8"}
        if self.keystone is not None:
            env.update(self.keystone.os_environ(self._user(who)))
        elif tool == "openstack":
            env.update({"OS_AUTH_TYPE": "none", "OS_ENDPOINT": self.url})
        else:  # the glance CLI insists on a token; the no-auth pipeline ignores it
            env.update({"OS_IMAGE_URL": self.url, "OS_AUTH_TOKEN": "no-auth"})
        return env

    def cli(self, tool: str, *args: str, who: str = OWNER, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        """Run `openstack ...` or `glance ...` as `who`; with check, exit 0 is asserted."""
        result = subprocess.run(
            [str(BIN / tool), *args], env=self.cli_env(tool, who), capture_output=True,
            text=True, timeout=CLI_TIMEOUT, check=False, cwd=self.home,
        )
        if check:
            assert result.returncode == 0, (
                f"{tool} {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def sdk(self, who: str = OWNER) -> Any:
        """An openstacksdk Connection built from arguments only (no clouds.yaml, no env)."""
        from openstack import connection

        if self.keystone is None:
            return connection.Connection(auth_type="none", auth={"endpoint": self.url})
        return connection.Connection(
            auth_type="password", auth=self.keystone.auth_dict(self._user(who)),
            region_name="RegionOne", interface="public",
        )

    def glanceclient(self, who: str = OWNER) -> Any:
        """A python-glanceclient v2 Client; with Keystone it finds glance in the catalog."""
        from glanceclient import Client

        if self.keystone is None:  # the version is taken from the URL, as glanceclient asks
            return Client(endpoint=f"{self.url}/v2")
        return Client("2", session=self.keystone.session(self._user(who)),
                      region_name="RegionOne", interface="public")

    # -- set-up over HTTP ---------------------------------------------------------------------

    def new_name(self) -> str:
        return f"clients-{self.mode}-{uuid.uuid4().hex[:10]}"

    def create_image(self, **fields: Any) -> dict[str, Any]:
        """A queued raw/bare image owned by the owner."""
        body = {"name": self.new_name(), "disk_format": "raw", "container_format": "bare",
                **fields}
        response = self.http().post("/v2/images", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def active_image(self, data: ImageData) -> dict[str, Any]:
        """An active image holding `data`, uploaded with Content-Length."""
        image = self.create_image()
        response = self.http().put(
            f"/v2/images/{image['id']}/file", data=data.data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 204, response.text
        stored = self.http().image(image["id"])
        assert stored["status"] == "active", stored
        return stored

    def assert_holds(self, image_id: str, name: str, data: ImageData) -> None:
        """The image is active, owned by the owner, with `data`'s size and digests."""
        stored = self.http().image(image_id)
        assert (stored["name"], stored["status"]) == (name, "active")
        assert stored["size"] == len(data.data)
        assert stored["checksum"] == data.md5
        assert (stored["os_hash_algo"], stored["os_hash_value"]) == ("sha512", data.sha512)
        assert stored["owner"] == self.owner_project_id

    def wait_for_status(self, image_id: str, status: str,
                        timeout: float = IMPORT_TIMEOUT) -> dict[str, Any]:
        """Poll until the image reaches `status`; return it as last seen either way."""
        deadline = time.monotonic() + timeout
        image = self.http().image(image_id)
        while image["status"] != status and time.monotonic() < deadline:
            time.sleep(0.2)
            image = self.http().image(image_id)
        return image


@pytest.fixture(scope="session")
def glance_noauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    """glance_svc with the default (unauthenticated) pipeline."""
    with GlanceServer(tmp_path_factory.mktemp("clients-noauth")) as server:
        yield server


@pytest.fixture(scope="session")
def glance_keystone(keystone: KeystoneServer,  # noqa: F811
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    """glance_svc with `flavor = keystone`, registered in Keystone's catalog as `image`."""
    conf = {"keystone_authtoken": keystone.authtoken_options()}
    with GlanceServer(tmp_path_factory.mktemp("clients-keystone"), conf,
                      paste_flavor="keystone") as server:
        keystone.register_image_endpoint(server.url)
        yield server


@pytest.fixture(scope="session", params=MODES)
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Cloud:
    """The service under test in one auth flavor; tests run once per flavor."""
    home = tmp_path_factory.mktemp(f"clients-home-{request.param}")
    if request.param == "noauth":
        return Cloud("noauth", request.getfixturevalue("glance_noauth"), None, home)
    server = request.getfixturevalue("glance_keystone")
    return Cloud("keystone", server, request.getfixturevalue("keystone"), home)


@pytest.fixture(scope="session")
def keystone_cloud(glance_keystone: GlanceServer, keystone: KeystoneServer,  # noqa: F811
                   tmp_path_factory: pytest.TempPathFactory) -> Cloud:
    """The keystone flavor alone, for behaviours that need real projects to exist."""
    home = tmp_path_factory.mktemp("clients-home-keystone-only")
    return Cloud("keystone", glance_keystone, keystone, home)


@pytest.fixture
def image_data(tmp_path: Path) -> ImageData:
    """Random bytes in a file (random, so a wrong byte anywhere changes the digests)."""
    return ImageData(tmp_path / "image.raw", os.urandom(DATA_SIZE))
