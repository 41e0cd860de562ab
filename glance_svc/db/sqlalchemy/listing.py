"""SQL for ``GET /v2/images``: who sees what (spec §3.2, §4.2), filters, order, marker.

Pure query building, no I/O, so the rules can be unit-tested by compiling the statements
and exercised on SQLite and MariaDB by the functional suite.

Paging is keyset pagination: the next page holds the rows that sort strictly after the
marker image in the requested order. The order always ends with ``created_at`` and the
unique ``id``, so it is total and pages never overlap or skip rows, even when many images
share a name or a creation second. NULL sorts lowest (what SQLite and MariaDB both do for
``ORDER BY``), and the marker comparison follows the same convention.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from glance_svc import errors
from glance_svc.db.sqlalchemy.models import image_members, image_properties, image_tags, images
from glance_svc.domain.image import UNLISTED_STATUSES
from glance_svc.domain.query import SORT_KEYS, DateFilter, ImageQuery

SORT_DIRS = ("asc", "desc")
TIE_BREAKERS = ("created_at", "id")
# Columns a filter may never address: they are the repository's own bookkeeping.
PRIVATE_COLUMNS = frozenset({"deleted", "deleted_at"})

_DATE_OPS = {
    "gt": lambda col, v: col > v,
    "gte": lambda col, v: col >= v,
    "lt": lambda col, v: col < v,
    "lte": lambda col, v: col <= v,
    "eq": lambda col, v: col == v,
    "neq": lambda col, v: col != v,
}


def sort_order(query: ImageQuery) -> list[tuple[str, str]]:
    """The full ``(key, dir)`` order: the requested keys, then the tie-breakers.

    As in Glance, tie-breakers take the single requested direction, or ``desc`` when
    several directions (or none) were given.
    """
    keys = list(query.sort_keys) or ["created_at"]
    dirs = list(query.sort_dirs)
    for key in keys:
        if key not in SORT_KEYS:
            raise errors.BadRequest(f"Invalid sort key: {key}.")
    for direction in dirs:
        if direction not in SORT_DIRS:
            raise errors.BadRequest(f"Invalid sort direction: {direction}.")
    if not dirs:
        default = "desc"
        dirs = [default] * len(keys)
    elif len(dirs) == 1:
        default = dirs[0]
        dirs = dirs * len(keys)
    elif len(dirs) == len(keys):
        default = "desc"
    else:
        raise errors.BadRequest("The number of sort_dir values must match the sort_key values.")
    order = list(zip(keys, dirs, strict=True))
    for key in TIE_BREAKERS:
        if key not in keys:
            order.append((key, default))
    return order


def order_by(order: Sequence[tuple[str, str]]) -> list[sa.ColumnElement[Any]]:
    return [images.c[key].asc() if d == "asc" else images.c[key].desc() for key, d in order]


def after_marker(order: Sequence[tuple[str, str]], marker: Any) -> sa.ColumnElement[bool]:
    """Rows strictly after ``marker`` (a row of ``images``) in ``order``.

    ``(k1 > m1) OR (k1 = m1 AND k2 > m2) OR ...`` with ``>`` meaning "later in this
    direction" and NULL counted as the smallest value.
    """
    alternatives = []
    equal_so_far: list[sa.ColumnElement[bool]] = []
    for key, direction in order:
        col = images.c[key]
        value = getattr(marker, key)
        alternatives.append(sa.and_(*equal_so_far, _later(col, value, direction)))
        equal_so_far.append(col.is_(None) if value is None else col == value)
    return sa.or_(*alternatives)


def _later(col: sa.ColumnElement[Any], value: Any, direction: str) -> sa.ColumnElement[bool]:
    if direction == "asc":
        return col.is_not(None) if value is None else col > value
    if value is None:
        return sa.false()
    return sa.or_(col < value, col.is_(None))


def visibility(query: ImageQuery) -> sa.ColumnElement[bool]:
    """Which images the caller may list (spec §3.2, §4.2).

    Readable: everything for admins; otherwise public and community images, the caller's
    own, images without an owner, and shared images the caller is a member of with the
    asked ``member_status``. Then the ``visibility`` parameter narrows: unset hides other
    projects' community images (admins too), ``all`` keeps every readable image.
    """
    owned = images.c.owner == query.project_id if query.project_id else sa.false()
    if query.visibility is None:
        scope = sa.or_(images.c.visibility != "community", owned)
    elif query.visibility == "all":
        scope = sa.true()
    else:
        scope = images.c.visibility == query.visibility
    return sa.and_(readable(query, query.member_status), scope)


def readable(query: ImageQuery, member_status: str) -> sa.ColumnElement[bool]:
    """Images the caller may read at all; shared ones only with this membership status.

    The marker of a page must be readable with any status (``all``): a member may page
    from an image it has not accepted yet, as in Glance.
    """
    if query.is_admin:
        return sa.true()
    return sa.or_(
        images.c.visibility.in_(("public", "community")),
        images.c.owner == query.project_id if query.project_id else sa.false(),
        images.c.owner.is_(None),
        _shared_with(query.project_id, member_status),
    )


def _shared_with(project_id: str | None, member_status: str) -> sa.ColumnElement[bool]:
    if not project_id:
        return sa.false()
    conditions = [
        image_members.c.image_id == images.c.id,
        image_members.c.member == project_id,
        image_members.c.deleted == sa.false(),
    ]
    if member_status != "all":
        conditions.append(image_members.c.status == member_status)
    return sa.and_(images.c.visibility == "shared", sa.exists().where(*conditions))


def filters(query: ImageQuery) -> list[sa.ColumnElement[bool]]:
    """The filter parameters of the query as SQL conditions (all must hold)."""
    conds: list[sa.ColumnElement[bool]] = [
        images.c.deleted == sa.false(),
        images.c.status.not_in(sorted(UNLISTED_STATUSES)),
        images.c.os_hidden == sa.true() if query.os_hidden else images.c.os_hidden == sa.false(),
    ]
    for key, values in query.columns.items():
        conds.append(_in(key, values))
    if query.owner is not None:
        conds.append(images.c.owner == query.owner)
    for tag in query.tags:
        conds.append(sa.exists().where(
            image_tags.c.image_id == images.c.id,
            image_tags.c.value == tag,
            image_tags.c.deleted == sa.false(),
        ))
    if query.size_min is not None:
        conds.append(images.c.size >= query.size_min)
    if query.size_max is not None:
        conds.append(images.c.size <= query.size_max)
    conds += [_date(images.c.created_at, f) for f in query.created_at]
    conds += [_date(images.c.updated_at, f) for f in query.updated_at]
    if query.protected is not None:
        conds.append(images.c.protected == (sa.true() if query.protected else sa.false()))
    for key, value in query.properties.items():
        conds.append(_in(key, [value]))
    return conds


def _in(key: str, values: Sequence[str]) -> sa.ColumnElement[bool]:
    """A column filter if ``key`` is an image column, else a custom-property filter."""
    if key in images.c and key not in PRIVATE_COLUMNS:
        col = images.c[key]
        return col.in_([coerce(col, key, v) for v in values])
    return sa.exists().where(
        image_properties.c.image_id == images.c.id,
        image_properties.c.name == key,
        image_properties.c.value.in_(list(values)),
        image_properties.c.deleted == sa.false(),
    )


def coerce(col: sa.ColumnElement[Any], key: str, value: str) -> Any:
    """Turn a query-string value into the column's type, or 400."""
    python_type = col.type.python_type
    if python_type is bool:
        lowered = str(value).lower()
        if lowered not in ("true", "false"):
            raise errors.BadRequest(
                f"Invalid value '{value}' for filter {key}: expected a boolean."
            )
        return lowered == "true"
    if python_type is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise errors.BadRequest(
                f"Invalid value '{value}' for filter {key}: expected an integer."
            ) from None
    if python_type is dt.datetime:
        raise errors.BadRequest(f"Filter {key} needs an operator, e.g. {key}=gte:<time>.")
    return value


def _date(col: sa.ColumnElement[Any], flt: DateFilter) -> sa.ColumnElement[bool]:
    if flt.op not in _DATE_OPS:
        raise errors.BadRequest(f"Invalid time operator: {flt.op}.")
    value = flt.value
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return _DATE_OPS[flt.op](col, value)
