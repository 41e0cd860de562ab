"""The image entity and its state machine.

An ``Image`` is a plain record; the repository stores it, the services change it. Every
status change goes through ``Image.transition`` so that no code path can take a move the
state table below does not allow, and every save of a changed status passes the previous
status to the repository as ``from_status`` (compare-and-set), so two racing requests
cannot both win.
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

# Attributes a client may never set, and the ones reserved for the service (spec §3.3/§3.4).
READ_ONLY = frozenset({
    "direct_url", "self", "file", "schema", "stores", "status", "checksum", "size",
    "virtual_size", "os_hash_algo", "os_hash_value", "created_at", "updated_at", "id",
})
RESERVED = frozenset({"location", "deleted", "deleted_at", "locations"})
RESERVED_PREFIX = "os_glance"
# Who runs the upload, stage or import in flight (``glance_svc.domain.ownership``).
OPERATION_OWNER = "os_glance_operation_owner"
# Internal properties stripped from every response.
HIDDEN_PROPERTIES = frozenset({"os_glance_stage_host", "os_glance_hash_op_host",
                               OPERATION_OWNER})


def utcnow() -> dt.datetime:
    """Now in UTC, naive, to the second: what the API shows and the DB stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def new_id() -> str:
    return str(uuid.uuid4())


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
