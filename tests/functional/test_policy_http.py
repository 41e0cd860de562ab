"""Secure-RBAC defaults over HTTP (spec §8): reader / member / admin personas in two
projects, through the trusted-auth flavor (identity headers trusted as sent)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PATCH_V21, PROJECT_A, PROJECT_B, ApiClient

JSON = {"Accept": "application/json"}


@pytest.fixture
def member_a(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A, roles="member,reader")


@pytest.fixture
def reader_a(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A, roles="reader")


@pytest.fixture
def member_b(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_B, roles="member,reader")


@pytest.fixture
def admin_b(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_B, roles="admin,member,reader")


@pytest.fixture
def private_a(member_a: ApiClient) -> dict[str, Any]:
    return member_a.create_image(visibility="private")


def outcome(response) -> tuple[int, str]:  # noqa: ANN001
    return response.status_code, response.json()["message"].split("<br")[0]


def rename(client: ApiClient, image_id: str):  # noqa: ANN201
    return client.patch(f"/v2/images/{image_id}", headers={**PATCH_V21, **JSON},
                        json=[{"op": "replace", "path": "/name", "value": "renamed"}])


def test_member_creates_images_owned_by_its_project(member_a: ApiClient) -> None:
    assert member_a.create_image()["owner"] == PROJECT_A


def test_reader_cannot_create(reader_a: ApiClient) -> None:
    response = reader_a.post("/v2/images", json={}, headers=JSON)
    assert outcome(response) == (403, "You are not authorized to complete add_image action.")


def test_member_cannot_create_for_another_project(member_a: ApiClient) -> None:
    response = member_a.post("/v2/images", json={"owner": PROJECT_B}, headers=JSON)
    assert outcome(response) == \
        (403, f"You are not permitted to create images owned by '{PROJECT_B}'.")


def test_admin_creates_for_another_project(admin_b: ApiClient) -> None:
    assert admin_b.create_image(owner=PROJECT_A)["owner"] == PROJECT_A


def test_member_cannot_create_public_images(member_a: ApiClient) -> None:
    response = member_a.post("/v2/images", json={"visibility": "public"}, headers=JSON)
    assert outcome(response) == \
        (403, "You are not authorized to complete publicize_image action.")


def test_reader_lists_and_shows(reader_a: ApiClient, private_a) -> None:
    assert (reader_a.get("/v2/images").status_code,
            reader_a.get(f"/v2/images/{private_a['id']}").status_code) == (200, 200)


def test_reader_cannot_modify(reader_a: ApiClient, private_a) -> None:
    assert outcome(rename(reader_a, private_a["id"])) == \
        (403, "You are not authorized to complete modify_image action.")


def test_reader_cannot_delete(reader_a: ApiClient, private_a) -> None:
    response = reader_a.delete(f"/v2/images/{private_a['id']}", headers=JSON)
    assert outcome(response) == (403, "You are not authorized to complete delete_image action.")


def test_reader_cannot_download(member_a: ApiClient, reader_a: ApiClient) -> None:
    image_id = member_a.active_image()["id"]
    assert reader_a.get(f"/v2/images/{image_id}/file").status_code == 403


def test_reader_cannot_tag(reader_a: ApiClient, private_a) -> None:
    assert reader_a.put(f"/v2/images/{private_a['id']}/tags/x").status_code == 403


def test_other_project_gets_404_on_a_private_image(member_b: ApiClient, private_a) -> None:
    image_id = private_a["id"]
    assert {member_b.get(f"/v2/images/{image_id}").status_code,
            rename(member_b, image_id).status_code,
            member_b.delete(f"/v2/images/{image_id}").status_code,
            member_b.put(f"/v2/images/{image_id}/tags/x").status_code} == {404}


def test_other_project_gets_403_on_a_public_image(member_b: ApiClient,
                                                  admin_b: ApiClient) -> None:
    image_id = admin_b.create_image(owner=PROJECT_A, visibility="public")["id"]
    assert (member_b.get(f"/v2/images/{image_id}").status_code,
            rename(member_b, image_id).status_code) == (200, 403)


def test_admin_modifies_any_projects_image(admin_b: ApiClient, private_a) -> None:
    assert rename(admin_b, private_a["id"]).status_code == 200


def test_member_cannot_deactivate_another_projects_public_image(member_b: ApiClient,
                                                                admin_b: ApiClient) -> None:
    image_id = admin_b.active_image(owner=PROJECT_A, visibility="public")["id"]
    response = member_b.post(f"/v2/images/{image_id}/actions/deactivate", headers=JSON)
    assert outcome(response) == (403, "You are not authorized to complete deactivate action.")


def test_deactivated_image_hides_data_from_non_admins(member_a: ApiClient,
                                                      admin_b: ApiClient) -> None:
    image_id = member_a.active_image()["id"]
    member_a.post(f"/v2/images/{image_id}/actions/deactivate")
    assert (member_a.get(f"/v2/images/{image_id}/file").status_code,
            admin_b.get(f"/v2/images/{image_id}/file").status_code) == (403, 200)


def test_no_roles_cannot_list(trusted_api: ApiClient) -> None:
    response = trusted_api.as_user(PROJECT_A, roles="").get("/v2/images", headers=JSON)
    assert outcome(response) == (403, "You are not authorized to complete get_images action.")


def test_role_names_are_case_insensitive(trusted_api: ApiClient) -> None:
    client = trusted_api.as_user(PROJECT_A, roles="Member,READER")
    assert client.post("/v2/images", json={}).status_code == 201


def test_system_scoped_admin_is_refused(trusted_api: ApiClient) -> None:
    response = trusted_api.get("/v2/images", headers={
        "X-Identity-Status": "Confirmed", "X-Roles": "admin,member,reader",
        "OpenStack-System-Scope": "all"})
    assert response.status_code == 403


def test_missing_identity_is_401(trusted_api: ApiClient) -> None:
    response = trusted_api.get("/v2/images", headers={"X-Identity-Status": "Invalid"})
    assert response.status_code == 401


def test_policy_file_overrides_a_default(make_server) -> None:
    server = make_server(paste_flavor="trusted-auth")
    server.stop()
    (server.workdir / "policy.yaml").write_text('"add_image": "role:creator"\n')
    server.start()
    client = ApiClient(server.url)
    creator = client.as_user(PROJECT_A, roles="creator,reader")
    member = client.as_user(PROJECT_A, roles="member,reader")
    assert (creator.post("/v2/images", json={}).status_code,
            member.post("/v2/images", json={}).status_code) == (201, 403)


def test_legacy_defaults_let_roleless_owners_work(make_server) -> None:
    server = make_server(paste_flavor="trusted-auth",
                         conf={"oslo_policy": {"enforce_new_defaults": False}})
    owner = ApiClient(server.url).as_user(PROJECT_A, roles="")
    image_id = owner.create_image()["id"]
    assert rename(owner, image_id).status_code == 200


def test_legacy_defaults_still_check_ownership(make_server) -> None:
    server = make_server(paste_flavor="trusted-auth",
                         conf={"oslo_policy": {"enforce_new_defaults": False}})
    client = ApiClient(server.url)
    image_id = client.as_user(PROJECT_A, roles="").create_image(visibility="community")["id"]
    assert outcome(rename(client.as_user(PROJECT_B, roles=""), image_id)) == \
        (403, "You do not own this image")
