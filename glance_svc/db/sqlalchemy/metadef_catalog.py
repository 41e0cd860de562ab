"""``SqlMetadefRepository``: the metadata definitions catalog over SQL.

The API, ``glance-manage db load_metadefs`` and the registry all write through this one
class, so a namespace loaded from a file and one created over HTTP are stored alike.
Every write is one transaction; a name already taken surfaces as the unique constraint
of its table (``errors.Duplicate`` with Glance's message), never as a read-then-write race.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc

from glance_svc import errors
from glance_svc.db.sqlalchemy.models import (
    MetadefNamespaceModel,
    MetadefNamespaceResourceTypeModel,
    MetadefObjectModel,
    MetadefPropertyModel,
    MetadefResourceTypeModel,
    MetadefTagModel,
)
from glance_svc.domain.image import utcnow
from glance_svc.domain.metadef_repository import (
    ItemKind,
    Record,
    association_message,
    embedded_items,
    item_duplicate,
    item_not_found,
    namespace_duplicate,
    namespace_not_found,
)

namespaces, objects, properties, tags, resource_types, associations = (
    model.__table__ for model in (
        MetadefNamespaceModel, MetadefObjectModel, MetadefPropertyModel, MetadefTagModel,
        MetadefResourceTypeModel, MetadefNamespaceResourceTypeModel))
ITEM_TABLES: dict[str, sa.Table] = {"objects": objects, "properties": properties,
                                    "tags": tags}
NAMESPACE_FIELDS = ("namespace", "display_name", "description", "visibility", "protected",
                    "owner")


# --- rows <-> records ----------------------------------------------------------------

def _item_values(kind: ItemKind, item: Record) -> dict[str, Any]:
    """The columns of one item record (the inverse of ``_item_record``)."""
    if kind == "objects":
        return {"name": item["name"], "description": item.get("description"),
                "required": json.dumps(item.get("required") or []),
                "json_schema": item.get("properties") or {}}
    if kind == "properties":
        return {"name": item["name"],
                "json_schema": {k: v for k, v in item.items() if k != "name"}}
    return {"name": item["name"]}


def _item_record(kind: ItemKind, row: Any) -> Record:
    if kind == "objects":
        return {"name": row.name, "description": row.description,
                "required": json.loads(row.required or "[]"),
                "properties": row.json_schema or {},
                "created_at": row.created_at, "updated_at": row.updated_at}
    if kind == "properties":
        return {"name": row.name, **(row.json_schema or {})}
    return {"name": row.name, "created_at": row.created_at, "updated_at": row.updated_at}


def _namespace_record(row: Any, linked: list[Record]) -> Record:
    record = {field: getattr(row, field) for field in NAMESPACE_FIELDS}
    record["protected"] = bool(record["protected"])
    record.update(created_at=row.created_at, updated_at=row.updated_at,
                  resource_type_associations=linked)
    return record


_ASSOCIATION_QUERY = (
    sa.select(associations.c.namespace_id, resource_types.c.name, associations.c.prefix,
              associations.c.properties_target, associations.c.created_at,
              associations.c.updated_at)
    .join(resource_types, resource_types.c.id == associations.c.resource_type_id)
    .order_by(resource_types.c.name)
)


def _association_records(conn: sa.Connection, namespace_ids: list[int]
                         ) -> dict[int, list[Record]]:
    found: dict[int, list[Record]] = {ns_id: [] for ns_id in namespace_ids}
    rows = conn.execute(_ASSOCIATION_QUERY.where(
        associations.c.namespace_id.in_(namespace_ids))).all()
    for row in rows:
        found[row.namespace_id].append({
            "name": row.name, "prefix": row.prefix,
            "properties_target": row.properties_target,
            "created_at": row.created_at, "updated_at": row.updated_at})
    return found


class SqlMetadefRepository:
    """``MetadefRepository`` over the ``metadef_*`` tables of one engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @contextmanager
    def _writing(self, duplicate: Callable[[], str]) -> Iterator[sa.Connection]:
        """One transaction; a unique-constraint violation becomes ``errors.Duplicate``."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except db_exc.DBDuplicateEntry:
            raise errors.Duplicate(duplicate()) from None

    # --- namespaces -------------------------------------------------------------------
    def list_namespaces(self) -> list[Record]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(namespaces).order_by(
                namespaces.c.created_at, namespaces.c.id)).all()
            linked = _association_records(conn, [row.id for row in rows])
        return [_namespace_record(row, linked[row.id]) for row in rows]

    def get_namespace(self, namespace: str) -> Record:
        with self.engine.connect() as conn:
            row = self._namespace_row(conn, namespace)
            return _namespace_record(row, _association_records(conn, [row.id])[row.id])

    def _namespace_row(self, conn: sa.Connection, namespace: str) -> Any:
        row = conn.execute(sa.select(namespaces).where(
            namespaces.c.namespace == namespace)).first()
        if row is None:
            raise errors.NotFound(namespace_not_found(namespace))
        return row

    def _namespace_id(self, conn: sa.Connection, namespace: str) -> int:
        return int(self._namespace_row(conn, namespace).id)

    def create_namespace(self, document: Record, *, create_resource_types: bool = False
                         ) -> Record:
        name = document["namespace"]
        # The domain refuses repeated item names in one document, so a duplicate here
        # can only be the namespace itself.
        with self._writing(lambda: namespace_duplicate(name)) as conn:
            now = utcnow()
            values = {field: document.get(field) for field in NAMESPACE_FIELDS}
            namespace_id = conn.execute(sa.insert(namespaces).values(
                **values, created_at=now, updated_at=now)).inserted_primary_key[0]
            for kind, items in embedded_items(document).items():
                self._insert_items(conn, namespace_id, kind, items)
            for association in document.get("resource_type_associations") or []:
                self._associate(conn, namespace_id, association,
                                create_resource_types=create_resource_types)
        return self.get_namespace(name)

    def update_namespace(self, namespace: str, values: Record) -> Record:
        new_name = values.get("namespace", namespace)
        with self._writing(lambda: namespace_duplicate(new_name)) as conn:
            namespace_id = self._namespace_id(conn, namespace)
            changes = {k: v for k, v in values.items() if k in NAMESPACE_FIELDS}
            conn.execute(sa.update(namespaces).where(namespaces.c.id == namespace_id)
                         .values(**changes, updated_at=utcnow()))
        return self.get_namespace(new_name)

    def delete_namespace(self, namespace: str) -> None:
        with self.engine.begin() as conn:
            namespace_id = self._namespace_id(conn, namespace)
            for table in (objects, properties, tags, associations):
                conn.execute(sa.delete(table).where(table.c.namespace_id == namespace_id))
            conn.execute(sa.delete(namespaces).where(namespaces.c.id == namespace_id))

    # --- objects, properties, tags ----------------------------------------------------
    def list_items(self, namespace: str, kind: ItemKind) -> list[Record]:
        table = ITEM_TABLES[kind]
        with self.engine.connect() as conn:
            namespace_id = self._namespace_id(conn, namespace)
            rows = conn.execute(sa.select(table).where(table.c.namespace_id == namespace_id)
                                .order_by(table.c.name)).all()
        return [_item_record(kind, row) for row in rows]

    def get_item(self, namespace: str, kind: ItemKind, name: str) -> Record:
        with self.engine.connect() as conn:
            return _item_record(kind, self._item_row(conn, namespace, kind, name))

    def _item_row(self, conn: sa.Connection, namespace: str, kind: ItemKind, name: str
                  ) -> Any:
        table = ITEM_TABLES[kind]
        row = conn.execute(sa.select(table).where(
            table.c.namespace_id == self._namespace_id(conn, namespace),
            table.c.name == name)).first()
        if row is None:
            raise errors.NotFound(item_not_found(kind, name, namespace))
        return row

    def create_items(self, namespace: str, kind: ItemKind, items: list[Record], *,
                     replace: bool = False) -> list[Record]:
        names = [item["name"] for item in items]
        table = ITEM_TABLES[kind]
        with self._writing(lambda: "; ".join(
                item_duplicate(kind, n, namespace) for n in names)) as conn:
            namespace_id = self._namespace_id(conn, namespace)
            if replace:
                conn.execute(sa.delete(table).where(table.c.namespace_id == namespace_id))
            self._insert_items(conn, namespace_id, kind, items)
            rows = conn.execute(sa.select(table).where(
                table.c.namespace_id == namespace_id, table.c.name.in_(names))
                .order_by(table.c.id)).all()
        return [_item_record(kind, row) for row in rows]

    def _insert_items(self, conn: sa.Connection, namespace_id: int, kind: ItemKind,
                      items: list[Record]) -> None:
        if not items:
            return
        now = utcnow()
        conn.execute(sa.insert(ITEM_TABLES[kind]), [
            {**_item_values(kind, item), "namespace_id": namespace_id,
             "created_at": now, "updated_at": now} for item in items])

    def update_item(self, namespace: str, kind: ItemKind, name: str, item: Record) -> Record:
        table = ITEM_TABLES[kind]
        with self._writing(lambda: item_duplicate(kind, item["name"], namespace)) as conn:
            row = self._item_row(conn, namespace, kind, name)
            conn.execute(sa.update(table).where(table.c.id == row.id).values(
                **_item_values(kind, item), updated_at=utcnow()))
            updated = conn.execute(sa.select(table).where(table.c.id == row.id)).one()
        return _item_record(kind, updated)

    def delete_items(self, namespace: str, kind: ItemKind, name: str | None = None) -> None:
        table = ITEM_TABLES[kind]
        with self.engine.begin() as conn:
            if name is None:
                namespace_id = self._namespace_id(conn, namespace)
                conn.execute(sa.delete(table).where(table.c.namespace_id == namespace_id))
                return
            row = self._item_row(conn, namespace, kind, name)
            conn.execute(sa.delete(table).where(table.c.id == row.id))

    # --- resource types ---------------------------------------------------------------
    def list_resource_types(self) -> list[Record]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(resource_types).order_by(resource_types.c.name))
            return [{"name": row.name, "created_at": row.created_at,
                     "updated_at": row.updated_at} for row in rows]

    def add_association(self, namespace: str, association: Record, *,
                        create_resource_type: bool = False) -> Record:
        type_name = association["name"]
        with self._writing(lambda: association_message(type_name, namespace,
                                                       "already exists")) as conn:
            namespace_id = self._namespace_id(conn, namespace)
            self._associate(conn, namespace_id, association,
                            create_resource_types=create_resource_type)
        [added] = [a for a in self.get_namespace(namespace)["resource_type_associations"]
                   if a["name"] == type_name]
        return added

    def _associate(self, conn: sa.Connection, namespace_id: int,
                   association: Record, *, create_resource_types: bool = False) -> None:
        type_name = association["name"]
        type_id = conn.execute(sa.select(resource_types.c.id).where(
            resource_types.c.name == type_name)).scalar()
        now = utcnow()
        if type_id is None and create_resource_types:
            type_id = conn.execute(sa.insert(resource_types).values(
                name=type_name, protected=True, created_at=now, updated_at=now)
            ).inserted_primary_key[0]
        if type_id is None:
            raise errors.NotFound(f"The metadata definition resource-type with "
                                  f"name={type_name}, was not found.")
        conn.execute(sa.insert(associations).values(
            namespace_id=namespace_id, resource_type_id=type_id,
            prefix=association.get("prefix"),
            properties_target=association.get("properties_target"),
            created_at=now, updated_at=now))

    def remove_association(self, namespace: str, resource_type: str) -> None:
        with self.engine.begin() as conn:
            namespace_id = self._namespace_id(conn, namespace)
            type_ids = sa.select(resource_types.c.id).where(
                resource_types.c.name == resource_type).scalar_subquery()
            removed = conn.execute(sa.delete(associations).where(
                associations.c.namespace_id == namespace_id,
                associations.c.resource_type_id == type_ids)).rowcount
        if not removed:
            raise errors.NotFound(association_message(resource_type, namespace,
                                                      "was not found"))
