"""PATCH /v2/images/{id} over HTTP (spec §3.4): both media types and the rule table."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PATCH_V21, ApiClient

PATCH_V20 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
JSON_ACCEPT = {"Accept": "application/json"}


@pytest.fixture
def image(api: ApiClient) -> dict[str, Any]:
    return api.create_image(name="before", foo="bar")


def patch(api: ApiClient, image_id: str, ops: Any, headers: dict[str, str] = PATCH_V21):  # noqa: ANN201
    return api.patch(f"/v2/images/{image_id}", json=ops, headers={**JSON_ACCEPT, **headers})


def outcome(response) -> tuple[int, str]:  # noqa: ANN001
    return response.status_code, response.json()["message"].split("<br")[0]


def rep(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


def test_replace_answers_200_with_the_full_image(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [rep("/name", "after")])
    body = response.json()
    assert (response.status_code, body["name"], body["foo"], body["id"]) == \
        (200, "after", "bar", image["id"])


def test_change_is_stored(api: ApiClient, image) -> None:
    patch(api, image["id"], [rep("/name", "after")])
    assert api.get(f"/v2/images/{image['id']}").json()["name"] == "after"


def test_v20_media_type(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"replace": "/name", "value": "old-style"}], PATCH_V20)
    assert (response.status_code, response.json()["name"]) == (200, "old-style")


def test_other_media_type_is_415_with_accept_patch(api: ApiClient, image) -> None:
    response = api.patch(f"/v2/images/{image['id']}", json=[],
                         headers={"Content-Type": "application/json"})
    assert (response.status_code, response.headers["Accept-Patch"]) == (415, (
        "application/openstack-images-v2.0-json-patch, "
        "application/openstack-images-v2.1-json-patch"))


def test_sdk_style_empty_accept_gets_json(api: ApiClient, image) -> None:
    response = api.patch(f"/v2/images/{image['id']}", json=[rep("/min_ram", 512)],
                         headers={**PATCH_V21, "Accept": None})
    assert (response.status_code, response.json()["min_ram"]) == (200, 512)


def test_add_custom_property(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"op": "add", "path": "/os_distro", "value": "deb"}])
    assert response.json()["os_distro"] == "deb"


def test_add_on_existing_property_replaces(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"op": "add", "path": "/foo", "value": "baz"}])
    assert (response.status_code, response.json()["foo"]) == (200, "baz")


def test_add_on_existing_property_with_v20_is_409(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"add": "/foo", "value": "baz"}], PATCH_V20)
    assert outcome(response) == (409, "Property foo already present.")


def test_remove_custom_property(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"op": "remove", "path": "/foo"}])
    assert "foo" not in response.json()


def test_replace_missing_property_is_409(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], [rep("/nope", "x")])) == \
        (409, "Property nope does not exist.")


def test_remove_missing_property_is_409(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], [{"op": "remove", "path": "/nope"}])) == \
        (409, "Property nope does not exist.")


def test_remove_base_property_is_403(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], [{"op": "remove", "path": "/min_ram"}])) == \
        (403, "Property min_ram may not be removed.")


def test_read_only_property_is_403(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], [rep("/status", "active")])) == \
        (403, "Attribute 'status' is read-only.")


def test_reserved_property_is_403(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], [rep("/deleted", "x")])) == \
        (403, "Attribute 'deleted' is reserved.")


def test_tags_append_pointer_is_400(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"op": "add", "path": "/tags/-", "value": "t"}])
    assert outcome(response) == (400, "Invalid JSON pointer for this resource: '/tags/-'")


def test_move_operation_is_400(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [{"op": "move", "from": "/foo", "path": "/bar"}])
    assert response.status_code == 400


def test_wrong_type_is_400(api: ApiClient, image) -> None:
    assert patch(api, image["id"], [rep("/min_ram", "512")]).status_code == 400


def test_body_must_be_an_array(api: ApiClient, image) -> None:
    assert outcome(patch(api, image["id"], {"op": "replace"})) == \
        (400, "Request body must be a JSON array of operation objects.")


def test_name_may_be_set_to_null(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [rep("/name", None)])
    assert (response.status_code, response.json()["name"]) == (200, None)


def test_tags_replace_is_deduplicated(api: ApiClient, image) -> None:
    response = patch(api, image["id"], [rep("/tags", ["a", "b", "a"])])
    assert sorted(response.json()["tags"]) == ["a", "b"]


def test_visibility_change_by_admin(api: ApiClient, image) -> None:
    assert patch(api, image["id"], [rep("/visibility", "public")]).json()["visibility"] == \
        "public"


def test_disk_format_of_active_image_is_403(api: ApiClient) -> None:
    active = api.active_image()
    assert outcome(patch(api, active["id"], [rep("/disk_format", "qcow2")])) == \
        (403, "Attribute disk_format can be only replaced for a queued image.")


def test_locations_hidden_by_default_is_403(api: ApiClient, image) -> None:
    ops = [{"op": "add", "path": "/locations/-", "value": {"url": "http://x/y",
                                                           "metadata": {}}}]
    assert patch(api, image["id"], ops).status_code == 403


def test_unknown_image_is_404(api: ApiClient) -> None:
    response = patch(api, "94867a1d-e8db-440f-8384-703f0f3b93d8", [rep("/name", "x")])
    assert response.status_code == 404


def test_new_property_over_quota_is_413(make_server) -> None:
    client = ApiClient(make_server(conf={"DEFAULT": {"image_property_quota": 1}}).url)
    image_id = client.create_image(a="1")["id"]
    response = patch(client, image_id, [{"op": "add", "path": "/b", "value": "2"}])
    assert response.status_code == 413


def test_operations_are_applied_in_order(api: ApiClient, image) -> None:
    ops = [{"op": "add", "path": "/x", "value": "1"}, rep("/x", "2"),
           {"op": "remove", "path": "/foo"}]
    body = patch(api, image["id"], ops).json()
    assert (body["x"], "foo" in body) == ("2", False)
