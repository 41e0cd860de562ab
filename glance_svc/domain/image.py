"""The image entity and its state machine.

An ``Image`` is a plain record; the repository stores it, the services change it. Every
status change goes through ``Image.transition`` so that no code path can take a move the
state table below does not allow, and every save of a changed status passes the previous
status to the repository as ``from_status`` (compare-and-set), so two racing requests
cannot both win.

An image read from the repository remembers what it was read as (``loaded``). A save
writes only the difference, one row-level statement per changed property, tag or
column, so two requests that each change something else of one image both keep their
change (no read-modify-write of the whole record).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from glance_svc import errors

QUEUED = "queued"
SAVING = "saving"
UPLOADING = "uploading"
IMPORTING = "importing"
ACTIVE = "active"
DEACTIVATED = "deactivated"
KILLED = "killed"
PENDING_DELETE = "pending_delete"
DELETED = "deleted"

STATUSES = (
    QUEUED, SAVING, UPLOADING, IMPORTING, ACTIVE, DEACTIVATED, KILLED, PENDING_DELETE, DELETED,
)

# Statuses never shown in listings (and, but for killed, never shown at all).
UNLISTED_STATUSES = frozenset({DELETED, KILLED, PENDING_DELETE})

# Spec §5.2: the only moves the service makes.
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({SAVING, UPLOADING, IMPORTING, ACTIVE, DELETED}),
    SAVING: frozenset({ACTIVE, QUEUED, KILLED, DELETED}),
    UPLOADING: frozenset({IMPORTING, QUEUED, DELETED}),
    IMPORTING: frozenset({ACTIVE, QUEUED, DELETED}),
    ACTIVE: frozenset({DEACTIVATED, PENDING_DELETE, DELETED}),
    DEACTIVATED: frozenset({ACTIVE, DELETED}),
    KILLED: frozenset({DELETED}),
    PENDING_DELETE: frozenset({DELETED, ACTIVE}),
    DELETED: frozenset(),
}

VISIBILITIES = ("public", "community", "shared", "private")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# What a client may never write (spec §3.3/§3.4), one list per answer it gets. Create and
# PATCH both read these; tuples, because an error names the first one found in this order.
# Links and views the API adds to an image (403 read-only, on create before validation).
API_VIEWS = ("direct_url", "self", "file", "schema", "stores")
# Attributes only the service sets (403 read-only).
SERVICE_SET = ("created_at", "updated_at", "status", "checksum", "os_hash_algo",
               "os_hash_value", "size", "virtual_size")
# Names kept for the service (403 reserved); ``locations`` only on create, where it is
# refused, while PATCH edits it by its own rules.
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIX = "os_glance"
# The import lock: the id of the import task that holds the image (imports and locations
# both respect it).
IMPORT_LOCK = "os_glance_import_task"
# The API node holding an image's staged data (set by stage, dropped by import).
STAGE_HOST = "os_glance_stage_host"
# Who runs the upload, stage or import in flight (``glance_svc.domain.ownership``).
OPERATION_OWNER = "os_glance_operation_owner"
# Internal properties stripped from every response.
HIDDEN_PROPERTIES = frozenset({STAGE_HOST, "os_glance_hash_op_host", OPERATION_OWNER})
# Statuses whose ``size`` counts against ``user_storage_quota``: the images that hold, or
# are receiving, data.
STORAGE_COUNTED = frozenset({SAVING, ACTIVE, DEACTIVATED, UPLOADING, IMPORTING})


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the second: what the API shows and the DB stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def new_id() -> str:
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    """Whether ``value`` parses as a UUID (any spelling ``uuid.UUID`` takes)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclasses.dataclass
class Location:
    """Where one copy of the image data lives (a glance_store URL)."""

    url: str
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: str = "active"  # active | pending_delete | deleted
    id: int | None = None


@dataclasses.dataclass
class Member:
    """A project an image is shared with, and whether it accepted."""

    image_id: str
    member_id: str
    status: str = "pending"
    can_share: bool = False
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    updated_at: dt.datetime = dataclasses.field(default_factory=utcnow)


@dataclasses.dataclass
class Image:
    """One image record: base fields, free-form string properties, tags and locations."""

    id: str = dataclasses.field(default_factory=new_id)
    name: str | None = None
    status: str = QUEUED
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    min_disk: int = 0
    min_ram: int = 0
    disk_format: str | None = None
    container_format: str | None = None
    owner: str | None = None
    created_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    updated_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    deleted: bool = False
    deleted_at: dt.datetime | None = None
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: set[str] = dataclasses.field(default_factory=set)
    locations: list[Location] = dataclasses.field(default_factory=list)
    # What the repository stored when this image was read; None for a new image, whose
    # save then stores every field. Never compared: it is bookkeeping, not data.
    loaded: Image | None = dataclasses.field(default=None, compare=False, repr=False)

    def remember(self) -> Image:
        """Record the current state as the stored one (the repository calls this on
        every image it reads); returns the image itself."""
        snapshot = self.copy()
        snapshot.loaded = None
        self.loaded = snapshot
        return self

    def transition(self, to_status: str) -> str:
        """Move to ``to_status`` if the state table allows it; return the previous status.

        The caller saves with ``from_status=<returned value>``.
        """
        if to_status not in TRANSITIONS.get(self.status, frozenset()):
            raise errors.InvalidStatusTransition(self.status, to_status)
        previous = self.status
        self.status = to_status
        self.updated_at = utcnow()
        return previous

    def clear_data(self) -> None:
        """Forget everything that described uploaded data (back to a bare record)."""
        self.size = None
        self.virtual_size = None
        self.checksum = None
        self.os_hash_algo = None
        self.os_hash_value = None
        self.locations = [loc for loc in self.locations if loc.status == "deleted"]

    @property
    def active_locations(self) -> list[Location]:
        return [loc for loc in self.locations if loc.status == "active"]

    def copy(self) -> Image:
        return dataclasses.replace(
            self,
            properties=dict(self.properties),
            tags=set(self.tags),
            locations=[dataclasses.replace(loc, metadata=dict(loc.metadata))
                       for loc in self.locations],
        )
