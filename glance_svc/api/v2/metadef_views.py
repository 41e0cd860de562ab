"""The JSON shapes of the metadata definitions catalog, as Glance serializes them.

Unset fields are left out rather than sent as ``null`` (Glance's serializer drops them);
timestamps are ``views.isotime``; links are host-less ``/v2/...`` paths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from glance_svc.api.v2.views import isotime
from glance_svc.domain.metadef_repository import Record

NAMESPACES = "/v2/metadefs/namespaces"
SCHEMAS = "/v2/schemas/metadefs"


def namespace_href(namespace: str, sub: str = "") -> str:
    return f"{NAMESPACES}/{namespace}/{sub}" if sub else f"{NAMESPACES}/{namespace}"


def _plain(record: Record) -> dict[str, Any]:
    """``record`` without unset fields, with its timestamps as text."""
    return {key: isotime(value) if isinstance(value, dt.datetime) else value
            for key, value in record.items() if value is not None}


def association_view(association: Record) -> dict[str, Any]:
    return _plain(association)


def object_view(namespace: str, obj: Record) -> dict[str, Any]:
    return {**_plain(obj), "self": namespace_href(namespace, f"objects/{obj['name']}"),
            "schema": f"{SCHEMAS}/object"}


def property_view(prop: Record) -> dict[str, Any]:
    return _plain(prop)


def tag_view(tag: Record) -> dict[str, Any]:
    return _plain(tag)


def namespace_view(document: Record) -> dict[str, Any]:
    """A namespace; its associations, properties, objects and tags only when it has any."""
    name = document["namespace"]
    view = {key: value for key, value in _plain(document).items()
            if key not in ("resource_type_associations", "properties", "objects", "tags")}
    if document.get("resource_type_associations"):
        view["resource_type_associations"] = [
            association_view(a) for a in document["resource_type_associations"]]
    if document.get("properties"):
        view["properties"] = {k: _plain(v) for k, v in document["properties"].items()}
    if document.get("objects"):
        view["objects"] = [object_view(name, obj) for obj in document["objects"]]
    if document.get("tags"):
        view["tags"] = [tag_view(tag) for tag in document["tags"]]
    view["self"] = namespace_href(name)
    view["schema"] = f"{SCHEMAS}/namespace"
    return view


def objects_view(namespace: str, objects: list[Record]) -> dict[str, Any]:
    return {"objects": [object_view(namespace, obj) for obj in objects],
            "schema": f"{SCHEMAS}/objects"}


def properties_view(properties: list[Record]) -> dict[str, Any]:
    return {"properties": {p["name"]: {k: v for k, v in property_view(p).items()
                                       if k != "name"} for p in properties}}


def tags_view(tags: list[Record]) -> dict[str, Any]:
    return {"tags": [tag_view(tag) for tag in tags]}


def resource_types_view(resource_types: list[Record]) -> dict[str, Any]:
    return {"resource_types": [_plain(rt) for rt in resource_types]}


def associations_view(associations: list[Record]) -> dict[str, Any]:
    return {"resource_type_associations": [association_view(a) for a in associations]}
