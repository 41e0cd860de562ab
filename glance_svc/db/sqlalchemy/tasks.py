"""Task records over SQL: the ``tasks`` row and its ``task_info`` (input, result, message).

A mixin of ``SqlImageRepository``, so the registry, which serves exactly that object's
public methods, serves tasks too. ``input`` and ``result`` are JSON text as in Glance's
schema; ``message`` is ``""`` rather than NULL when empty (spec §2.3).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from glance_svc import errors
from glance_svc.db.sqlalchemy.models import task_info, tasks
from glance_svc.domain.task import Task, TaskQuery

_JOINED = sa.select(tasks, task_info.c.input, task_info.c.result, task_info.c.message
                    ).select_from(tasks.outerjoin(task_info,
                                                  task_info.c.task_id == tasks.c.id))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)  # type: ignore[no-any-return]


def _task(row: sa.Row[Any]) -> Task:
    return Task(id=row.id, type=row.type, status=row.status, owner=row.owner,
                input=_load(row.input), result=_load(row.result), message=row.message or "",
                image_id=row.image_id, request_id=row.request_id, user_id=row.user_id,
                expires_at=row.expires_at, created_at=row.created_at,
                updated_at=row.updated_at, deleted=bool(row.deleted),
                deleted_at=row.deleted_at)


def _unexpired(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.or_(tasks.c.expires_at.is_(None), tasks.c.expires_at > now)


class SqlTaskRepository:
    """The task half of the repository contract (``domain.repository``)."""

    engine: sa.Engine

    def create_task(self, task: Task) -> Task:
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(sa.insert(tasks).values(
                id=task.id, type=task.type, status=task.status, owner=task.owner,
                expires_at=task.expires_at, image_id=task.image_id,
                request_id=task.request_id, user_id=task.user_id, created_at=now,
                updated_at=now, deleted=False))
            conn.execute(sa.insert(task_info).values(
                task_id=task.id, input=_json(task.input), result=_json(task.result),
                message=task.message))
            return self._get_task(conn, task.id)

    def get_task(self, task_id: str) -> Task:
        with self.engine.connect() as conn:
            return self._get_task(conn, task_id)

    def _get_task(self, conn: sa.Connection, task_id: str) -> Task:
        row = conn.execute(_JOINED.where(tasks.c.id == task_id,
                                         tasks.c.deleted == sa.false())).first()
        if row is None:
            raise errors.NotFound(f"Task with the given id {task_id} not found")
        return _task(row)

    def save_task(self, task: Task) -> Task:
        with self.engine.begin() as conn:
            matched = conn.execute(
                sa.update(tasks).where(tasks.c.id == task.id, tasks.c.deleted == sa.false())
                .values(status=task.status, expires_at=task.expires_at, updated_at=_now())
            ).rowcount
            if not matched:
                raise errors.NotFound(f"Task with the given id {task.id} not found")
            conn.execute(sa.update(task_info).where(task_info.c.task_id == task.id).values(
                result=_json(task.result), message=task.message))
            return self._get_task(conn, task.id)

    def list_tasks(self, query: TaskQuery) -> list[Task]:
        key = tasks.c[query.sort_key]
        descending = query.sort_dir == "desc"
        stmt = _JOINED.where(tasks.c.deleted == sa.false())
        if query.owner is not None:
            stmt = stmt.where(tasks.c.owner == query.owner)
        if query.status is not None:
            stmt = stmt.where(tasks.c.status == query.status)
        if query.type is not None:
            stmt = stmt.where(tasks.c.type == query.type)
        with self.engine.connect() as conn:
            if query.marker is not None:
                marker = conn.execute(sa.select(key, tasks.c.id).where(
                    tasks.c.id == query.marker)).first()
                if marker is None:
                    raise errors.BadRequest(f"Invalid marker {query.marker}")
                stmt = stmt.where(_after(key, marker[0], marker[1], descending))
            order = (key.desc(), tasks.c.id.desc()) if descending else (key, tasks.c.id)
            rows = conn.execute(stmt.order_by(*order).limit(query.limit)).all()
        return [_task(row) for row in rows]

    def list_image_tasks(self, image_id: str, owner: str | None, now: dt.datetime
                         ) -> list[Task]:
        stmt = _JOINED.where(tasks.c.image_id == image_id, _unexpired(now))
        if owner is not None:
            stmt = stmt.where(tasks.c.deleted == sa.false(),
                              sa.or_(tasks.c.owner == owner, tasks.c.owner == ""))
        with self.engine.connect() as conn:
            return [_task(row) for row in conn.execute(stmt.order_by(tasks.c.created_at))]

    def expire_tasks(self, now: dt.datetime, owner: str | None = None) -> int:
        stmt = sa.update(tasks).where(tasks.c.deleted == sa.false(),
                                      tasks.c.expires_at <= now)
        if owner is not None:
            stmt = stmt.where(tasks.c.owner == owner)
        with self.engine.begin() as conn:
            return int(conn.execute(stmt.values(deleted=True, deleted_at=now)).rowcount)


def _after(key: sa.Column[Any], value: Any, marker_id: str, descending: bool
           ) -> sa.ColumnElement[bool]:
    """Rows after the marker row in (key, id) order; a NULL key sorts first, as in SQL."""
    def later(col: Any, bound: Any) -> sa.ColumnElement[bool]:
        return col < bound if descending else col > bound

    same = key.is_(None) if value is None else key == value
    tie = sa.and_(same, later(tasks.c.id, marker_id))
    if value is None:  # NULLs sort first ascending, last descending
        beyond: sa.ColumnElement[bool] = sa.false() if descending else key.is_not(None)
    else:
        beyond = sa.or_(later(key, value), key.is_(None)) if descending else later(key, value)
    return sa.or_(beyond, tie)
