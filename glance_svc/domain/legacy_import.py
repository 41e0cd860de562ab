"""The work of a legacy ``import`` task (``POST /v2/tasks``, spec §2.6).

The task creates an image from ``input.image_properties``, downloads ``import_from``
(filtered again at download time, redirects included) and uploads it through the normal
upload path, so the size cap, quota, hashing and format inspection apply exactly as to
``PUT /file``. Any failure leaves a ``failure`` task with Glance's message; a failed
download also deletes the half-made image. No scratch store or conversion stage: that
only runs in Glance with ``[task] work_dir`` or a tasks store, which we do not offer.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from glance_svc import errors
from glance_svc.domain.task import Task
from glance_svc.store import web_download

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.background import BackgroundTasks
    from glance_svc.domain.image_data import ImageDataService
    from glance_svc.domain.images import ImageService
    from glance_svc.domain.task_records import TaskRecords

LOG = logging.getLogger(__name__)

# An empty image_properties makes this image, as Glance's task does.
DEFAULT_FORMATS = {"disk_format": "qcow2", "container_format": "bare"}


class LegacyImport:
    """Runs legacy import tasks on the API worker's background pool."""

    def __init__(self, images: ImageService, data: ImageDataService, records: TaskRecords,
                 pool: BackgroundTasks) -> None:
        self.images = images
        self.data = data
        self.records = records
        self.pool = pool

    def submit(self, ctx: RequestContext, task: Task) -> concurrent.futures.Future[Any]:
        return self.pool.submit(self._run, ctx, task)

    def _run(self, ctx: RequestContext, task: Task) -> None:
        self.records.processing(task.id)
        task_input = task.input or {}
        if "import_from_format" not in task_input:
            self.records.fail(task.id, "Input does not contain 'import_from_format' field")
            return
        properties = task_input.get("image_properties") or {}
        if not isinstance(properties, dict):
            self.records.fail(task.id, "Input field 'image_properties' must be an object")
            return
        try:
            image = self.images.create(ctx, {**DEFAULT_FORMATS, **properties})
        except errors.GlanceError as exc:
            self.records.fail(task.id, exc.message)
            return
        try:
            remote = web_download.open_url(self.images.conf, task_input["import_from"])
            try:
                self.data.upload(ctx, image.id, remote, declared_size=None,
                                 body_length=remote.length, store_id=None)
            finally:
                remote.close()
        except Exception as exc:
            LOG.warning("Legacy import task %s failed: %s", task.id, exc)
            with contextlib.suppress(Exception):
                self.images.delete(ctx, image.id)
            reason = exc.message if isinstance(exc, errors.GlanceError) else str(exc)
            self.records.fail(task.id, f"Uploading the image failed due to: {reason}")
            return
        self.records.succeed(task.id, {"image_id": image.id}, "")
