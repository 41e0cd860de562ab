"""The /v2/schemas documents and image-body validation (spec §3.8, §4.1)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.domain.schemas import Schemas


def make_conf(tmp_path: Path, lines: str = "") -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(lines)
    conf(["--config-file", str(conf_file)], project="glance")
    return conf


@pytest.fixture
def schemas(tmp_path: Path) -> Schemas:
    return Schemas(make_conf(tmp_path))


def test_image_schema_is_permissive_for_strings(schemas: Schemas) -> None:
    assert schemas.image["additionalProperties"] == {"type": "string"}


def test_image_schema_links(schemas: Schemas) -> None:
    assert schemas.image["links"] == [
        {"rel": "self", "href": "{self}"},
        {"rel": "enclosure", "href": "{file}"},
        {"rel": "describedby", "href": "{schema}"},
    ]


def test_image_schema_has_every_base_property(schemas: Schemas) -> None:
    assert set(schemas.image["properties"]) == {
        "id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
        "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "container_format",
        "disk_format", "created_at", "updated_at", "tags", "direct_url", "min_ram",
        "min_disk", "self", "file", "stores", "schema", "locations"}


def test_disk_format_enum_is_null_plus_default_list(schemas: Schemas) -> None:
    assert schemas.image["properties"]["disk_format"]["enum"] == [
        None, "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
        "ploop"]


def test_format_enums_follow_the_config(tmp_path: Path) -> None:
    conf = make_conf(tmp_path, "[image_format]\ndisk_formats = raw,qcow2\n"
                               "container_formats = bare\n")
    props = Schemas(conf).image["properties"]
    assert (props["disk_format"]["enum"], props["container_format"]["enum"]) == \
        ([None, "raw", "qcow2"], [None, "bare"])


def test_status_is_read_only(schemas: Schemas) -> None:
    assert schemas.image["properties"]["status"]["readOnly"] is True


def test_images_collection_schema(schemas: Schemas) -> None:
    images = schemas.images
    assert (images["name"], images["properties"]["images"]["items"]["name"],
            [link["rel"] for link in images["links"]]) == \
        ("images", "image", ["first", "next", "describedby"])


def test_member_schema_is_minimal(schemas: Schemas) -> None:
    assert set(schemas.member) == {"name", "properties"}


def test_member_status_enum(schemas: Schemas) -> None:
    assert schemas.member["properties"]["status"]["enum"] == ["pending", "accepted",
                                                              "rejected"]


def test_members_collection_schema(schemas: Schemas) -> None:
    assert schemas.members == {
        "name": "members",
        "properties": {"members": {"type": "array", "items": schemas.member},
                       "schema": {"type": "string"}},
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


def test_tasks_collection_hides_input_result_message(schemas: Schemas) -> None:
    item = schemas.tasks["properties"]["tasks"]["items"]["properties"]
    assert not {"input", "result", "message"} & set(item)


def test_task_schema_has_input(schemas: Schemas) -> None:
    assert schemas.task["properties"]["input"]["type"] == ["null", "object"]


@pytest.mark.parametrize("kind", ["namespace", "namespaces", "object", "objects",
                                  "property", "properties", "resource_type",
                                  "resource_types", "tag", "tags"])
def test_metadef_schemas_are_valid_json_schemas(schemas: Schemas, kind: str) -> None:
    document = schemas.metadefs[kind]
    jsonschema.validators.validator_for(document).check_schema(document)


def test_metadef_namespace_requires_namespace(schemas: Schemas) -> None:
    assert schemas.metadefs["namespace"]["required"] == ["namespace"]


def test_metadef_resource_type_name(schemas: Schemas) -> None:
    assert schemas.metadefs["resource_type"]["name"] == "resource_type_association"


def test_metadef_namespace_refs_resolve(schemas: Schemas) -> None:
    document = schemas.metadefs["namespaces"]
    validator = jsonschema.validators.validator_for(document)(document)
    validator.validate({"namespaces": [{"namespace": "n", "properties": {
        "p": {"title": "P", "type": "string"}}}]})


def test_image_schema_is_a_valid_json_schema(schemas: Schemas) -> None:
    jsonschema.validators.validator_for(schemas.image).check_schema(schemas.image)


# -- validation ------------------------------------------------------------------------
def test_valid_image_body_passes(schemas: Schemas) -> None:
    schemas.validate_image({"name": "x", "disk_format": "raw", "tags": ["a"], "foo": "bar"})


def test_custom_property_must_be_a_string(schemas: Schemas) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        schemas.validate_image({"foo": 1})
    assert caught.value.message == \
        "Provided object does not match schema 'image': 1 is not of type 'string' (in foo)"


def test_min_ram_must_be_an_integer(schemas: Schemas) -> None:
    with pytest.raises(errors.BadRequest):
        schemas.validate_image({"min_ram": "512"})


def test_unknown_disk_format_is_refused(schemas: Schemas) -> None:
    with pytest.raises(errors.BadRequest):
        schemas.validate_image({"disk_format": "floppy"})


def test_name_longer_than_255_is_refused(schemas: Schemas) -> None:
    with pytest.raises(errors.BadRequest):
        schemas.validate_image({"name": "n" * 256})


def test_name_may_be_null(schemas: Schemas) -> None:
    schemas.validate_image({"name": None})


def test_id_must_be_a_uuid(schemas: Schemas) -> None:
    with pytest.raises(errors.BadRequest):
        schemas.validate_image({"id": "not-a-uuid"})


# -- schema-image.json -------------------------------------------------------------------
def write_custom(tmp_path: Path, data: object) -> Schemas:
    (tmp_path / "schema-image.json").write_text(json.dumps(data))
    return Schemas(make_conf(tmp_path))


def test_custom_properties_are_added_and_marked(tmp_path: Path) -> None:
    schemas = write_custom(tmp_path, {"os_distro": {"type": "string"}})
    assert schemas.image["properties"]["os_distro"] == {"type": "string", "is_base": False}


def test_custom_properties_are_validated(tmp_path: Path) -> None:
    schemas = write_custom(tmp_path, {"cinder_encryption_key_deletion_policy": {
        "type": "string", "enum": ["on_image_deletion", "do_not_delete"]}})
    with pytest.raises(errors.BadRequest):
        schemas.validate_image({"cinder_encryption_key_deletion_policy": "sometimes"})


def test_extended_format_with_required(tmp_path: Path) -> None:
    schemas = write_custom(tmp_path, {"properties": {"os_distro": {"type": "string"}},
                                      "required": ["os_distro"]})
    assert schemas.image["required"] == ["os_distro"]


def test_custom_property_cannot_redefine_a_base_property(tmp_path: Path) -> None:
    schemas = write_custom(tmp_path, {"name": {"type": "integer"}})
    assert schemas.image["properties"]["name"]["maxLength"] == 255


def test_broken_custom_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "schema-image.json").write_text("{not json")
    assert "is_base" not in json.dumps(Schemas(make_conf(tmp_path)).image)


def test_documents_are_copies(schemas: Schemas) -> None:
    schemas.document("image")["properties"].clear()
    assert schemas.image["properties"]
