"""What a caller asked the image list for, already validated.

The API parses the query string into an ``ImageQuery`` (``glance_svc.domain.listing``);
the repository turns it into SQL (or sends it to the registry). Keeping this a plain value
is what lets the registry carry it over HTTP unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

SORT_KEYS = (
    "name", "status", "container_format", "disk_format", "size", "id", "created_at",
    "updated_at",
)
DATE_OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")


@dataclasses.dataclass
class DateFilter:
    op: str  # one of DATE_OPERATORS
    value: dt.datetime


@dataclasses.dataclass
class ImageQuery:
    """A validated image list request, including who asks (for visibility)."""

    # Who asks: admins see every project's images; others see their own, public, and
    # shared-with-them (member status as below); community only if asked or owned.
    project_id: str | None = None
    is_admin: bool = False
    # visibility filter: None (default rules), or public|private|shared|community|all
    visibility: str | None = None
    member_status: str = "accepted"  # pending|accepted|rejected|all
    # Column filters: each value is a list of accepted values (``in:`` or a single value).
    columns: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    owner: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)  # image must carry all
    size_min: int | None = None
    size_max: int | None = None
    created_at: list[DateFilter] = dataclasses.field(default_factory=list)
    updated_at: list[DateFilter] = dataclasses.field(default_factory=list)
    os_hidden: bool = False  # False: hidden excluded; True: only hidden
    protected: bool | None = None
    # Custom property equality filters (key -> value).
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    # Sorting: parallel lists; the repository appends created_at/id tie-breakers.
    sort_keys: list[str] = dataclasses.field(default_factory=lambda: ["created_at"])
    sort_dirs: list[str] = dataclasses.field(default_factory=lambda: ["desc"])
    marker: str | None = None
    limit: int = 25
