"""Callers without a project (trusted-auth with no X-Project-Id) own nothing.

Glance's secure-RBAC rules give image calls to project-scoped callers: every project
check (``project_id:%(project_id)s``) must fail for a caller without a project, even
against an image that has no owner either. Images without an owner are made by admins
only (the no-auth pipeline) and stay theirs to manage.
"""

from __future__ import annotations

import pytest

from tests.conftest import PATCH_V21, PROJECT_A, ApiClient, outcome

JSON = {"Accept": "application/json"}


@pytest.fixture
def projectless(trusted_api: ApiClient) -> ApiClient:
    return ApiClient(trusted_api.base_url, JSON).as_user(None, user_id="drifter")


@pytest.fixture
def projectless_admin(trusted_api: ApiClient) -> ApiClient:
    return ApiClient(trusted_api.base_url, JSON).as_user(None, roles="admin,member,reader",
                                                         user_id="operator")


@pytest.fixture
def ownerless(projectless_admin: ApiClient) -> str:
    """A shared image without an owner, as the admin of the no-auth pipeline makes them."""
    image = projectless_admin.create_image(disk_format="raw", container_format="bare")
    assert image["owner"] is None
    return image["id"]


def rename(client: ApiClient, image_id: str):  # noqa: ANN201
    return client.patch(f"/v2/images/{image_id}", headers=PATCH_V21,
                        json=[{"op": "replace", "path": "/name", "value": "renamed"}])


def test_projectless_member_cannot_create_an_image(projectless) -> None:
    response = projectless.post("/v2/images", json={"name": "orphan"})
    assert outcome(response) == (403, "You are not authorized to complete add_image action.")


def test_projectless_member_cannot_create_an_image_under_legacy_defaults(make_server
                                                                         ) -> None:
    server = make_server(paste_flavor="trusted-auth",
                         conf={"oslo_policy": {"enforce_new_defaults": False}})
    projectless = ApiClient(server.url, JSON).as_user(None)
    response = projectless.post("/v2/images", json={"name": "orphan"})
    assert outcome(response) == (403, "You are not authorized to complete add_image action.")


def test_projectless_member_cannot_list_images(projectless) -> None:
    response = projectless.get("/v2/images")
    assert outcome(response) == (403, "You are not authorized to complete get_images action.")


def test_projectless_member_cannot_change_an_image_without_owner(projectless, ownerless
                                                                 ) -> None:
    assert outcome(rename(projectless, ownerless)) == (
        403, "You are not authorized to complete modify_image action.")


def test_projectless_member_cannot_delete_an_image_without_owner(projectless, ownerless
                                                                 ) -> None:
    response = projectless.delete(f"/v2/images/{ownerless}")
    assert outcome(response) == (403, "You are not authorized to complete delete_image action.")


def test_project_named_none_does_not_own_an_image_without_owner(trusted_api, ownerless
                                                                ) -> None:
    # oslo.policy compares strings: a None owner must not read as the project "None".
    caller = ApiClient(trusted_api.base_url, JSON).as_user("None")
    assert outcome(rename(caller, ownerless)) == (
        403, "You are not authorized to complete modify_image action.")


def test_project_member_cannot_change_an_image_without_owner(trusted_api, ownerless
                                                             ) -> None:
    member = ApiClient(trusted_api.base_url, JSON).as_user(PROJECT_A)
    assert outcome(rename(member, ownerless)) == (
        403, "You are not authorized to complete modify_image action.")


def test_admin_changes_an_image_without_owner(projectless_admin, ownerless) -> None:
    response = rename(projectless_admin, ownerless)
    assert (response.status_code, response.json()["name"]) == (200, "renamed")


def test_admin_deletes_an_image_without_owner(projectless_admin, ownerless) -> None:
    assert projectless_admin.delete(f"/v2/images/{ownerless}").status_code == 204
    assert projectless_admin.get(f"/v2/images/{ownerless}").status_code == 404
