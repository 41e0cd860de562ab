"""``locations`` and ``direct_url`` show only to callers that pass ``get_image_location``.

With ``show_multiple_locations`` and ``show_image_direct_url`` on, Glance's views give
a caller that may not read an image's locations ``locations: []`` and no ``direct_url``:
a store path (``file:///var/lib/glance/images/<id>``) says where the data lives on the
API hosts. Under the default rules the owner's readers, admins and the service user
acting in the owning project see them; readers of other projects do not, even of a
public image.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import PROJECT_A, PROJECT_B, ApiClient, trusted_server_with
from tests.fixtures.service import GlanceServer

SHOW_LOCATIONS = {"DEFAULT": {"show_multiple_locations": True, "show_image_direct_url": True}}


@pytest.fixture(scope="module")
def showing_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[GlanceServer]:
    yield from trusted_server_with(SHOW_LOCATIONS, database_url, tmp_path_factory)


@pytest.fixture
def client(showing_server: GlanceServer) -> ApiClient:
    return ApiClient(showing_server.url)


@pytest.fixture
def public_image(client: ApiClient) -> dict[str, Any]:
    """A public image of project A with data in the file store, tagged uniquely."""
    admin_a = client.as_user(PROJECT_A, roles="admin,member,reader")
    return admin_a.active_image(visibility="public", tags=[uuid.uuid4().hex])


def store_path(server: GlanceServer, image: dict[str, Any]) -> str:
    return f"file://{server.images_dir}/{image['id']}"


def where(api: ApiClient, image: dict[str, Any]) -> tuple[Any, Any]:
    """What GET /v2/images/{id} tells ``api`` of the image's data: locations, direct_url."""
    body = api.get(f"/v2/images/{image['id']}").json()
    return body["locations"], body.get("direct_url")


def where_in_list(api: ApiClient, image: dict[str, Any]) -> tuple[Any, Any]:
    """The same, from the image list."""
    [body] = api.get("/v2/images", params={"tag": image["tags"][0]}).json()["images"]
    return body["locations"], body.get("direct_url")


def test_reader_of_another_project_sees_no_store_path_of_a_public_image(
        client, public_image) -> None:
    reader_b = client.as_user(PROJECT_B, roles="reader")
    assert where(reader_b, public_image) == ([], None)


def test_member_of_another_project_sees_no_store_path_in_the_list(client, public_image
                                                                   ) -> None:
    member_b = client.as_user(PROJECT_B)
    assert where_in_list(member_b, public_image) == ([], None)


def test_reader_of_the_owning_project_sees_the_store_path(client, showing_server,
                                                          public_image) -> None:
    reader_a = client.as_user(PROJECT_A, roles="reader")
    url = store_path(showing_server, public_image)
    assert where(reader_a, public_image) == ([{"url": url, "metadata": {}}], url)


def test_owner_sees_the_store_path_in_the_list(client, showing_server, public_image
                                               ) -> None:
    member_a = client.as_user(PROJECT_A)
    url = store_path(showing_server, public_image)
    assert where_in_list(member_a, public_image) == ([{"url": url, "metadata": {}}], url)


def test_admin_of_another_project_sees_the_store_path(client, showing_server, public_image
                                                      ) -> None:
    admin_b = client.as_user(PROJECT_B, roles="admin,member,reader")
    url = store_path(showing_server, public_image)
    assert where(admin_b, public_image) == ([{"url": url, "metadata": {}}], url)


def test_service_user_in_the_owning_project_sees_the_store_path(
        client, showing_server, public_image) -> None:
    nova = client.as_user(PROJECT_A, roles="service,reader", user_id="nova")
    url = store_path(showing_server, public_image)
    assert where(nova, public_image) == ([{"url": url, "metadata": {}}], url)


def test_a_policy_file_may_show_them_to_everyone(make_server) -> None:
    server = make_server(SHOW_LOCATIONS, paste_flavor="trusted-auth")
    server.stop()
    (server.workdir / "policy.yaml").write_text('"get_image_location": ""\n')
    server.start()
    client = ApiClient(server.url)
    image = client.as_user(PROJECT_A, roles="admin,member,reader").active_image(
        visibility="public")
    reader_b = client.as_user(PROJECT_B, roles="reader")
    url = store_path(server, image)
    assert where(reader_b, image) == ([{"url": url, "metadata": {}}], url)
