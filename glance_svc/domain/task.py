"""The task entity: the record of one asynchronous operation (spec part 2, §2).

Every interoperable import, every location import and every legacy ``POST /v2/tasks``
leaves one, so a client that started the operation can watch it move through
``pending`` → ``processing`` → ``success`` | ``failure`` and read its result or message.
Terminal tasks get ``expires_at``; after it they disappear from every view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

PENDING = "pending"
PROCESSING = "processing"
SUCCESS = "success"
FAILURE = "failure"
STATUSES = (PENDING, PROCESSING, SUCCESS, FAILURE)
TERMINAL = frozenset({SUCCESS, FAILURE})

LEGACY_IMPORT = "import"
API_IMAGE_IMPORT = "api_image_import"
LOCATION_IMPORT = "location_import"
TYPES = (LEGACY_IMPORT, API_IMAGE_IMPORT, LOCATION_IMPORT)

# Glance hides what went wrong inside a flow behind this one text (spec §2.3).
INTERNAL_ERROR = "Task failed due to Internal Error"

SORT_KEYS = ("created_at", "updated_at", "id", "type", "status", "owner", "expires_at")


@dataclasses.dataclass
class Task:
    """One task row with its info (``input``, ``result``, ``message``)."""

    id: str
    type: str
    status: str = PENDING
    owner: str = ""
    input: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    message: str = ""
    image_id: str | None = None
    request_id: str | None = None
    user_id: str | None = None
    expires_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    deleted: bool = False
    deleted_at: dt.datetime | None = None

    def finish(self, status: str, now: dt.datetime, time_to_live: dt.timedelta, *,
               result: dict[str, Any] | None = None, message: str | None = None) -> None:
        """Move to a terminal status; from now on the record lives ``time_to_live``."""
        self.status = status
        self.result = result
        if message is not None:
            self.message = message
        self.expires_at = now + time_to_live


@dataclasses.dataclass
class TaskQuery:
    """One page of ``GET /v2/tasks``; ``owner`` None means every project's tasks."""

    owner: str | None = None
    status: str | None = None
    type: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "desc"
    limit: int = 20
    marker: str | None = None
