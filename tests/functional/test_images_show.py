"""GET /v2/images/{id} over HTTP (spec §1, §3.1)."""

from __future__ import annotations

import uuid

from tests.conftest import ApiClient

JSON = {"Accept": "application/json"}


def message(response) -> str:  # noqa: ANN001
    return response.json()["message"].split("<br")[0]


def test_show_returns_what_create_returned(api: ApiClient) -> None:
    created = api.create_image(foo="bar", tags=["t"])
    assert api.get(f"/v2/images/{created['id']}").json() == created


def test_show_is_json_without_charset(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.get(f"/v2/images/{image_id}").headers["Content-Type"] == "application/json"


def test_unknown_image_is_404(api: ApiClient) -> None:
    image_id = str(uuid.uuid4())
    response = api.get(f"/v2/images/{image_id}", headers=JSON)
    assert (response.status_code, message(response)) == \
        (404, f"No image found with ID {image_id}")


def test_non_uuid_id_is_404_so_sdk_falls_back_to_name_search(api: ApiClient) -> None:
    assert api.get("/v2/images/cirros").status_code == 404


def test_trailing_slash_is_404(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.get(f"/v2/images/{image_id}/").status_code == 404


def test_head_is_405(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.request("HEAD", f"/v2/images/{image_id}").status_code == 405


def test_glanceclient_octet_stream_header_on_get_is_fine(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.get(f"/v2/images/{image_id}",
                       headers={"Content-Type": "application/octet-stream",
                                "Content-Length": "0"})
    assert response.status_code == 200


def test_tasks_of_an_image(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.get(f"/v2/images/{image_id}/tasks")
    assert (response.status_code, response.json()) == (200, {"tasks": []})


def test_tasks_of_an_unknown_image_is_404(api: ApiClient) -> None:
    assert api.get(f"/v2/images/{uuid.uuid4()}/tasks").status_code == 404
