"""Seed the metadata definitions catalog from JSON files (``glance-manage db load_metadefs``).

The files use Glance's metadef format (namespace, display_name, description, visibility,
protected, resource_type_associations, properties, objects, tags), so catalogs written for
Glance load too. A namespace already in the database is left alone: loading twice, or
after an operator edited the catalog through the API, changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from glance_svc.db.sqlalchemy.models import (
    MetadefNamespaceModel,
    MetadefNamespaceResourceTypeModel,
    MetadefObjectModel,
    MetadefPropertyModel,
    MetadefResourceTypeModel,
    MetadefTagModel,
)
from glance_svc.domain.image import utcnow

PACKAGED_DIR = Path(__file__).resolve().parents[2] / "metadefs"

namespaces = MetadefNamespaceModel.__table__
objects = MetadefObjectModel.__table__
properties = MetadefPropertyModel.__table__
tags = MetadefTagModel.__table__
resource_types = MetadefResourceTypeModel.__table__
namespace_resource_types = MetadefNamespaceResourceTypeModel.__table__


class MetadefError(ValueError):
    """A metadef file cannot be loaded; the message names the file and the problem."""


@dataclasses.dataclass
class LoadReport:
    loaded: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)


def load_metadefs(engine: sa.Engine, path: str | os.PathLike[str] | None = None) -> LoadReport:
    """Load every ``*.json`` namespace file in ``path`` (default: the packaged catalog)."""
    directory = Path(path) if path else PACKAGED_DIR
    if not directory.is_dir():
        raise MetadefError(f"{directory}: not a directory")
    report = LoadReport()
    for file in sorted(directory.glob("*.json")):
        document = _read(file)
        with engine.begin() as conn:
            name = document["namespace"]
            if conn.execute(sa.select(namespaces.c.id)
                            .where(namespaces.c.namespace == name)).first():
                report.skipped.append(name)
                continue
            _insert_namespace(conn, document)
            report.loaded.append(name)
    return report


def _read(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MetadefError(f"{file}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("namespace"), str):
        raise MetadefError(f"{file}: expected a JSON object with a \"namespace\" string")
    return document


def _insert_namespace(conn: sa.Connection, doc: dict[str, Any]) -> None:
    now = utcnow()
    stamps = {"created_at": now, "updated_at": now}
    namespace_id = conn.execute(sa.insert(namespaces).values(
        namespace=doc["namespace"],
        display_name=doc.get("display_name"),
        description=doc.get("description"),
        visibility=doc.get("visibility", "public"),
        protected=bool(doc.get("protected", True)),
        owner=doc.get("owner", "admin"),
        **stamps,
    )).inserted_primary_key[0]
    for name, schema in (doc.get("properties") or {}).items():
        conn.execute(sa.insert(properties).values(
            namespace_id=namespace_id, name=name, json_schema=schema, **stamps))
    for obj in doc.get("objects") or []:
        conn.execute(sa.insert(objects).values(
            namespace_id=namespace_id, name=obj["name"], description=obj.get("description"),
            required=json.dumps(obj.get("required", [])),
            json_schema=obj.get("properties", {}), **stamps))
    for tag in doc.get("tags") or []:
        conn.execute(sa.insert(tags).values(namespace_id=namespace_id, name=tag["name"],
                                            **stamps))
    for assoc in doc.get("resource_type_associations") or []:
        conn.execute(sa.insert(namespace_resource_types).values(
            namespace_id=namespace_id,
            resource_type_id=_resource_type_id(conn, assoc["name"]),
            prefix=assoc.get("prefix"),
            properties_target=assoc.get("properties_target"),
            **stamps))


def _resource_type_id(conn: sa.Connection, name: str) -> int:
    found = conn.execute(sa.select(resource_types.c.id)
                         .where(resource_types.c.name == name)).scalar()
    if found is not None:
        return int(found)
    now = utcnow()
    return int(conn.execute(sa.insert(resource_types).values(
        name=name, protected=True, created_at=now, updated_at=now)).inserted_primary_key[0])
