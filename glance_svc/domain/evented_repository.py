"""The repository with Glance's record events: every stored change of an image or member
sends its notification.

Glance sends ``image.update`` after *every* save of an image (a PATCH, a tag, each step
of an upload or import, a lock taken or dropped), ``image.create`` after the insert,
``image.delete`` after the soft delete, ``image.member.*`` after each member change and
``task.<status>`` after each task record change (spec part 2 §1.4). Wrapping the
repository port catches every one of those saves in one place, so no service has to
remember to emit them, and the scrubber and the registry, which build their own
repository, send nothing (as in Glance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glance_svc.domain import events
from glance_svc.domain.image import OPERATION_OWNER, Image, Member
from glance_svc.domain.task import Task

if TYPE_CHECKING:
    from glance_svc.domain.quotas import Limits
    from glance_svc.domain.repository import ImageRepository


class EventedRepository:
    """An ``ImageRepository`` that emits after each successful write of ``inner``.

    Reads, and any method beyond the port (``engine``, ``close`` ...), go straight to
    ``inner``.
    """

    def __init__(self, inner: ImageRepository) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def create(self, image: Image) -> Image:
        stored = self.inner.create(image)
        events.emit("image.create", events.image_payload(stored))
        return stored

    def save(self, image: Image, *, from_status: str | None = None,
             limits: Limits | None = None) -> Image:
        stored = self.inner.save(image, from_status=from_status, limits=limits)
        events.emit("image.update", events.image_payload(stored))
        return stored

    def mark_deleted(self, image: Image, *, status: str, from_status: str | None = None
                     ) -> Image:
        stored = self.inner.mark_deleted(image, status=status, from_status=from_status)
        events.emit("image.delete", events.image_payload(stored))
        return stored

    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> Image:
        """The ownership heartbeat is our own bookkeeping, not an image change Glance
        would report: it sends nothing."""
        stored = self.inner.set_property_if(image_id, name, value, expected=expected)
        if name != OPERATION_OWNER:
            events.emit("image.update", events.image_payload(stored))
        return stored

    def add_member(self, member: Member, *, limits: Limits | None = None) -> Member:
        stored = self.inner.add_member(member, limits=limits)
        events.emit("image.member.create", events.member_payload(stored))
        return stored

    def save_member(self, member: Member) -> Member:
        stored = self.inner.save_member(member)
        events.emit("image.member.update", events.member_payload(stored))
        return stored

    def delete_member(self, image_id: str, member_id: str) -> None:
        member = self.inner.get_member(image_id, member_id)
        self.inner.delete_member(image_id, member_id)
        events.emit("image.member.delete", events.member_payload(member, deleted=True))

    def create_task(self, task: Task) -> Task:
        stored = self.inner.create_task(task)
        events.emit("task.create", events.task_payload(stored))
        return stored

    def save_task(self, task: Task) -> Task:
        """``task.processing``, ``task.success`` or ``task.failure``; a success is also
        the end of the run (``task.run``, which Glance sends when its executor returns
        from a flow that did not raise)."""
        stored = self.inner.save_task(task)
        payload = events.task_payload(stored)
        events.emit(f"task.{stored.status}", payload)
        if stored.status == "success":
            events.emit("task.run", payload)
        return stored
