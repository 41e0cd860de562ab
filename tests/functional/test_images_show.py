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


# -- what the config adds to an image body (spec §4.1) ---------------------------------
def test_locations_and_direct_url_are_hidden_by_default(api: ApiClient) -> None:
    body = api.active_image()
    assert ("locations" in body, "direct_url" in body, "stores" in body) == \
        (False, False, False)


def test_show_multiple_locations_lists_them(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"show_multiple_locations": True}})
    client = ApiClient(server.url)
    queued = client.create_image()
    active = client.active_image()
    assert (queued["locations"], len(active["locations"]),
            active["locations"][0]["url"].endswith(active["id"])) == ([], 1, True)


def test_show_image_direct_url(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"show_image_direct_url": True}})
    client = ApiClient(server.url)
    queued = client.create_image()
    active = client.active_image()
    assert ("direct_url" in queued, active["direct_url"]) == \
        (False, f"file://{server.images_dir}/{active['id']}")


def test_locations_of_deactivated_image_hidden_from_non_admins(make_server) -> None:
    from tests.conftest import PROJECT_A

    server = make_server(paste_flavor="trusted-auth",
                         conf={"DEFAULT": {"show_multiple_locations": True,
                                           "show_image_direct_url": True}})
    owner = ApiClient(server.url).as_user(PROJECT_A)
    image_id = owner.active_image()["id"]
    owner.post(f"/v2/images/{image_id}/actions/deactivate")
    body = owner.get(f"/v2/images/{image_id}").json()
    assert (body["locations"], "direct_url" in body) == ([], False)


def test_removing_the_last_location_is_403(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"show_multiple_locations": True}})
    client = ApiClient(server.url)
    image_id = client.active_image()["id"]
    response = client.patch(f"/v2/images/{image_id}",
                            json=[{"op": "remove", "path": "/locations/0"}],
                            headers={"Content-Type":
                                     "application/openstack-images-v2.1-json-patch",
                                     "Accept": "application/json"})
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (403, "Cannot remove last location in the image.")


def test_multi_store_image_shows_its_stores(make_server, tmp_path) -> None:
    server = make_server(conf={
        "DEFAULT": {"enabled_backends": {"fast": "file"}},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": str(tmp_path / "fast")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(tmp_path / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(tmp_path / "tasks")},
    })
    client = ApiClient(server.url)
    assert (client.active_image()["stores"], "stores" in client.create_image()) == \
        ("fast", False)
