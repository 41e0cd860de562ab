"""Image records to rows and back, and keeping an image's child rows in step with it.

Children (properties, tags, locations, members) are soft-deleted like the image. A live
image owns its non-deleted child rows; a deleted image owns the rows deleted together
with it (same ``deleted_at``), which is what ``restore`` brings back and what the scrubber
needs to see of the locations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from glance_svc.db.sqlalchemy.models import (
    image_locations,
    image_properties,
    image_tags,
    images,
)
from glance_svc.domain.image import Image, Location, Member

# Image attributes stored as columns of ``images`` by save(); id, created_at and the
# soft-delete columns are the repository's to manage.
SAVED_COLUMNS = (
    "name", "size", "status", "disk_format", "container_format", "checksum", "owner",
    "min_disk", "min_ram", "protected", "virtual_size", "visibility", "os_hidden",
    "os_hash_algo", "os_hash_value",
)


def image_values(image: Image) -> dict[str, Any]:
    return {name: getattr(image, name) for name in SAVED_COLUMNS}


def owned_by(table: sa.Table, image_ids: Sequence[str], deleted_at: dt.datetime | None
             ) -> sa.ColumnElement[bool]:
    """Child rows that belong to the image(s) in their current state (see module doc)."""
    own = table.c.deleted == sa.false()
    if deleted_at is not None:
        own = sa.or_(own, table.c.deleted_at == deleted_at)
    return sa.and_(table.c.image_id.in_(image_ids), own)


def _live_children(*columns: sa.Column[Any]) -> sa.Select[Any]:
    """Non-deleted child rows of a set of images, built once: listing pages are the hot
    path, and an expanding bind parameter spares re-coercing every id on each call."""
    table = columns[0].table
    return (sa.select(table.c.image_id, *columns)
            .where(table.c.image_id.in_(sa.bindparam("ids", expanding=True)),
                   table.c.deleted == sa.false())
            .order_by(table.c.id))


_LIVE_PROPERTIES = _live_children(image_properties.c.name, image_properties.c.value)
_LIVE_TAGS = _live_children(image_tags.c.value)
_LIVE_LOCATIONS = _live_children(image_locations.c.id, image_locations.c.value,
                                 image_locations.c.meta_data, image_locations.c.status)


def load_images(conn: sa.Connection, rows: Sequence[Any]) -> list[Image]:
    """Images for ``images`` rows, with their properties, tags and locations (3 queries)."""
    if not rows:
        return []
    live = [r.id for r in rows if not r.deleted]
    dead = {r.id: r.deleted_at for r in rows if r.deleted}
    props: dict[str, dict[str, str]] = {r.id: {} for r in rows}
    tags: dict[str, set[str]] = {r.id: set() for r in rows}
    locs: dict[str, list[Location]] = {r.id: [] for r in rows}
    for image_id, name, value in _children(conn, _LIVE_PROPERTIES, live, dead):
        props[image_id][name] = value
    for image_id, value in _children(conn, _LIVE_TAGS, live, dead):
        tags[image_id].add(value)
    for image_id, loc_id, url, metadata, status in _children(conn, _LIVE_LOCATIONS, live,
                                                             dead):
        locs[image_id].append(Location(url=url, metadata=metadata or {}, status=status,
                                       id=loc_id))
    return [_image(r, props[r.id], tags[r.id], locs[r.id]) for r in rows]


def _children(conn: sa.Connection, live_stmt: sa.Select[Any], live: Sequence[str],
              dead: dict[str, dt.datetime | None]) -> list[Any]:
    found: list[Any] = []
    if live:
        found += conn.execute(live_stmt, {"ids": live}).all()
    table = live_stmt.selected_columns[0].table
    for image_id, deleted_at in dead.items():
        # A deleted image owns the rows deleted with it (rare: tools only).
        stmt = (sa.select(*live_stmt.selected_columns)
                .where(owned_by(table, [image_id], deleted_at)).order_by(table.c.id))
        found += conn.execute(stmt).all()
    return found


def _image(row: Any, props: dict[str, str], tags: set[str], locs: list[Location]) -> Image:
    """The image of a row, remembering it as loaded (a save writes only what changes)."""
    return Image(
        id=row.id,
        name=row.name,
        status=row.status,
        visibility=row.visibility,
        protected=bool(row.protected),
        os_hidden=bool(row.os_hidden),
        checksum=row.checksum,
        os_hash_algo=row.os_hash_algo,
        os_hash_value=row.os_hash_value,
        size=row.size,
        virtual_size=row.virtual_size,
        min_disk=row.min_disk,
        min_ram=row.min_ram,
        disk_format=row.disk_format,
        container_format=row.container_format,
        owner=row.owner,
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
        deleted=bool(row.deleted),
        deleted_at=row.deleted_at,
        properties=props,
        tags=tags,
        locations=locs,
    ).remember()


def member(row: Any) -> Member:
    return Member(
        image_id=row.image_id,
        member_id=row.member,
        status=row.status,
        can_share=bool(row.can_share),
        created_at=row.created_at,
        updated_at=row.updated_at or row.created_at,
    )


def insert_image(conn: sa.Connection, image: Image) -> None:
    """Insert a new image and its children; a taken id fails on the primary key."""
    now = image.created_at
    stamps = {"created_at": now, "updated_at": now, "deleted": False}
    conn.execute(sa.insert(images).values(
        id=image.id, created_at=now, updated_at=image.updated_at, deleted=False,
        **image_values(image)))
    if image.properties:
        conn.execute(sa.insert(image_properties), [
            {"image_id": image.id, "name": k, "value": v, **stamps}
            for k, v in image.properties.items()])
    if image.tags:
        conn.execute(sa.insert(image_tags), [
            {"image_id": image.id, "value": t, **stamps} for t in sorted(image.tags)])
    # One statement per location keeps ids in list order (the order is the id order).
    for loc in image.locations:
        if loc.status != "deleted":
            conn.execute(sa.insert(image_locations).values(
                image_id=image.id, value=loc.url, meta_data=loc.metadata,
                status=loc.status, **stamps))


def sync_properties(conn: sa.Connection, image: Image, now: dt.datetime) -> None:
    """Make the live property rows equal ``image.properties``.

    (image_id, name) is unique across deleted rows too, so a property that comes back
    revives its old row instead of inserting a second one.
    """
    rows = {r.name: r for r in conn.execute(
        sa.select(image_properties.c.id, image_properties.c.name, image_properties.c.value,
                  image_properties.c.deleted)
        .where(image_properties.c.image_id == image.id)
    )}
    new = []
    for name, value in image.properties.items():
        row = rows.get(name)
        if row is None:
            new.append({"image_id": image.id, "name": name, "value": value,
                        "created_at": now, "updated_at": now, "deleted": False})
        elif row.deleted or row.value != value:
            conn.execute(sa.update(image_properties).where(image_properties.c.id == row.id)
                         .values(value=value, deleted=False, deleted_at=None, updated_at=now))
    if new:
        conn.execute(sa.insert(image_properties), new)
    gone = [r.id for name, r in rows.items() if not r.deleted and name not in image.properties]
    soft_delete(conn, image_properties, image_properties.c.id.in_(gone), now)


def sync_tags(conn: sa.Connection, image: Image, now: dt.datetime) -> None:
    """Make the live tag rows equal the set ``image.tags``."""
    current: dict[str, int] = {}
    gone: list[int] = []
    for row in conn.execute(sa.select(image_tags.c.id, image_tags.c.value).where(
            owned_by(image_tags, [image.id], None)).order_by(image_tags.c.id)):
        if row.value in image.tags and row.value not in current:
            current[row.value] = row.id
        else:
            gone.append(row.id)
    new = [{"image_id": image.id, "value": t, "created_at": now, "updated_at": now,
            "deleted": False} for t in sorted(image.tags - current.keys())]
    if new:
        conn.execute(sa.insert(image_tags), new)
    soft_delete(conn, image_tags, image_tags.c.id.in_(gone), now)


def sync_locations(conn: sa.Connection, image: Image, now: dt.datetime, *,
                   known: set[int] | None = None) -> None:
    """Make the live location rows equal ``image.locations``, in that order.

    Order matters (the first location is ``direct_url``) but has no column: rows are read
    in id order. A location kept in place is updated; one that moved ahead of a later row
    is re-inserted so that id order follows list order. Locations with status ``deleted``,
    and rows no longer listed, are soft-deleted; with ``known`` (the rows the image was
    read with), only those: a row another request added meanwhile stays.
    """
    existing = {r.id for r in conn.execute(
        sa.select(image_locations.c.id).where(owned_by(image_locations, [image.id], None)))}
    if known is not None:
        existing &= known
    kept: set[int] = set()
    highest = 0
    for loc in image.locations:
        if loc.id in existing and loc.id is not None and loc.id > highest:
            highest = loc.id
            kept.add(loc.id)
            values: dict[str, Any] = {"value": loc.url, "meta_data": loc.metadata,
                                      "status": loc.status, "updated_at": now}
            if loc.status == "deleted":
                values.update(deleted=True, deleted_at=now)
            conn.execute(sa.update(image_locations).where(image_locations.c.id == loc.id)
                         .values(**values))
        elif loc.status != "deleted":
            result = conn.execute(sa.insert(image_locations).values(
                image_id=image.id, value=loc.url, meta_data=loc.metadata, status=loc.status,
                created_at=now, updated_at=now, deleted=False))
            highest = result.inserted_primary_key[0]
    gone = existing - kept
    if gone:
        conn.execute(sa.update(image_locations).where(image_locations.c.id.in_(gone))
                     .values(status="deleted", deleted=True, deleted_at=now, updated_at=now))


def soft_delete(conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool],
                now: dt.datetime) -> None:
    conn.execute(sa.update(table).where(where, table.c.deleted == sa.false())
                 .values(deleted=True, deleted_at=now, updated_at=now))
