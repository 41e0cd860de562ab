"""Recording tasks for the operations that run after the client got its answer.

Imports and location imports call this, nothing else: it creates the ``pending`` record
while the request is still being answered (so the request id and caller are those of
the client) and advances it from the worker thread. A failure to write a record is
logged and never stops the operation it describes: the image is what the client
asked for, the task only reports on it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.task import FAILURE, PENDING, PROCESSING, SUCCESS, TERMINAL, Task

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.repository import ImageRepository

LOG = logging.getLogger(__name__)

task_opts = [
    cfg.IntOpt("task_time_to_live", default=48, min=0,
               help="Hours a finished task stays visible; then it expires and is removed "
                    "from every view."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("task", task_opts)]


def now() -> dt.datetime:
    """Task timestamps keep microseconds (Glance shows them in the image's task list)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class TaskRecords:
    """Create task records and move them through their states."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository) -> None:
        conf.register_opts(task_opts, group="task")
        self.conf = conf
        self.repo = repo

    @property
    def time_to_live(self) -> dt.timedelta:
        return dt.timedelta(hours=self.conf.task.task_time_to_live)

    def create(self, ctx: RequestContext, task_id: str, task_type: str,
               task_input: dict[str, Any] | None, image_id: str | None) -> Task:
        """The new ``pending`` record, owned by the caller's project."""
        return self.repo.create_task(Task(
            id=task_id, type=task_type, status=PENDING, owner=ctx.project_id or "",
            input=task_input, image_id=image_id, request_id=ctx.request_id,
            user_id=ctx.user_id))

    def processing(self, task_id: str) -> None:
        self._update(task_id, PROCESSING)

    def succeed(self, task_id: str, result: dict[str, Any] | None,
                message: str | None = None) -> None:
        self._update(task_id, SUCCESS, result=result, message=message)

    def fail(self, task_id: str, message: str) -> None:
        self._update(task_id, FAILURE, message=message)

    def preempt(self, task_id: str) -> None:
        """An import took over the stale lock of ``task_id``: fail it if still running."""
        try:
            task = self.repo.get_task(task_id)
        except errors.NotFound:
            return
        if task.status not in TERMINAL:
            self.fail(task_id, "Expired lock preempted")

    def _update(self, task_id: str, status: str, *, result: dict[str, Any] | None = None,
                message: str | None = None) -> None:
        try:
            task = self.repo.get_task(task_id)
            if status in (SUCCESS, FAILURE):
                task.finish(status, now(), self.time_to_live, result=result, message=message)
            else:
                task.status = status
            self.repo.save_task(task)
        except Exception:
            LOG.exception("Could not record task %s as %s", task_id, status)
