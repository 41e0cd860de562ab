"""GET /v2/schemas/* over HTTP (spec §3.8): what glanceclient and Nova read at start."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ApiClient


def test_image_schema(api: ApiClient) -> None:
    response = api.get("/v2/schemas/image")
    body = response.json()
    assert (response.status_code, response.headers["Content-Type"], body["name"],
            body["additionalProperties"]) == (200, "application/json", "image",
                                              {"type": "string"})


def test_nova_reads_disk_formats_from_the_image_schema(api: ApiClient) -> None:
    enum = api.get("/v2/schemas/image").json()["properties"]["disk_format"]["enum"]
    assert enum == [None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                    "iso", "ploop"]


def test_format_enums_follow_image_format_options(make_server) -> None:
    server = make_server(conf={"image_format": {"disk_formats": ["raw", "qcow2"],
                                                "container_formats": ["bare"]}})
    props = ApiClient(server.url).get("/v2/schemas/image").json()["properties"]
    assert (props["disk_format"]["enum"], props["container_format"]["enum"]) == \
        ([None, "raw", "qcow2"], [None, "bare"])


def test_images_schema(api: ApiClient) -> None:
    body = api.get("/v2/schemas/images").json()
    assert (body["name"], body["properties"]["images"]["items"]["name"]) == \
        ("images", "image")


@pytest.mark.parametrize(("path", "name"), [
    ("member", "member"), ("members", "members"), ("task", "task"), ("tasks", "tasks"),
    ("metadefs/namespace", "namespace"), ("metadefs/namespaces", "namespaces"),
    ("metadefs/object", "object"), ("metadefs/objects", "objects"),
    ("metadefs/property", "property"), ("metadefs/properties", "properties"),
    ("metadefs/resource_type", "resource_type_association"),
    ("metadefs/resource_types", "resource_type_associations"),
    ("metadefs/tag", "tag"), ("metadefs/tags", "tags"),
])
def test_every_schema_document(api: ApiClient, path: str, name: str) -> None:
    response = api.get(f"/v2/schemas/{path}")
    assert (response.status_code, response.json()["name"]) == (200, name)


def test_unknown_metadef_schema_is_404(api: ApiClient) -> None:
    assert api.get("/v2/schemas/metadefs/nothing").status_code == 404


def test_post_to_a_schema_is_405(api: ApiClient) -> None:
    response = api.post("/v2/schemas/image", json={})
    assert (response.status_code, response.headers["Allow"]) == (405, "GET")


def test_custom_properties_from_schema_image_json(make_server) -> None:
    server = make_server()
    server.stop()
    (server.workdir / "schema-image.json").write_text(
        json.dumps({"os_distro": {"type": "string", "maxLength": 20}}))
    server.start()
    client = ApiClient(server.url)
    prop = client.get("/v2/schemas/image").json()["properties"]["os_distro"]
    too_long = client.post("/v2/images", json={"os_distro": "x" * 21})
    assert (prop, too_long.status_code) == ({"type": "string", "maxLength": 20,
                                             "is_base": False}, 400)
