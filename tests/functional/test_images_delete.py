"""DELETE /v2/images/{id} over HTTP (spec §3.5, §5.3)."""

from __future__ import annotations

from tests.conftest import PATCH_V21, ApiClient

JSON = {"Accept": "application/json"}


def message(response) -> str:  # noqa: ANN001
    return response.json()["message"].split("<br")[0]


def test_delete_answers_204(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.delete(f"/v2/images/{image_id}")
    assert (response.status_code, response.content) == (204, b"")


def test_deleted_image_is_404(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    api.delete(f"/v2/images/{image_id}")
    assert api.get(f"/v2/images/{image_id}").status_code == 404


def test_deleting_twice_is_404(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    api.delete(f"/v2/images/{image_id}")
    response = api.delete(f"/v2/images/{image_id}", headers=JSON)
    assert (response.status_code, message(response)) == \
        (404, f"Failed to find image {image_id} to delete")


def test_glanceclient_delete_with_empty_body_headers(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.delete(f"/v2/images/{image_id}", headers={"Content-Length": "0"})
    assert response.status_code == 204


def test_protected_image_is_403(api: ApiClient) -> None:
    image_id = api.create_image(protected=True)["id"]
    response = api.delete(f"/v2/images/{image_id}", headers=JSON)
    assert (response.status_code, message(response)) == \
        (403, f"Image {image_id} is protected and cannot be deleted.")


def test_unprotected_image_can_then_be_deleted(api: ApiClient) -> None:
    image_id = api.create_image(protected=True)["id"]
    api.patch(f"/v2/images/{image_id}", headers=PATCH_V21,
              json=[{"op": "replace", "path": "/protected", "value": False}])
    assert api.delete(f"/v2/images/{image_id}").status_code == 204


def test_delete_removes_the_data(make_server) -> None:
    server = make_server()
    client = ApiClient(server.url)
    image = client.active_image()
    assert server.stored_files() == [image["id"]]
    client.delete(f"/v2/images/{image['id']}")
    assert server.stored_files() == []


def test_delete_of_deactivated_image(api: ApiClient) -> None:
    image_id = api.active_image()["id"]
    api.post(f"/v2/images/{image_id}/actions/deactivate")
    assert api.delete(f"/v2/images/{image_id}").status_code == 204


def test_delayed_delete_keeps_the_data_and_hides_the_image(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"delayed_delete": True}})
    client = ApiClient(server.url)
    image_id = client.active_image()["id"]
    client.delete(f"/v2/images/{image_id}")
    assert (client.get(f"/v2/images/{image_id}").status_code, server.stored_files()) == \
        (404, [image_id])


def test_delayed_delete_of_image_without_data(make_server) -> None:
    client = ApiClient(make_server(conf={"DEFAULT": {"delayed_delete": True}}).url)
    image_id = client.create_image()["id"]
    assert (client.delete(f"/v2/images/{image_id}").status_code,
            client.get(f"/v2/images/{image_id}").status_code) == (204, 404)
