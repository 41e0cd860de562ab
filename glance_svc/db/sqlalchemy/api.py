"""``SqlImageRepository``: the ``ImageRepository`` contract over SQL (SQLite, MariaDB/MySQL).

Writes run in one transaction each and are retried on deadlock (InnoDB may pick any of two
racing transactions as the victim; the retry makes that invisible to the caller).
Status changes are compare-and-set: ``UPDATE images ... WHERE id = ? AND status = ?``
and a check of the matched row count, which is atomic on every backend, so two racing
uploads, or an upload and a delete, cannot both win. (SQLAlchemy's MySQL dialects set
``CLIENT_FOUND_ROWS``, so the count is of matched, not changed, rows.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import api as oslo_db_api
from oslo_db import exception as db_exc

from glance_svc import errors
from glance_svc.db.sqlalchemy import cache_records, changes, listing, rows
from glance_svc.db.sqlalchemy import engine as engine_mod
from glance_svc.db.sqlalchemy.changes import ImageChanges
from glance_svc.db.sqlalchemy.models import (
    image_locations,
    image_members,
    image_properties,
    image_tags,
    images,
    task_info,
    tasks,
)
from glance_svc.db.sqlalchemy.tasks import SqlTaskRepository
from glance_svc.domain import quotas
from glance_svc.domain.image import (
    ACTIVE,
    DELETED,
    PENDING_DELETE,
    STORAGE_COUNTED,
    Image,
    Member,
    utcnow,
)
from glance_svc.domain.query import ImageQuery
from glance_svc.domain.quotas import Limits

# Child tables ``db purge`` cleans, children first (foreign keys).
IMAGE_CHILD_TABLES = (image_properties, image_locations, image_members, image_tags)
_PURGE_CHUNK = 500

F = TypeVar("F", bound=Callable[..., Any])


def _retry(func: F) -> F:
    return oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True)(func)  # type: ignore[no-any-return]


class SqlImageRepository(SqlTaskRepository):
    """Image records (and task records) in a SQL database reached through one oslo.db
    engine it owns."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> SqlImageRepository:
        return cls(engine_mod.create_engine(conf))

    def close(self) -> None:
        """Close pooled connections (tools and tests; the API keeps it open)."""
        self.engine.dispose()

    # --- images -----------------------------------------------------------------------
    @_retry
    def create(self, image: Image) -> Image:
        try:
            with self.engine.begin() as conn:
                # Soft-deleted rows stay, so the primary key alone refuses a reused id.
                rows.insert_image(conn, image)
                return self._get(conn, image.id, include_deleted=False)
        except db_exc.DBDuplicateEntry:
            raise errors.Duplicate(
                f"Image with identifier {image.id} already exists!") from None

    def get(self, image_id: str, *, include_deleted: bool = False) -> Image:
        with self.engine.connect() as conn:
            return self._get(conn, image_id, include_deleted=include_deleted)

    def _get(self, conn: sa.Connection, image_id: str, *, include_deleted: bool) -> Image:
        stmt = sa.select(images).where(images.c.id == image_id)
        if not include_deleted:
            stmt = stmt.where(images.c.deleted == sa.false())
        row = conn.execute(stmt).first()
        if row is None:
            raise errors.NotFound(f"No image found with ID {image_id}")
        return rows.load_images(conn, [row])[0]

    def list(self, query: ImageQuery) -> list[Image]:
        order = listing.sort_order(query)
        conds = [listing.visibility(query), *listing.filters(query)]
        with self.engine.connect() as conn:
            if query.marker is not None:
                conds.append(listing.after_marker(order, self._marker(conn, query)))
            if query.limit <= 0:
                return []
            stmt = (sa.select(images).where(*conds).order_by(*listing.order_by(order))
                    .limit(query.limit))
            return rows.load_images(conn, conn.execute(stmt).all())

    def _marker(self, conn: sa.Connection, query: ImageQuery) -> Any:
        """The marker's row if the caller may see it (any member status), else 400."""
        row = conn.execute(sa.select(images).where(
            images.c.id == query.marker, images.c.deleted == sa.false(),
            listing.readable(query, "all"))).first()
        if row is None:
            raise errors.BadRequest(f"No image found with ID {query.marker}")
        return row

    @_retry
    def save(self, image: Image, *, from_status: str | None = None,
             limits: Limits | None = None) -> Image:
        now = utcnow()
        diff = ImageChanges.of(image)
        with self.engine.begin() as conn:
            if limits is not None and limits.storage > 0 and _adds_data(image):
                # Before the image row: every quota-checking save takes the owner's rows
                # first, so two of them wait for each other instead of deadlocking.
                self._check_storage(conn, image, limits.storage)
            # The UPDATE comes first: on InnoDB it takes the row lock (SQLite holds the
            # write lock already), so the writers of one image apply their changes one
            # after the other, each on top of the previous one, and the counts read
            # below include every earlier writer's rows.
            self._compare_and_set(conn, image.id, from_status,
                                  {**diff.columns, "updated_at": now})
            diff.write(conn, image, now)
            stored = self._get(conn, image.id, include_deleted=False)
            if limits is not None:
                limits.check_image(stored, properties=diff.adds_properties,
                                   tags=bool(diff.added_tags),
                                   locations=diff.adds_locations)
            return stored

    @staticmethod
    def _check_storage(conn: sa.Connection, image: Image, quota: int) -> None:
        """413 if the owner's data plus this image's would exceed ``quota`` bytes.

        ``FOR UPDATE`` locks the owner's image rows (InnoDB; SQLite serializes writers
        anyway) and reads their latest committed sizes, so parallel uploads of one
        project are counted one after the other and cannot together overshoot.
        """
        who = images.c.owner.is_(None) if image.owner is None else images.c.owner == image.owner
        held = conn.execute(sa.select(images.c.id, images.c.size, images.c.status).where(
            who, images.c.deleted == sa.false()).order_by(images.c.id).with_for_update()).all()
        used = sum(row.size or 0 for row in held
                   if row.id != image.id and row.status in STORAGE_COUNTED)
        size = image.size or 0
        if used + size > quota:
            raise quotas.storage_exceeded(size, quota - used)

    @_retry
    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> Image:
        now = utcnow()
        with self.engine.begin() as conn:
            # Touching the image row first takes its lock (InnoDB; SQLite already holds the
            # write lock), so concurrent callers compare one after the other.
            self._compare_and_set(conn, image_id, None, {"updated_at": now})
            image = self._get(conn, image_id, include_deleted=False)
            current = image.properties.get(name)
            if current != expected:
                raise errors.StaleStatus(
                    f"Property {name} of image {image_id} is {current!r}, no longer "
                    f"{expected!r}: it was changed by another request")
            if value is None:
                changes.remove_property(conn, image_id, name, now)
            else:
                changes.set_property(conn, image_id, name, value, now)
            return self._get(conn, image_id, include_deleted=False)

    def _compare_and_set(self, conn: sa.Connection, image_id: str, from_status: str | None,
                         values: dict[str, Any], *, live_only: bool = True) -> None:
        stmt = sa.update(images).where(images.c.id == image_id).values(**values)
        if live_only:
            stmt = stmt.where(images.c.deleted == sa.false())
        if from_status is not None:
            stmt = stmt.where(images.c.status == from_status)
        if conn.execute(stmt).rowcount == 1:
            return
        row = conn.execute(
            sa.select(images.c.status, images.c.deleted).where(images.c.id == image_id)).first()
        if row is None or (live_only and row.deleted):
            raise errors.NotFound(f"No image found with ID {image_id}")
        raise errors.StaleStatus(
            f"Image {image_id} is {row.status}, no longer {from_status}: "
            "it was changed by another request")

    @_retry
    def mark_deleted(self, image: Image, *, status: str, from_status: str | None = None
                     ) -> Image:
        if status not in (DELETED, PENDING_DELETE):
            raise ValueError(f"mark_deleted needs deleted or pending_delete, not {status}")
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(images.c.deleted, images.c.deleted_at)
                               .where(images.c.id == image.id)).first()
            if row is None:
                raise errors.NotFound(f"No image found with ID {image.id}")
            # A second call (the scrubber recording progress) keeps the first deletion time:
            # scrub_time counts from it, and it ties the children to the image.
            stamp = row.deleted_at if row.deleted and row.deleted_at else now
            if not row.deleted:
                self._separate_earlier_deletions(conn, image.id, stamp)
            self._compare_and_set(conn, image.id, from_status, {
                "status": status, "deleted": True, "deleted_at": stamp, "updated_at": now,
            }, live_only=False)
            for table in (image_properties, image_tags, image_members):
                conn.execute(sa.update(table).where(
                    table.c.image_id == image.id, table.c.deleted == sa.false(),
                ).values(deleted=True, deleted_at=stamp, updated_at=now))
            self._delete_locations(conn, image, stamp, now, was_deleted=bool(row.deleted))
            return self._get(conn, image.id, include_deleted=True)

    @staticmethod
    def _separate_earlier_deletions(conn: sa.Connection, image_id: str, stamp: dt.datetime
                                    ) -> None:
        """Keep ``deleted_at == image.deleted_at`` meaning "deleted with the image".

        A property, tag, member or location removed earlier in the same second would
        otherwise look like part of the cascade (timestamps have second precision) and
        ``restore`` would bring it back. Such rows are dated one second earlier.
        """
        earlier = stamp - dt.timedelta(seconds=1)
        for table in IMAGE_CHILD_TABLES:
            conn.execute(sa.update(table).where(
                table.c.image_id == image_id, table.c.deleted == sa.true(),
                table.c.deleted_at >= stamp,
            ).values(deleted_at=earlier))

    @staticmethod
    def _delete_locations(conn: sa.Connection, image: Image, stamp: dt.datetime,
                          now: dt.datetime, *, was_deleted: bool) -> None:
        """Soft-delete the image's locations with the statuses the caller chose."""
        owned = rows.owned_by(image_locations, [image.id], stamp if was_deleted else None)
        ids = set(conn.execute(sa.select(image_locations.c.id).where(owned)).scalars())
        wanted = {loc.id: loc.status for loc in image.locations if loc.id in ids}
        by_status: dict[str, list[int]] = {}
        for loc_id in ids:
            by_status.setdefault(wanted.get(loc_id, DELETED), []).append(loc_id)
        for loc_status, loc_ids in by_status.items():
            conn.execute(sa.update(image_locations).where(image_locations.c.id.in_(loc_ids))
                         .values(status=loc_status, deleted=True, deleted_at=stamp,
                                 updated_at=now))

    @_retry
    def restore(self, image_id: str) -> Image:
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(images.c.status, images.c.deleted_at)
                               .where(images.c.id == image_id)).first()
            if row is None:
                raise errors.NotFound(f"No image found with ID {image_id}")
            if row.status != PENDING_DELETE:
                raise errors.InvalidStatusTransition(row.status, ACTIVE)
            self._compare_and_set(conn, image_id, PENDING_DELETE, {
                "status": ACTIVE, "deleted": False, "deleted_at": None, "updated_at": now,
            }, live_only=False)
            undelete = {"deleted": False, "deleted_at": None, "updated_at": now}
            for table in (image_properties, image_tags, image_members):
                conn.execute(sa.update(table).where(
                    table.c.image_id == image_id, table.c.deleted == sa.true(),
                    table.c.deleted_at == row.deleted_at,
                ).values(**undelete))
            conn.execute(sa.update(image_locations).where(
                image_locations.c.image_id == image_id,
                image_locations.c.deleted_at == row.deleted_at,
                image_locations.c.status == PENDING_DELETE,
            ).values(status=ACTIVE, **undelete))
            return self._get(conn, image_id, include_deleted=False)

    # --- members ----------------------------------------------------------------------
    @_retry
    def add_member(self, member: Member, *, limits: Limits | None = None) -> Member:
        with self.engine.begin() as conn:
            # Locking the image row serializes member changes of one image on InnoDB.
            image = conn.execute(sa.select(images.c.id).where(
                images.c.id == member.image_id, images.c.deleted == sa.false(),
            ).with_for_update()).first()
            if image is None:
                raise errors.NotFound(f"No image found with ID {member.image_id}")
            old = conn.execute(sa.select(image_members.c.id, image_members.c.deleted).where(
                image_members.c.image_id == member.image_id,
                image_members.c.member == member.member_id,
            ).order_by(image_members.c.deleted)).first()
            values = {"status": member.status, "can_share": member.can_share,
                      "created_at": member.created_at, "updated_at": member.updated_at,
                      "deleted": False, "deleted_at": None}
            if old is None:
                conn.execute(sa.insert(image_members).values(
                    image_id=member.image_id, member=member.member_id, **values))
            elif old.deleted:
                # Revive the old row: one row per (image, member) keeps the unique key on
                # (image_id, member, deleted_at) from ever colliding.
                conn.execute(sa.update(image_members).where(image_members.c.id == old.id)
                             .values(**values))
            else:
                raise errors.Duplicate(
                    f"Member {member.member_id} is already a member of image "
                    f"{member.image_id}")
            if limits is not None:
                # Counted after the insert, under the image row's lock: parallel adds
                # see each other, and the one over the quota is rolled back.
                count = self._count_members(conn, member.image_id)
                if quotas.over_quota(count, limits.members):
                    raise quotas.members_exceeded(member.image_id, count, limits.members)
            return self._get_member(conn, member.image_id, member.member_id)

    def get_member(self, image_id: str, member_id: str) -> Member:
        with self.engine.connect() as conn:
            return self._get_member(conn, image_id, member_id)

    @staticmethod
    def _get_member(conn: sa.Connection, image_id: str, member_id: str) -> Member:
        row = conn.execute(sa.select(image_members).where(
            image_members.c.image_id == image_id, image_members.c.member == member_id,
            image_members.c.deleted == sa.false(),
        )).first()
        if row is None:
            raise errors.NotFound(f"{member_id} is not a member of image {image_id}")
        return rows.member(row)

    def list_members(self, image_id: str) -> list[Member]:
        with self.engine.connect() as conn:
            return [rows.member(r) for r in conn.execute(sa.select(image_members).where(
                image_members.c.image_id == image_id, image_members.c.deleted == sa.false(),
            ).order_by(image_members.c.created_at, image_members.c.id))]

    @_retry
    def save_member(self, member: Member) -> Member:
        with self.engine.begin() as conn:
            result = conn.execute(sa.update(image_members).where(
                image_members.c.image_id == member.image_id,
                image_members.c.member == member.member_id,
                image_members.c.deleted == sa.false(),
            ).values(status=member.status, can_share=member.can_share, updated_at=utcnow()))
            if result.rowcount == 0:
                raise errors.NotFound(
                    f"{member.member_id} is not a member of image {member.image_id}")
            return self._get_member(conn, member.image_id, member.member_id)

    @_retry
    def delete_member(self, image_id: str, member_id: str) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            result = conn.execute(sa.update(image_members).where(
                image_members.c.image_id == image_id, image_members.c.member == member_id,
                image_members.c.deleted == sa.false(),
            ).values(deleted=True, deleted_at=now, updated_at=now))
            if result.rowcount == 0:
                raise errors.NotFound(f"{member_id} is not a member of image {image_id}")

    # --- accounting and tools ---------------------------------------------------------
    def count_members(self, image_id: str) -> int:
        with self.engine.connect() as conn:
            return self._count_members(conn, image_id)

    @staticmethod
    def _count_members(conn: sa.Connection, image_id: str) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(image_members).where(
            image_members.c.image_id == image_id,
            image_members.c.deleted == sa.false())).scalar_one())

    def storage_used(self, owner: str | None) -> int:
        who = images.c.owner.is_(None) if owner is None else images.c.owner == owner
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.sum(images.c.size)).where(
                who, images.c.deleted == sa.false(), images.c.status.in_(sorted(STORAGE_COUNTED)),
            )).scalar_one()
        return int(total or 0)

    def list_pending_delete(self, deleted_before: dt.datetime, limit: int | None = None
                            ) -> list[Image]:
        stmt = sa.select(images).where(
            images.c.deleted == sa.true(), images.c.status == PENDING_DELETE,
            images.c.deleted_at <= _naive_utc(deleted_before),
        ).order_by(images.c.deleted_at, images.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return rows.load_images(conn, conn.execute(stmt).all())

    def list_with_property(self, name: str) -> list[Image]:
        owned = sa.select(image_properties.c.image_id).where(
            image_properties.c.name == name, image_properties.c.deleted == sa.false())
        stmt = sa.select(images).where(images.c.deleted == sa.false(),
                                       images.c.id.in_(owned)).order_by(images.c.id)
        with self.engine.connect() as conn:
            return rows.load_images(conn, conn.execute(stmt).all())

    def statuses(self, image_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(image_ids), _PURGE_CHUNK):
                chunk = image_ids[start:start + _PURGE_CHUNK]
                rows = conn.execute(sa.select(images.c.id, images.c.status)
                                    .where(images.c.id.in_(chunk)))
                found.update((image_id, status) for image_id, status in rows)
        return found

    def purge(self, age_in_days: int, max_rows: int) -> dict[str, int]:
        cutoff = _cutoff(age_in_days, max_rows)
        counts: dict[str, int] = {}
        with self.engine.begin() as conn:
            for table in IMAGE_CHILD_TABLES:
                extra = []
                if table is image_locations:
                    # Never drop what the scrubber still has to delete from a store.
                    extra.append(image_locations.c.status != PENDING_DELETE)
                ids = _old_deleted_ids(conn, table, table.c.id, cutoff, max_rows, extra)
                counts[table.name] = _delete_ids(conn, table, table.c.id, ids)
            task_ids = _old_deleted_ids(conn, tasks, tasks.c.id, cutoff, max_rows, [])
            counts[task_info.name] = _delete_ids(conn, task_info, task_info.c.task_id, task_ids)
            counts[tasks.name] = _delete_ids(conn, tasks, tasks.c.id, task_ids)
        return counts

    def purge_images(self, age_in_days: int, max_rows: int) -> int:
        cutoff = _cutoff(age_in_days, max_rows)
        unreferenced = [
            ~sa.exists().where(table.c.image_id == images.c.id) for table in IMAGE_CHILD_TABLES
        ]
        with self.engine.begin() as conn:
            ids = _old_deleted_ids(conn, images, images.c.id, cutoff, max_rows, unreferenced)
            return _delete_ids(conn, images, images.c.id, ids)

    # --- image cache ------------------------------------------------------------------
    @_retry
    def cache_add(self, node_url: str, image_id: str, size: int) -> None:
        node = cache_records.ensure_node(self.engine, node_url)
        with self.engine.begin() as conn:
            cache_records.add(conn, node, image_id, size)

    @_retry
    def cache_hit(self, node_url: str, image_id: str) -> None:
        with self.engine.begin() as conn:
            cache_records.hit(conn, node_url, image_id)

    def cache_entries(self, node_url: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return cache_records.entries(conn, node_url)

    @_retry
    def cache_forget(self, node_url: str, image_ids: list[str] | None = None) -> int:
        with self.engine.begin() as conn:
            return cache_records.forget(conn, node_url, image_ids)

    def cache_nodes(self, image_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return cache_records.nodes(conn, image_id)


def _adds_data(image: Image) -> bool:
    """Whether this save makes the image's bytes count, or count more, against the
    owner's storage (an upload or a stage being recorded)."""
    if not image.size or image.status not in STORAGE_COUNTED:
        return False
    old = image.loaded
    return old is None or old.status not in STORAGE_COUNTED or (old.size or 0) < image.size


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _cutoff(age_in_days: int, max_rows: int) -> dt.datetime:
    """Rows soft-deleted before this moment are old enough to purge."""
    if age_in_days < 0:
        raise errors.BadRequest("age_in_days must be 0 or more.")
    if max_rows < -1:
        raise errors.BadRequest("max_rows must be -1 (no limit) or more.")
    try:
        return utcnow() - dt.timedelta(days=age_in_days)
    except OverflowError:
        raise errors.BadRequest(
            f"age_in_days {age_in_days} reaches before the year 1.") from None


def _old_deleted_ids(conn: sa.Connection, table: sa.Table, key: sa.Column[Any],
                     cutoff: dt.datetime, max_rows: int, extra: list[Any]) -> list[Any]:
    stmt = sa.select(key).where(
        table.c.deleted == sa.true(), table.c.deleted_at < cutoff, *extra,
    ).order_by(table.c.deleted_at, key)
    if max_rows != -1:
        stmt = stmt.limit(max_rows)
    return list(conn.execute(stmt).scalars())


def _delete_ids(conn: sa.Connection, table: sa.Table, key: sa.Column[Any], ids: list[Any]
                ) -> int:
    removed = 0
    for start in range(0, len(ids), _PURGE_CHUNK):
        chunk = ids[start:start + _PURGE_CHUNK]
        removed += conn.execute(sa.delete(table).where(key.in_(chunk))).rowcount
    return removed
