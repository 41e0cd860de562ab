"""POST /v2/images over HTTP (spec §3.3, Appendix A) against a real glance-api."""

from __future__ import annotations

import re
import uuid

from tests.conftest import ApiClient

BASE_KEYS = {"name", "disk_format", "container_format", "visibility", "size", "virtual_size",
             "status", "checksum", "protected", "min_ram", "min_disk", "owner", "os_hidden",
             "os_hash_algo", "os_hash_value", "id", "created_at", "updated_at", "tags", "self",
             "file", "schema"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_create_answers_201_with_the_full_image(api: ApiClient) -> None:
    response = api.post("/v2/images", json={"name": "cirros", "disk_format": "qcow2",
                                            "container_format": "bare", "foo": "bar"})
    assert (response.status_code, set(response.json())) == (201, BASE_KEYS | {"foo"})


def test_create_defaults(api: ApiClient) -> None:
    body = api.create_image()
    assert {k: body[k] for k in ("status", "visibility", "protected", "os_hidden", "min_ram",
                                 "min_disk", "size", "checksum", "disk_format")} == {
        "status": "queued", "visibility": "shared", "protected": False, "os_hidden": False,
        "min_ram": 0, "min_disk": 0, "size": None, "checksum": None, "disk_format": None}


def test_create_body_is_json_without_charset(api: ApiClient) -> None:
    response = api.post("/v2/images", json={})
    assert response.headers["Content-Type"] == "application/json"


def test_location_header_is_absolute_on_the_request_host(api: ApiClient) -> None:
    response = api.post("/v2/images", json={})
    assert response.headers["Location"] == f"{api.base_url}/v2/images/{response.json()['id']}"


def test_links_in_the_body_are_host_less(api: ApiClient) -> None:
    body = api.create_image()
    assert (body["self"], body["file"], body["schema"]) == (
        f"/v2/images/{body['id']}", f"/v2/images/{body['id']}/file", "/v2/schemas/image")


def test_timestamps_are_utc_seconds_with_z(api: ApiClient) -> None:
    body = api.create_image()
    assert TIMESTAMP.match(body["created_at"]) and TIMESTAMP.match(body["updated_at"])


def test_create_announces_the_import_methods(api: ApiClient) -> None:
    response = api.post("/v2/images", json={})
    assert response.headers["OpenStack-image-import-methods"] == \
        "glance-direct,web-download,copy-image"


def test_single_store_has_no_store_ids_header(api: ApiClient) -> None:
    assert "OpenStack-image-store-ids" not in api.post("/v2/images", json={}).headers


def test_no_import_methods_header_when_import_is_disabled(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"enabled_import_methods": ""}})
    response = ApiClient(server.url).post("/v2/images", json={})
    assert (response.status_code, "OpenStack-image-import-methods" in response.headers) == \
        (201, False)


def test_multi_store_announces_store_ids(make_server, tmp_path) -> None:
    server = make_server(conf={
        "DEFAULT": {"enabled_backends": {"fast": "file", "slow": "file"}},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": str(tmp_path / "fast")},
        "slow": {"filesystem_store_datadir": str(tmp_path / "slow")},
        "os_glance_staging_store": {"filesystem_store_datadir": str(tmp_path / "staging")},
        "os_glance_tasks_store": {"filesystem_store_datadir": str(tmp_path / "tasks")},
    })
    response = ApiClient(server.url).post("/v2/images", json={})
    assert response.headers["OpenStack-image-store-ids"] == "fast,slow"


def test_tags_are_a_set(api: ApiClient) -> None:
    assert sorted(api.create_image(tags=["b", "a", "b"])["tags"]) == ["a", "b"]


def test_client_chosen_id(api: ApiClient) -> None:
    image_id = str(uuid.uuid4())
    assert api.create_image(id=image_id)["id"] == image_id


def test_existing_id_is_409(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.post("/v2/images", json={"id": image_id},
                        headers={"Accept": "application/json"})
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (409, f"Image ID {image_id} already exists!")


def test_id_of_a_deleted_image_is_never_reused(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    assert api.delete(f"/v2/images/{image_id}").status_code == 204
    assert api.post("/v2/images", json={"id": image_id}).status_code == 409


def test_read_only_attribute_is_403(api: ApiClient) -> None:
    response = api.post("/v2/images", json={"status": "active"},
                        headers={"Accept": "application/json"})
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (403, "Attribute 'status' is read-only.")


def test_locations_on_create_are_reserved(api: ApiClient) -> None:
    response = api.post("/v2/images", json={"locations": []},
                        headers={"Accept": "application/json"})
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (403, "Attribute 'locations' is reserved.")


def test_os_glance_prefix_is_reserved(api: ApiClient) -> None:
    assert api.post("/v2/images", json={"os_glance_x": "1"}).status_code == 403


def test_non_string_custom_property_is_400(api: ApiClient) -> None:
    assert api.post("/v2/images", json={"foo": 1}).status_code == 400


def test_unknown_disk_format_is_400(api: ApiClient) -> None:
    assert api.post("/v2/images", json={"disk_format": "floppy"}).status_code == 400


def test_json_array_body_is_400_not_500(api: ApiClient) -> None:
    assert api.post("/v2/images", json=[{"name": "x"}]).status_code == 400


def test_malformed_json_is_400(api: ApiClient) -> None:
    response = api.post("/v2/images", data=b"{nope", headers={"Accept": "application/json"})
    assert (response.status_code, response.json()["message"].split("<br")[0]) == \
        (400, "Malformed JSON in request body.")


def test_content_type_of_the_body_is_not_checked(api: ApiClient) -> None:
    response = api.post("/v2/images", data=b'{"name": "plain"}',
                        headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.json()["name"]) == (201, "plain")


def test_unauthenticated_pipeline_creates_ownerless_images(api: ApiClient) -> None:
    assert api.create_image()["owner"] is None


def test_property_quota_is_413(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"image_property_quota": 1}})
    response = ApiClient(server.url).post("/v2/images", json={"a": "1", "b": "2"})
    assert response.status_code == 413
