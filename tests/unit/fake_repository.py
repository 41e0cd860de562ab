"""An in-memory ``ImageRepository`` for domain unit tests (no database, no I/O).

It keeps the contract the domain relies on (ids never reused, compare-and-set on status,
soft-deleted images invisible) and nothing more: listing only filters by the simple
rules the domain tests need, since SQL listing is tested against real databases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from glance_svc import errors
from glance_svc.domain.image import UNLISTED_STATUSES, Image, Member, utcnow
from glance_svc.domain.query import ImageQuery
from glance_svc.domain.task import Task


class MemoryRepository:
    def __init__(self) -> None:
        self.images: dict[str, Image] = {}
        self.members: dict[tuple[str, str], Member] = {}
        self.queries: list[ImageQuery] = []
        self.saves = 0
        self.tasks: dict[str, Task] = {}

    # images
    def create(self, image: Image) -> Image:
        if image.id in self.images:
            raise errors.Duplicate(f"Image with identifier {image.id} already exists!")
        self.images[image.id] = image.copy()
        return image.copy()

    def get(self, image_id: str, *, include_deleted: bool = False) -> Image:
        image = self.images.get(image_id)
        if image is None or (image.deleted and not include_deleted):
            raise errors.NotFound(f"No image found with ID {image_id}")
        return image.copy()

    def list(self, query: ImageQuery) -> list[Image]:
        self.queries.append(query)
        found = [i.copy() for i in self.images.values()
                 if not i.deleted and i.status not in UNLISTED_STATUSES]
        return found[: query.limit]

    def _cas(self, image_id: str, from_status: str | None) -> Image:
        stored = self.images.get(image_id)
        if stored is None or stored.deleted:
            raise errors.NotFound(f"No image found with ID {image_id}")
        if from_status is not None and stored.status != from_status:
            raise errors.StaleStatus(f"Image {image_id} is {stored.status}")
        return stored

    def save(self, image: Image, *, from_status: str | None = None,
             limits: object = None) -> Image:
        self._cas(image.id, from_status)
        self.saves += 1
        stored = image.copy()
        stored.updated_at = utcnow()
        self.images[image.id] = stored
        return stored.copy()

    def mark_deleted(self, image: Image, *, status: str, from_status: str | None = None
                     ) -> Image:
        self._cas(image.id, from_status)
        stored = image.copy()
        stored.status = status
        stored.deleted = True
        stored.deleted_at = utcnow()
        self.images[image.id] = stored
        for key in [k for k in self.members if k[0] == image.id]:
            del self.members[key]
        return stored.copy()

    def restore(self, image_id: str) -> Image:
        raise NotImplementedError

    # members
    def add_member(self, member: Member, *, limits: object = None) -> Member:
        key = (member.image_id, member.member_id)
        if key in self.members:
            raise errors.Duplicate("duplicate member")
        self.members[key] = dataclasses.replace(member)
        return dataclasses.replace(member)

    def get_member(self, image_id: str, member_id: str) -> Member:
        try:
            return dataclasses.replace(self.members[(image_id, member_id)])
        except KeyError:
            raise errors.NotFound(f"{member_id} is not a member of image {image_id}") from None

    def list_members(self, image_id: str) -> list[Member]:
        return [dataclasses.replace(m) for (i, _), m in self.members.items() if i == image_id]

    def save_member(self, member: Member) -> Member:
        self.get_member(member.image_id, member.member_id)
        member = dataclasses.replace(member, updated_at=utcnow())
        self.members[(member.image_id, member.member_id)] = member
        return dataclasses.replace(member)

    def delete_member(self, image_id: str, member_id: str) -> None:
        self.get_member(image_id, member_id)
        del self.members[(image_id, member_id)]

    def count_members(self, image_id: str) -> int:
        return len(self.list_members(image_id))

    def storage_used(self, owner: str | None) -> int:
        return 0

    def list_pending_delete(self, deleted_before: dt.datetime, limit: int | None = None
                            ) -> list[Image]:
        return []

    def purge(self, age_in_days: int, max_rows: int) -> dict[str, int]:
        return {}

    def purge_images(self, age_in_days: int, max_rows: int) -> int:
        return 0

    # tasks: what the import and location services record
    def create_task(self, task: Task) -> Task:
        task.created_at = task.updated_at = utcnow()
        self.tasks[task.id] = dataclasses.replace(task)
        return dataclasses.replace(task)

    def get_task(self, task_id: str) -> Task:
        if task_id not in self.tasks:
            raise errors.NotFound(f"Task with the given id {task_id} not found")
        return dataclasses.replace(self.tasks[task_id])

    def save_task(self, task: Task) -> Task:
        self.get_task(task.id)
        task.updated_at = utcnow()
        self.tasks[task.id] = dataclasses.replace(task)
        return dataclasses.replace(task)


class RecordingStores:
    """Stands in for the store gateway: records what the domain asked it to delete."""

    multi_store = False

    def __init__(self, sizes: dict[str, int] | None = None) -> None:
        self.deleted: list[str] = []
        self.unstaged: list[str] = []
        self.sizes = sizes or {}

    def delete(self, location: object) -> None:
        self.deleted.append(location.url)  # type: ignore[attr-defined]

    def delete_staged(self, image_id: str) -> None:
        self.unstaged.append(image_id)

    def store_ids(self) -> list[str]:
        return []

    def location_size(self, url: str, metadata: dict[str, object]) -> int | None:
        return self.sizes.get(url)


def make_conf(workdir: object, sections: dict[str, dict[str, object]] | None = None
              ) -> object:
    """A fully registered config with ``sections`` written to a glance-api.conf."""
    from pathlib import Path

    from oslo_config import cfg

    from glance_svc import config

    conf = cfg.ConfigOpts()
    config.register_all(conf)
    lines = []
    for section, options in (sections or {}).items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {v}" for k, v in options.items()]
    path = Path(str(workdir)) / "glance-api.conf"
    path.write_text("\n".join(lines) + "\n")
    conf(["--config-file", str(path)], project="glance")
    return conf


def make_service(workdir: object, sections: dict[str, dict[str, object]] | None = None,
                 stores: RecordingStores | None = None):  # noqa: ANN201
    """An ImageService over a MemoryRepository, the real policy engine and fake stores."""
    from glance_svc.domain.images import ImageService
    from glance_svc.domain.policy import Enforcer

    conf = make_conf(workdir, sections)
    return ImageService(conf, MemoryRepository(), Enforcer(conf),  # type: ignore[arg-type]
                        stores or RecordingStores())


def make_members(service):  # noqa: ANN001, ANN201
    """The MemberService the composition root would build beside ``service``."""
    from glance_svc.domain.members import MemberService

    return MemberService(service.conf, service.repo, service.policy, service)
