"""Image sharing over HTTP (spec §3.7) with two projects through trusted identity headers:
the owner shares, the member sees, accepts, lists; every refusal as Glance answers it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import PROJECT_A, PROJECT_B, PROJECT_C, ApiClient

JSON = {"Accept": "application/json"}


@pytest.fixture
def owner(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A)


@pytest.fixture
def member(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_B)


@pytest.fixture
def stranger(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_C)


@pytest.fixture
def tag() -> str:
    return f"m-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def image(owner: ApiClient, tag: str) -> dict[str, Any]:
    return owner.create_image(tags=[tag])


@pytest.fixture
def shared(owner: ApiClient, image: dict[str, Any]) -> str:
    response = owner.post(f"/v2/images/{image['id']}/members", json={"member": PROJECT_B})
    assert response.status_code == 200, response.text
    return image["id"]


def outcome(response) -> tuple[int, str]:  # noqa: ANN001
    return response.status_code, response.json()["message"].split("<br")[0]


def listed_ids(client: ApiClient, query: str) -> list[str]:
    return [i["id"] for i in client.get(f"/v2/images?{query}").json()["images"]]


def test_add_member_answers_200_with_the_member(owner: ApiClient, image) -> None:
    response = owner.post(f"/v2/images/{image['id']}/members", json={"member": PROJECT_B})
    body = response.json()
    assert (response.status_code, body["member_id"], body["image_id"], body["status"],
            body["schema"], sorted(body)) == (
        200, PROJECT_B, image["id"], "pending", "/v2/schemas/member",
        ["created_at", "image_id", "member_id", "schema", "status", "updated_at"])


def test_duplicate_member_is_409(owner: ApiClient, shared: str) -> None:
    response = owner.post(f"/v2/images/{shared}/members", json={"member": PROJECT_B},
                          headers=JSON)
    assert outcome(response) == (409, f"Member {PROJECT_B} is duplicated for image {shared}")


def test_missing_member_in_body_is_400(owner: ApiClient, image) -> None:
    response = owner.post(f"/v2/images/{image['id']}/members", json={}, headers=JSON)
    assert outcome(response) == (400, "Member to be added not specified")


def test_empty_member_is_400(owner: ApiClient, image) -> None:
    response = owner.post(f"/v2/images/{image['id']}/members", json={"member": ""},
                          headers=JSON)
    assert outcome(response) == (400, "Member can't be empty")


def test_private_image_cannot_have_members(owner: ApiClient) -> None:
    image_id = owner.create_image(visibility="private")["id"]
    response = owner.post(f"/v2/images/{image_id}/members", json={"member": PROJECT_B},
                          headers=JSON)
    assert outcome(response) == (403, (
        f"Not allowed to create members for image {image_id}: "
        "Only shared images have members."))


def test_member_quota_is_413(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"image_member_quota": 1}},
                         paste_flavor="trusted-auth")
    client = ApiClient(server.url).as_user(PROJECT_A)
    image_id = client.create_image()["id"]
    client.post(f"/v2/images/{image_id}/members", json={"member": PROJECT_B})
    response = client.post(f"/v2/images/{image_id}/members", json={"member": PROJECT_C})
    assert response.status_code == 413


def test_pending_member_can_already_show_the_image(member: ApiClient, shared: str) -> None:
    assert member.get(f"/v2/images/{shared}").status_code == 200


def test_pending_share_is_not_in_the_default_list(member: ApiClient, shared: str,
                                                  tag: str) -> None:
    assert listed_ids(member, f"tag={tag}") == []


def test_pending_share_is_listed_with_member_status(member: ApiClient, shared: str,
                                                    tag: str) -> None:
    assert listed_ids(member, f"tag={tag}&member_status=pending") == [shared]


def test_accepted_share_is_in_the_default_list(member: ApiClient, shared: str,
                                               tag: str) -> None:
    response = member.put(f"/v2/images/{shared}/members/{PROJECT_B}",
                          json={"status": "accepted"})
    assert (response.status_code, response.json()["status"],
            listed_ids(member, f"tag={tag}")) == (200, "accepted", [shared])


def test_rejected_share_leaves_the_list(member: ApiClient, shared: str, tag: str) -> None:
    member.put(f"/v2/images/{shared}/members/{PROJECT_B}", json={"status": "rejected"})
    assert listed_ids(member, f"tag={tag}") == []


def test_invalid_status_is_400(member: ApiClient, shared: str) -> None:
    response = member.put(f"/v2/images/{shared}/members/{PROJECT_B}",
                          json={"status": "maybe"}, headers=JSON)
    assert response.status_code == 400


def test_missing_status_is_400(member: ApiClient, shared: str) -> None:
    response = member.put(f"/v2/images/{shared}/members/{PROJECT_B}", json={},
                          headers=JSON)
    assert outcome(response) == (400, "Status not specified")


def test_owner_cannot_accept_for_the_member(owner: ApiClient, shared: str) -> None:
    response = owner.put(f"/v2/images/{shared}/members/{PROJECT_B}",
                         json={"status": "accepted"}, headers=JSON)
    assert outcome(response) == (403, (
        f"Not allowed to update members for image {shared}: "
        "You are not authorized to complete modify_member action."))


def test_owner_lists_every_member(owner: ApiClient, shared: str) -> None:
    owner.post(f"/v2/images/{shared}/members", json={"member": PROJECT_C})
    body = owner.get(f"/v2/images/{shared}/members").json()
    assert (sorted(m["member_id"] for m in body["members"]), body["schema"]) == \
        (sorted([PROJECT_B, PROJECT_C]), "/v2/schemas/members")


def test_member_sees_only_its_own_row(owner: ApiClient, member: ApiClient,
                                      shared: str) -> None:
    owner.post(f"/v2/images/{shared}/members", json={"member": PROJECT_C})
    body = member.get(f"/v2/images/{shared}/members").json()
    assert [m["member_id"] for m in body["members"]] == [PROJECT_B]


def test_member_shows_its_own_row(member: ApiClient, shared: str) -> None:
    response = member.get(f"/v2/images/{shared}/members/{PROJECT_B}")
    assert (response.status_code, response.json()["member_id"]) == (200, PROJECT_B)


def test_member_show_of_another_row_is_404(owner: ApiClient, member: ApiClient,
                                           shared: str) -> None:
    owner.post(f"/v2/images/{shared}/members", json={"member": PROJECT_C})
    assert member.get(f"/v2/images/{shared}/members/{PROJECT_C}").status_code == 404


def test_member_show_on_private_image_is_404(owner: ApiClient) -> None:
    image_id = owner.create_image(visibility="private")["id"]
    assert owner.get(f"/v2/images/{image_id}/members/{PROJECT_B}").status_code == 404


def test_member_cannot_remove_itself(member: ApiClient, shared: str) -> None:
    response = member.delete(f"/v2/images/{shared}/members/{PROJECT_B}", headers=JSON)
    assert outcome(response) == (403, (
        f"Not allowed to delete members for image {shared}: "
        "You are not authorized to complete delete_member action."))


def test_owner_removes_a_member(owner: ApiClient, member: ApiClient, shared: str) -> None:
    response = owner.delete(f"/v2/images/{shared}/members/{PROJECT_B}")
    assert (response.status_code, member.get(f"/v2/images/{shared}").status_code) == \
        (204, 404)


def test_member_cannot_add_members(member: ApiClient, shared: str) -> None:
    response = member.post(f"/v2/images/{shared}/members", json={"member": PROJECT_C})
    assert response.status_code == 403


def test_member_gets_403_not_404_on_patch(member: ApiClient, shared: str) -> None:
    response = member.patch(f"/v2/images/{shared}",
                            json=[{"op": "replace", "path": "/name", "value": "x"}],
                            headers={"Content-Type":
                                     "application/openstack-images-v2.1-json-patch"})
    assert response.status_code == 403


def test_member_gets_403_not_404_on_delete(member: ApiClient, shared: str) -> None:
    assert member.delete(f"/v2/images/{shared}").status_code == 403


def test_stranger_gets_404_everywhere(stranger: ApiClient, shared: str) -> None:
    codes = {stranger.get(f"/v2/images/{shared}").status_code,
             stranger.get(f"/v2/images/{shared}/members").status_code,
             stranger.post(f"/v2/images/{shared}/members",
                           json={"member": PROJECT_C}).status_code,
             stranger.delete(f"/v2/images/{shared}").status_code}
    assert codes == {404}


def test_member_downloads_shared_data(owner: ApiClient, member: ApiClient) -> None:
    image_id = owner.active_image(data=b"shared bytes")["id"]
    owner.post(f"/v2/images/{image_id}/members", json={"member": PROJECT_B})
    assert member.get(f"/v2/images/{image_id}/file").content == b"shared bytes"


def test_making_the_image_private_stops_the_share(owner: ApiClient, member: ApiClient,
                                                  shared: str) -> None:
    owner.patch(f"/v2/images/{shared}",
                json=[{"op": "replace", "path": "/visibility", "value": "private"}],
                headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert member.get(f"/v2/images/{shared}").status_code == 404
