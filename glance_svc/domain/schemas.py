"""The JSON schemas of /v2/schemas/*, and validation of image bodies against them.

Clients build their models from these documents (glanceclient's warlock models, Nova's
choice of snapshot ``disk_format``), so the *structure* follows Glance exactly: the same
names, property keys, types, enums, ``links`` and ``definitions``. The descriptions are
our own words.

The image schema depends on the config (``[image_format]`` lists) and on an optional
``schema-image.json`` found in the config directories (spec §4.1), so it is built per
service from the config object, never kept in a module global.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import jsonschema
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import MEMBER_STATUSES, STATUSES

LOG = logging.getLogger(__name__)

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")
CUSTOM_PROPERTIES_FILE = "schema-image.json"
# Glance's order of the status enum (clients only test membership, but keep it stable).
_STATUS_ENUM = ["queued", "saving", "active", "killed", "deleted", "uploading", "importing",
                "pending_delete", "deactivated"]
if set(_STATUS_ENUM) != set(STATUSES):  # pragma: no cover - a new status needs a schema
    raise RuntimeError("image status enum out of date")
_DEFAULT_DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                         "iso", "ploop"]
_DEFAULT_CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker",
                              "compressed"]
# min_ram and min_disk are INT columns: 32 bits on MySQL/MariaDB, 64 on SQLite. One bound
# for every database, so an image valid on one is valid on all and none answers 500.
INT_COLUMN_MAX = 2**31 - 1
_INT_COLUMNS = ("min_ram", "min_disk")


def _ro(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "readOnly": True}


# -- generic shapes (Glance's Schema / PermissiveSchema / CollectionSchema) ---------------
def object_schema(name: str, properties: dict[str, Any], *, permissive: bool = False,
                  links: list[dict[str, str]] | None = None,
                  required: list[str] | None = None,
                  definitions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema document for one object; ``permissive`` allows extra string properties."""
    raw: dict[str, Any] = {
        "name": name,
        "properties": properties,
        "additionalProperties": {"type": "string"} if permissive else False,
    }
    if definitions:
        raw["definitions"] = definitions
    if required:
        raw["required"] = required
    if links:
        raw["links"] = links
    return raw


def minimal(schema: dict[str, Any]) -> dict[str, Any]:
    """The short form Glance serves for members and tasks: no extra keys, no links."""
    out = {"name": schema["name"], "properties": schema["properties"]}
    for key in ("definitions", "required"):
        if key in schema:
            out[key] = schema[key]
    return out


def collection_schema(name: str, item: dict[str, Any], *, short: bool = False,
                      as_dict: bool = False) -> dict[str, Any]:
    """The schema of a page of ``item`` objects (``{"<name>": [...], "first", ...}``).

    ``definitions`` of the item move to the top, where ``$ref`` finds them.
    """
    item = dict(item)
    definitions = item.pop("definitions", None)
    container: dict[str, Any] = (
        {"type": "object", "additionalProperties": item} if as_dict
        else {"type": "array", "items": item}
    )
    if short:
        raw: dict[str, Any] = {
            "name": name,
            "properties": {name: container, "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}],
        }
    else:
        raw = {
            "name": name,
            "properties": {
                name: container,
                "first": {"type": "string"},
                "next": {"type": "string"},
                "schema": {"type": "string"},
            },
            "links": [
                {"rel": "first", "href": "{first}"},
                {"rel": "next", "href": "{next}"},
                {"rel": "describedby", "href": "{schema}"},
            ],
        }
    if definitions:
        raw["definitions"] = definitions
    return raw


# -- images ----------------------------------------------------------------------------
def image_base_properties(disk_formats: list[str], container_formats: list[str]
                          ) -> dict[str, Any]:
    """The base properties of an image, with the format enums of this deployment."""
    nullable_str = ["null", "string"]
    return {
        "id": {"type": "string", "description": "Image identifier (a UUID).",
               "pattern": UUID_PATTERN},
        "name": {"type": nullable_str, "description": "Human-readable image name.",
                 "maxLength": 255},
        "status": _ro({"type": "string", "description": "Where the image is in its "
                       "lifecycle.", "enum": list(_STATUS_ENUM)}),
        "visibility": {"type": "string", "description": "Who may see and use the image.",
                       "enum": ["community", "public", "private", "shared"]},
        "protected": {"type": "boolean",
                      "description": "A protected image cannot be deleted."},
        "os_hidden": {"type": "boolean",
                      "description": "Hidden images are left out of default image lists."},
        "checksum": _ro({"type": nullable_str, "description": "MD5 of the image data.",
                         "maxLength": 32}),
        "os_hash_algo": _ro({"type": nullable_str, "description": "Hash algorithm of "
                             "os_hash_value.", "maxLength": 64}),
        "os_hash_value": _ro({"type": nullable_str, "description": "Hex digest of the "
                              "image data with os_hash_algo.", "maxLength": 128}),
        "owner": {"type": nullable_str, "description": "Project that owns the image.",
                  "maxLength": 255},
        "size": _ro({"type": ["null", "integer"],
                     "description": "Size of the image data in bytes."}),
        "virtual_size": _ro({"type": ["null", "integer"],
                             "description": "Size of the virtual disk in bytes."}),
        "container_format": {"type": nullable_str,
                             "description": "Container format of the image data.",
                             "enum": [None, *container_formats]},
        "disk_format": {"type": nullable_str, "description": "Disk format of the image data.",
                        "enum": [None, *disk_formats]},
        "created_at": _ro({"type": "string", "description": "When the image was created."}),
        "updated_at": _ro({"type": "string",
                           "description": "When the image was last changed."}),
        "tags": {"type": "array", "description": "Free-form labels of the image.",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _ro({"type": "string",
                           "description": "Store URL of the image data, if shown."}),
        "min_ram": {"type": "integer", "description": "RAM (MB) needed to boot the image."},
        "min_disk": {"type": "integer",
                     "description": "Disk (GB) needed to boot the image."},
        "self": _ro({"type": "string", "description": "Path of this image."}),
        "file": _ro({"type": "string", "description": "Path of the image data."}),
        "stores": _ro({"type": "string", "description": "Comma-separated ids of the stores "
                       "holding the data (multi-store only)."}),
        "schema": _ro({"type": "string", "description": "Path of this schema."}),
        "locations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                    "validation_data": {
                        "description": "Hashes of the data at this location.",
                        "type": "object",
                        "writeOnly": True,
                        "additionalProperties": False,
                        "properties": {
                            "checksum": {"type": "string", "minLength": 32,
                                         "maxLength": 32},
                            "os_hash_algo": {"type": "string", "maxLength": 64},
                            "os_hash_value": {"type": "string", "maxLength": 128},
                        },
                        "required": ["os_hash_algo", "os_hash_value"],
                    },
                },
                "required": ["url", "metadata"],
            },
            "description": "Store URLs of the image data, if shown.",
        },
    }


IMAGE_LINKS = [
    {"rel": "self", "href": "{self}"},
    {"rel": "enclosure", "href": "{file}"},
    {"rel": "describedby", "href": "{schema}"},
]


def load_custom_properties(conf: cfg.ConfigOpts) -> tuple[dict[str, Any], list[str] | None]:
    """Custom image properties from ``schema-image.json`` in the config directories.

    Both Glance formats: flat ``{"prop": {...}}`` and ``{"properties": {...},
    "required": [...]}``. Missing file: none. A broken file is an operator error worth a
    loud log line, not a dead API, so it is logged and ignored.
    """
    path = conf.find_file(CUSTOM_PROPERTIES_FILE)
    if not path:
        return {}, None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        LOG.error("Ignoring %s: %s", path, exc)
        return {}, None
    if not isinstance(data, dict):
        LOG.error("Ignoring %s: not a JSON object", path)
        return {}, None
    if isinstance(data.get("properties"), dict):
        return dict(data["properties"]), list(data.get("required") or []) or None
    return data, None


def _format_lists(conf: cfg.ConfigOpts) -> tuple[list[str], list[str]]:
    if "image_format" in conf:
        group = conf.image_format
        return list(group.disk_formats), list(group.container_formats)
    return list(_DEFAULT_DISK_FORMATS), list(_DEFAULT_CONTAINER_FORMATS)


def build_image_schema(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """The /v2/schemas/image document of this deployment."""
    disk_formats, container_formats = _format_lists(conf)
    properties = image_base_properties(disk_formats, container_formats)
    custom, required = load_custom_properties(conf)
    for name, definition in custom.items():
        if name in properties:
            LOG.warning("schema-image.json: %s is a base property; ignored", name)
            continue
        if not isinstance(definition, dict):
            LOG.warning("schema-image.json: %s is not a schema object; ignored", name)
            continue
        properties[name] = {**definition, "is_base": False}
    return object_schema("image", properties, permissive=True, links=IMAGE_LINKS,
                         required=required)


# -- members and tasks -----------------------------------------------------------------
def member_schema() -> dict[str, Any]:
    return minimal(object_schema("member", {
        "member_id": {"type": "string", "description": "Project the image is shared with."},
        "image_id": {"type": "string", "description": "The shared image.",
                     "pattern": UUID_PATTERN},
        "created_at": {"type": "string", "description": "When the image was shared."},
        "updated_at": {"type": "string",
                       "description": "When the membership last changed."},
        "status": {"type": "string", "description": "Whether the member accepted the image.",
                   "enum": list(MEMBER_STATUSES)},
        "schema": {"readOnly": True, "type": "string"},
    }))


def members_schema() -> dict[str, Any]:
    return collection_schema("members", member_schema(), short=True)


def _task_properties(partial: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"description": "Task identifier (a UUID).", "pattern": UUID_PATTERN,
               "type": "string"},
        "type": {"description": "What the task does.",
                 "enum": ["import", "api_image_import", "location_import"],
                 "type": "string"},
        "status": {"description": "Where the task is in its lifecycle.",
                   "enum": ["pending", "processing", "success", "failure"],
                   "type": "string"},
        "input": {"description": "Parameters of the task.", "type": ["null", "object"]},
        "result": {"description": "Outcome of the task.", "type": ["null", "object"]},
        "owner": {"description": "Project that owns the task.", "type": "string"},
        "message": {"description": "Explanation, mostly on failure.", "type": "string"},
        "image_id": {"description": "Image the task works on.", "type": "string"},
        "request_id": {"description": "Request that started the task.", "type": "string"},
        "user_id": {"description": "User that started the task.", "type": "string"},
        "expires_at": {"description": "When the task record may be removed.",
                       "type": ["null", "string"]},
        "created_at": {"description": "When the task was created.", "type": "string"},
        "updated_at": {"description": "When the task last changed.", "type": "string"},
        "self": {"readOnly": True, "type": "string"},
        "schema": {"readOnly": True, "type": "string"},
    }
    if partial:
        for key in ("input", "result", "message"):
            del props[key]
    return props


def task_schema() -> dict[str, Any]:
    return minimal(object_schema("task", _task_properties(partial=False)))


def tasks_schema() -> dict[str, Any]:
    return collection_schema("tasks", minimal(object_schema("task", _task_properties(True))),
                             short=True)


# -- metadata definitions (glanceclient fetches these at start-up) ---------------------
_JSON_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _property_fields() -> dict[str, Any]:
    """What one metadef property definition may say (a JSON-schema subset)."""
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": "string", "enum": list(_JSON_TYPES)},
        "required": {"$ref": "#/definitions/stringArray"},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": {"$ref": "#/definitions/positiveInteger"},
        "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(_JSON_TYPES)},
                "enum": {"type": "array"},
            },
        },
        "maxItems": {"$ref": "#/definitions/positiveInteger"},
        "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
        "uniqueItems": {"type": "boolean", "default": False},
        "additionalItems": {"type": "boolean"},
    }


def _integer_definitions(min_items: bool) -> dict[str, Any]:
    string_array: dict[str, Any] = {"type": "array", "items": {"type": "string"},
                                    "uniqueItems": True}
    if min_items:
        string_array = {"type": "array", "items": {"type": "string"}, "minItems": 1,
                        "uniqueItems": True}
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {
            "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
        },
        "stringArray": string_array,
    }


def _namespace_definitions() -> dict[str, Any]:
    return {
        **_integer_definitions(min_items=False),
        "property": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["title", "type"],
                "properties": _property_fields(),
            },
        },
    }


def _timestamps(what: str) -> dict[str, Any]:
    return {
        "created_at": {"type": "string", "readOnly": True,
                       "description": f"When the {what} was created.",
                       "format": "date-time"},
        "updated_at": {"type": "string", "readOnly": True,
                       "description": f"When the {what} last changed.",
                       "format": "date-time"},
    }


def metadef_namespace_schema() -> dict[str, Any]:
    properties = {
        "namespace": {"type": "string", "description": "Unique name of the namespace.",
                      "maxLength": 80},
        "display_name": {"type": "string", "description": "Name shown by user interfaces.",
                         "maxLength": 80},
        "description": {"type": "string", "description": "What the namespace is about.",
                        "maxLength": 500},
        "visibility": {"type": "string", "description": "Who may see the namespace.",
                       "enum": ["public", "private"]},
        "protected": {"type": "boolean",
                      "description": "A protected namespace cannot be deleted."},
        "owner": {"type": "string", "description": "Project that owns the namespace.",
                  "maxLength": 255},
        **_timestamps("namespace"),
        "schema": {"readOnly": True, "type": "string"},
        "self": {"readOnly": True, "type": "string"},
        "resource_type_associations": {
            "type": "array",
            "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "prefix": {"type": "string"},
                "properties_target": {"type": "string"},
            }},
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {
            "type": "array",
            "items": {"type": "object", "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "required": {"$ref": "#/definitions/stringArray"},
                "properties": {"$ref": "#/definitions/property"},
            }},
        },
        "tags": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    }
    return object_schema("namespace", properties, required=["namespace"],
                         definitions=_namespace_definitions())


def metadef_object_schema() -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": {"readOnly": True, "type": "string"},
        "self": {"readOnly": True, "type": "string"},
        **_timestamps("object"),
    }
    return object_schema("object", properties, required=["name"],
                         definitions=_namespace_definitions())


def metadef_property_schema(require_name: bool = True) -> dict[str, Any]:
    required = ["title", "type"] + (["name"] if require_name else [])
    return object_schema("property", _property_fields(), required=required,
                         definitions=_integer_definitions(min_items=True))


def metadef_resource_type_schema() -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "maxLength": 80,
                 "description": "Resource type name, ideally the Heat resource type."},
        "prefix": {"type": "string", "maxLength": 80,
                   "description": "Prefix (with its separator, e.g. a colon) that the "
                                  "namespace's properties take on this resource type."},
        "properties_target": {"type": "string", "maxLength": 80,
                              "description": "Which metadata of the resource the "
                                             "properties apply to, where it has several."},
        **_timestamps("resource type association"),
    }
    return object_schema("resource_type_association", properties, required=["name"])


def metadef_tag_schema() -> dict[str, Any]:
    properties = {"name": {"type": "string", "maxLength": 80}, **_timestamps("tag")}
    return object_schema("tag", properties, required=["name"])


def metadef_schemas() -> dict[str, dict[str, Any]]:
    """The documents under /v2/schemas/metadefs/<kind>."""
    return {
        "namespace": metadef_namespace_schema(),
        "namespaces": collection_schema("namespaces", metadef_namespace_schema()),
        "object": metadef_object_schema(),
        "objects": collection_schema("objects", metadef_object_schema()),
        "property": metadef_property_schema(),
        "properties": collection_schema("properties", metadef_property_schema(False),
                                        as_dict=True),
        "resource_type": metadef_resource_type_schema(),
        "resource_types": collection_schema("resource_type_associations",
                                            metadef_resource_type_schema()),
        "tag": metadef_tag_schema(),
        "tags": collection_schema("tags", metadef_tag_schema()),
    }


# -- the set one service uses -----------------------------------------------------------
def _with_column_bounds(image: dict[str, Any]) -> dict[str, Any]:
    """The image schema plus the bounds of the integer columns, for validation only.

    The published document stays Glance's (clients compare it); the bound still
    answers 400 on create and PATCH alike, before the database sees the value.
    """
    bounded = copy.deepcopy(image)
    for key in _INT_COLUMNS:
        prop = bounded["properties"].get(key)
        if prop is not None and "integer" in prop.get("type", ()):
            prop["maximum"] = INT_COLUMN_MAX
    return bounded


class Schemas:
    """Every schema document of one deployment, built once from its config."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.image = build_image_schema(conf)
        self.images = collection_schema("images", self.image)
        self.member = member_schema()
        self.members = members_schema()
        self.task = task_schema()
        self.tasks = tasks_schema()
        self.metadefs = metadef_schemas()
        cls = jsonschema.validators.validator_for(self.image)
        self._image_validator = cls(_with_column_bounds(self.image))

    @property
    def image_properties(self) -> dict[str, Any]:
        return self.image["properties"]

    def is_schema_property(self, name: str) -> bool:
        """Whether ``name`` is described by the image schema (base or custom)."""
        return name in self.image["properties"]

    def validate_image(self, obj: dict[str, Any]) -> None:
        """400 unless ``obj`` (a whole or partial image body) fits the image schema."""
        error = jsonschema.exceptions.best_match(self._image_validator.iter_errors(obj))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            reason = f"{error.message} (in {where})" if where else error.message
            raise errors.BadRequest(
                f"Provided object does not match schema 'image': {reason}")

    def document(self, name: str) -> dict[str, Any]:
        """A deep copy of one schema, safe to hand to a serializer."""
        return copy.deepcopy(getattr(self, name))

