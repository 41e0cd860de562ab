"""POST /v2/images/{id}/actions/{deactivate,reactivate} over HTTP (spec §3.1, §5.2)."""

from __future__ import annotations

from tests.conftest import ApiClient

JSON = {"Accept": "application/json"}


def action(api: ApiClient, image_id: str, name: str):  # noqa: ANN201
    return api.post(f"/v2/images/{image_id}/actions/{name}", headers=JSON)


def status(api: ApiClient, image_id: str) -> str:
    return api.get(f"/v2/images/{image_id}").json()["status"]


def test_deactivate_answers_204(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    response = action(api, image_id, "deactivate")
    assert (response.status_code, status(api, image_id)) == (204, "deactivated")


def test_deactivate_twice_is_a_no_op(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    action(api, image_id, "deactivate")
    assert action(api, image_id, "deactivate").status_code == 204


def test_reactivate(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    action(api, image_id, "deactivate")
    response = action(api, image_id, "reactivate")
    assert (response.status_code, status(api, image_id)) == (204, "active")


def test_reactivate_active_image_is_a_no_op(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    assert action(api, image_id, "reactivate").status_code == 204


def test_deactivate_queued_image_is_403(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = action(api, image_id, "deactivate")
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (403, "Not allowed to deactivate image in status 'queued'")


def test_reactivate_queued_image_is_403(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert action(api, image_id, "reactivate").status_code == 403


def test_action_with_a_body_is_400(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    response = api.post(f"/v2/images/{image_id}/actions/deactivate", json={"x": 1})
    assert response.status_code == 400


def test_unknown_image_is_404(api: ApiClient) -> None:
    response = action(api, "94867a1d-e8db-440f-8384-703f0f3b93d8", "deactivate")
    assert response.status_code == 404


def test_admin_still_downloads_a_deactivated_image(api: ApiClient) -> None:
    image_id = api.active_image(data=b"abc")["id"]
    action(api, image_id, "deactivate")
    response = api.get(f"/v2/images/{image_id}/file")
    assert (response.status_code, response.content) == (200, b"abc")
