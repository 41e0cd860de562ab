"""What ``save`` writes: the difference between an image and what it was read as.

A PATCH or a tag PUT reads the image, changes one thing, and saves. Rewriting the whole
record would erase what parallel requests changed in between (a lost update). So a save
writes only its own changes, each as one row-level statement: the changed columns of the
``images`` row, an insert-or-update of one property row, a soft delete of one, an insert
of a tag row unless a live one exists. All of them run in the save's transaction, after
the compare-and-set ``UPDATE`` of the image row has taken that row's lock, so writers of
one image apply their changes one after the other, each on top of the previous one.

An image that was never read (``loaded is None``: built in code) has no difference to
speak of; its save makes the rows equal to it, as a full write.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from glance_svc.db.sqlalchemy import rows
from glance_svc.db.sqlalchemy.models import image_properties, image_tags
from glance_svc.domain.image import Image


@dataclasses.dataclass
class ImageChanges:
    """The writes one save makes, and what it adds (the quotas it must re-check)."""

    columns: dict[str, Any]
    set_properties: dict[str, str]
    removed_properties: set[str]
    added_tags: set[str]
    removed_tags: set[str]
    locations_changed: bool
    # Location rows the image was read with: only these may be removed by this save.
    known_locations: set[int] | None
    adds_properties: bool
    adds_locations: bool
    full: bool = False

    @classmethod
    def of(cls, image: Image) -> ImageChanges:
        old = image.loaded
        if old is None:
            return cls(columns=rows.image_values(image), set_properties=dict(image.properties),
                       removed_properties=set(), added_tags=set(image.tags),
                       removed_tags=set(), locations_changed=True, known_locations=None,
                       adds_properties=bool(image.properties),
                       adds_locations=bool(image.locations), full=True)
        return cls(
            columns={name: value for name, value in rows.image_values(image).items()
                     if getattr(old, name) != value},
            set_properties={k: v for k, v in image.properties.items()
                            if old.properties.get(k) != v},
            removed_properties=set(old.properties) - set(image.properties),
            added_tags=image.tags - old.tags,
            removed_tags=old.tags - image.tags,
            locations_changed=image.locations != old.locations,
            known_locations={loc.id for loc in old.locations if loc.id is not None},
            adds_properties=bool(image.properties.keys() - old.properties.keys()),
            adds_locations=len(image.active_locations) > len(old.active_locations),
        )

    def write(self, conn: sa.Connection, image: Image, now: dt.datetime) -> None:
        """The child-row statements (the image row's columns are the caller's UPDATE)."""
        if self.full:
            rows.sync_properties(conn, image, now)
            rows.sync_tags(conn, image, now)
        else:
            for name, value in self.set_properties.items():
                set_property(conn, image.id, name, value, now)
            for name in self.removed_properties:
                remove_property(conn, image.id, name, now)
            for tag in sorted(self.added_tags):
                add_tag(conn, image.id, tag, now)
            if self.removed_tags:
                rows.soft_delete(conn, image_tags, sa.and_(
                    image_tags.c.image_id == image.id,
                    image_tags.c.value.in_(sorted(self.removed_tags))), now)
        if self.locations_changed:
            rows.sync_locations(conn, image, now, known=self.known_locations)


def set_property(conn: sa.Connection, image_id: str, name: str, value: str,
                 now: dt.datetime) -> None:
    """Insert or update one property row.

    (image_id, name) is unique across deleted rows too, so a property that comes back
    revives its old row. The caller holds the image row's lock, so no other writer can
    insert the same name between the UPDATE and the INSERT.
    """
    revived = conn.execute(sa.update(image_properties).where(
        image_properties.c.image_id == image_id, image_properties.c.name == name,
    ).values(value=value, deleted=False, deleted_at=None, updated_at=now))
    if revived.rowcount == 0:
        conn.execute(sa.insert(image_properties).values(
            image_id=image_id, name=name, value=value, created_at=now, updated_at=now,
            deleted=False))


def remove_property(conn: sa.Connection, image_id: str, name: str, now: dt.datetime) -> None:
    rows.soft_delete(conn, image_properties, sa.and_(
        image_properties.c.image_id == image_id, image_properties.c.name == name), now)


def add_tag(conn: sa.Connection, image_id: str, tag: str, now: dt.datetime) -> None:
    """Insert a live tag row unless the image already carries the tag (added meanwhile)."""
    present = conn.execute(sa.select(image_tags.c.id).where(
        image_tags.c.image_id == image_id, image_tags.c.value == tag,
        image_tags.c.deleted == sa.false()).limit(1)).first()
    if present is None:
        conn.execute(sa.insert(image_tags).values(
            image_id=image_id, value=tag, created_at=now, updated_at=now, deleted=False))
