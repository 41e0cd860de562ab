"""The image cache's shared records in SQL: ``node_reference`` and ``cached_images``.

``SqlImageRepository`` delegates its ``cache_*`` calls here, so the repository module keeps
to images and members. Times are stored naive UTC like every other table and handed out as
UTC epoch seconds, the form ``GET /v2/cache`` shows.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc

from glance_svc.db.sqlalchemy.models import cached_images, node_reference
from glance_svc.domain.image import utcnow


def _epoch(value: dt.datetime) -> float:
    return calendar.timegm(value.timetuple()) + value.microsecond / 1e6


def node_id(conn: sa.Connection, node_url: str) -> int | None:
    """The row id of ``node_url``, None if it never recorded anything."""
    return conn.execute(sa.select(node_reference.c.node_reference_id).where(
        node_reference.c.node_reference_url == node_url)).scalar()


def ensure_node(engine: sa.Engine, node_url: str) -> int:
    """The row id of ``node_url``, inserted in a transaction of its own when missing, so
    two workers of one node racing to insert it both end up with the same row."""
    with engine.connect() as conn:
        found = node_id(conn, node_url)
    if found is not None:
        return found
    try:
        with engine.begin() as conn:
            conn.execute(node_reference.insert().values(node_reference_url=node_url))
    except db_exc.DBDuplicateEntry:
        pass  # another worker of this node inserted it first
    with engine.connect() as conn:
        found = node_id(conn, node_url)
    assert found is not None
    return found


def add(conn: sa.Connection, node: int, image_id: str, size: int) -> None:
    now = utcnow()
    conn.execute(cached_images.delete().where(cached_images.c.node_reference_id == node,
                                              cached_images.c.image_id == image_id))
    conn.execute(cached_images.insert().values(
        image_id=image_id, node_reference_id=node, size=size, hits=0,
        last_accessed=now, last_modified=now, checksum=None))


def hit(conn: sa.Connection, node_url: str, image_id: str) -> None:
    node = node_id(conn, node_url)
    if node is None:
        return
    conn.execute(cached_images.update()
                 .where(cached_images.c.node_reference_id == node,
                        cached_images.c.image_id == image_id)
                 .values(hits=cached_images.c.hits + 1, last_accessed=utcnow()))


def entries(conn: sa.Connection, node_url: str) -> list[dict[str, Any]]:
    node = node_id(conn, node_url)
    if node is None:
        return []
    rows = conn.execute(sa.select(cached_images)
                        .where(cached_images.c.node_reference_id == node)
                        .order_by(cached_images.c.last_accessed, cached_images.c.id))
    return [{"id": row.id, "image_id": row.image_id,
             "last_accessed": _epoch(row.last_accessed),
             "last_modified": _epoch(row.last_modified),
             "size": row.size, "hits": row.hits, "checksum": None} for row in rows]


def forget(conn: sa.Connection, node_url: str, image_ids: list[str] | None) -> int:
    node = node_id(conn, node_url)
    if node is None:
        return 0
    stmt = cached_images.delete().where(cached_images.c.node_reference_id == node)
    if image_ids is not None:
        stmt = stmt.where(cached_images.c.image_id.in_(image_ids))
    return conn.execute(stmt).rowcount


def nodes(conn: sa.Connection, image_id: str) -> list[str]:
    stmt = (sa.select(node_reference.c.node_reference_url)
            .join(cached_images, cached_images.c.node_reference_id
                  == node_reference.c.node_reference_id)
            .where(cached_images.c.image_id == image_id)
            .order_by(node_reference.c.node_reference_url))
    return list(conn.execute(stmt).scalars())

