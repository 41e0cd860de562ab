"""The tasks API: who may see which task, the list's filters, and the legacy import task.

``/v2/tasks`` is admin-only by default (``tasks_api_access``); under it ``get_task``,
``get_tasks`` and ``add_task`` apply as in Glance. A caller sees the tasks of its own
project; an admin sees every task. ``GET /v2/images/{id}/tasks`` instead follows the
image: whoever may see the image sees its project's tasks for it (spec §2.5).

Expiry: finished tasks carry ``expires_at`` (``[task] task_time_to_live``). Expired
tasks are hidden from every view and soft-deleted by a sweep each time a task list is
read, as Glance does; ``glance-manage db purge`` later removes the soft-deleted rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import listing
from glance_svc.domain.image import is_uuid
from glance_svc.domain.task import (
    LEGACY_IMPORT,
    SORT_KEYS,
    STATUSES,
    TYPES,
    Task,
    TaskQuery,
)
from glance_svc.domain.task_records import TaskRecords, now
from glance_svc.store import web_download

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.access import ImageAccess
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository

Params = Sequence[tuple[str, str]]



class TaskService:
    """``/v2/tasks`` and ``/v2/images/{id}/tasks``."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, policy: Enforcer,
                 images: ImageAccess, records: TaskRecords,
                 run_legacy_import: Callable[[RequestContext, Task], Any]) -> None:
        self.conf = conf
        self.repo = repo
        self.policy = policy
        self.images = images
        self.records = records
        self.run_legacy_import = run_legacy_import

    def authorize(self, ctx: RequestContext, rule: str) -> None:
        """403 unless the caller may use the tasks API at all and ``rule`` allows it."""
        target = {"project_id": ctx.project_id}
        self.policy.enforce(ctx, "tasks_api_access", target)
        self.policy.enforce(ctx, rule, target)

    @staticmethod
    def _owner_filter(ctx: RequestContext) -> str | None:
        return None if ctx.is_admin else (ctx.project_id or "")

    # -- reading ---------------------------------------------------------------------------
    def get(self, ctx: RequestContext, task_id: str) -> Task:
        self.authorize(ctx, "get_task")
        not_found = errors.NotFound(f"Failed to find task {task_id}")
        try:
            task = self.repo.get_task(task_id)
        except errors.NotFound:
            raise not_found from None
        owner = self._owner_filter(ctx)
        if owner is not None and task.owner != owner:
            raise not_found
        if task.expires_at is not None and task.expires_at <= now():
            raise not_found
        return task

    def list(self, ctx: RequestContext, params: Params) -> tuple[list[Task], str | None]:
        """One page of tasks and the marker of the next page (None: last page)."""
        self.authorize(ctx, "get_tasks")
        query = self._query(ctx, params)
        self.repo.expire_tasks(now(), query.owner)
        found = self.repo.list_tasks(query)
        next_marker = found[-1].id if found and len(found) == query.limit else None
        return found, next_marker

    def _query(self, ctx: RequestContext, params: Params) -> TaskQuery:
        values = dict(params)
        status = values.get("status")
        if status is not None and status not in STATUSES:
            raise errors.BadRequest(f"Invalid status value: {status}")
        task_type = values.get("type")
        if task_type is not None and task_type != LEGACY_IMPORT:
            raise errors.BadRequest(f"Invalid type value: {task_type}")
        sort_key = listing.sort_key(values.get("sort_key", "created_at"), SORT_KEYS)
        sort_dir = listing.sort_dir(values.get("sort_dir", "desc"))
        marker = values.get("marker")
        if marker is not None and not is_uuid(marker):
            raise errors.BadRequest("Invalid marker format")
        limit = listing.parse_limit(values.get("limit"), self.conf.limit_param_default,
                                    self.conf.api_limit_max)
        return TaskQuery(owner=self._owner_filter(ctx), status=status, type=task_type,
                         sort_key=sort_key, sort_dir=sort_dir, limit=limit, marker=marker)

    def image_tasks(self, ctx: RequestContext, image_id: str) -> list[Task]:
        """The unexpired tasks of a visible image; 404 with WebOb's text otherwise."""
        try:
            self.images.get(ctx, image_id)
        except errors.NotFound:
            raise errors.NotFound("The resource could not be found.") from None
        moment = now()
        owner = self._owner_filter(ctx)
        self.repo.expire_tasks(moment, owner)
        return self.repo.list_image_tasks(image_id, owner, moment)

    # -- the legacy import task ------------------------------------------------------------
    def create(self, ctx: RequestContext, body: dict[str, Any]) -> Task:
        """POST /v2/tasks: checks in Glance's order, a ``pending`` record, then the work."""
        self.authorize(ctx, "add_task")
        if "type" not in body:
            raise errors.BadRequest("Task 'type' is required")
        if "input" not in body:
            raise errors.BadRequest("Task 'input' is required")
        extra = sorted(set(body) - {"type", "input"})
        if extra:
            raise errors.BadRequest("Provided object does not match schema 'task': "
                                    f"Additional properties are not allowed ({extra[0]!r} "
                                    "was unexpected)")
        task_type, task_input = body["type"], body["input"]
        if task_type not in TYPES:
            raise errors.BadRequest("Provided object does not match schema 'task': "
                                    f"{task_type!r} is not one of {list(TYPES)}")
        if task_input is not None and not isinstance(task_input, dict):
            raise errors.BadRequest("Provided object does not match schema 'task': "
                                    f"{task_input!r} is not of type 'null', 'object'")
        if task_type == LEGACY_IMPORT:
            self._check_import_from((task_input or {}).get("import_from"))
        image_id = (task_input or {}).get("image_id")
        task = self.records.create(ctx, str(uuid.uuid4()), task_type, task_input,
                                   image_id if isinstance(image_id, str) else None)
        if task_type == LEGACY_IMPORT:
            self.run_legacy_import(ctx, task)
        else:  # the other types only describe work the images API started itself
            self.records.fail(task.id, f"A task of type {task_type} cannot be run from "
                                       "/v2/tasks")
        return task

    def _check_import_from(self, uri: Any) -> None:
        if not uri or not isinstance(uri, str):
            raise errors.BadRequest(f"Invalid location: {uri or None}")
        scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
        if scheme in ("file", "filesystem"):
            raise errors.BadRequest("File based imports are not allowed. Please use a "
                                    "non-local source of image data.")
        if scheme not in ("http", "https"):
            raise errors.BadRequest("The given uri is not valid. Please specify a valid uri "
                                    "from the following list of supported uri ['http']")
        if not web_download.uri_allowed(self.conf, uri):
            raise errors.BadRequest(
                f"URI for legacy import task does not pass filtering: {uri}")
