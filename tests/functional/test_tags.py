"""PUT/DELETE /v2/images/{id}/tags/{tag} over HTTP (spec §3.1)."""

from __future__ import annotations

from tests.conftest import ApiClient

JSON = {"Accept": "application/json"}


def tags_of(api: ApiClient, image_id: str) -> list[str]:
    return sorted(api.get(f"/v2/images/{image_id}").json()["tags"])


def test_add_tag_answers_204(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.put(f"/v2/images/{image_id}/tags/web")
    assert (response.status_code, tags_of(api, image_id)) == (204, ["web"])


def test_add_tag_is_idempotent(api: ApiClient) -> None:
    image_id = api.create_image(tags=["web"])["id"]
    response = api.put(f"/v2/images/{image_id}/tags/web")
    assert (response.status_code, tags_of(api, image_id)) == (204, ["web"])


def test_tag_with_spaces_and_unicode(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    api.put(f"/v2/images/{image_id}/tags/caf%C3%A9%20bar")
    assert tags_of(api, image_id) == ["café bar"]


def test_tag_over_255_characters_is_400(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.put(f"/v2/images/{image_id}/tags/{'t' * 256}").status_code == 400


def test_tag_of_255_characters_is_fine(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.put(f"/v2/images/{image_id}/tags/{'t' * 255}").status_code == 204


def test_body_on_tag_put_is_400(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.put(f"/v2/images/{image_id}/tags/web", data=b"x", headers=JSON)
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (400, "A body is not expected with this request.")


def test_delete_tag_answers_204(api: ApiClient) -> None:
    image_id = api.create_image(tags=["a", "b"])["id"]
    response = api.delete(f"/v2/images/{image_id}/tags/a")
    assert (response.status_code, tags_of(api, image_id)) == (204, ["b"])


def test_delete_absent_tag_is_404(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.delete(f"/v2/images/{image_id}/tags/none").status_code == 404


def test_tag_on_unknown_image_is_404(api: ApiClient) -> None:
    response = api.put("/v2/images/94867a1d-e8db-440f-8384-703f0f3b93d8/tags/x")
    assert response.status_code == 404


def test_tag_quota_is_413(make_server) -> None:
    client = ApiClient(make_server(conf={"DEFAULT": {"image_tag_quota": 1}}).url)
    image_id = client.create_image(tags=["a"])["id"]
    response = client.put(f"/v2/images/{image_id}/tags/b", headers=JSON)
    assert (response.status_code, response.json()["message"].split("<br")[0]) == (413, (
        "The limit has been exceeded on the number of allowed image tags. "
        "Attempted: 2, Maximum: 1"))


def test_tag_changes_updated_at_only_when_added(api: ApiClient) -> None:
    image = api.create_image(tags=["a"])
    api.put(f"/v2/images/{image['id']}/tags/a")
    assert api.get(f"/v2/images/{image['id']}").json()["updated_at"] == image["updated_at"]
