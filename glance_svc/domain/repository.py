"""The repository port: where image records live.

The domain owns this interface and the adapters below it implement it, so the arrow runs
from ``db`` and ``registry`` up to these entities, never from the domain down to a
backend. The API and the domain only ever talk to an ``ImageRepository``. ``glance_svc.db.api``
chooses the implementation from ``[DEFAULT] data_api``: the SQL repository
(``glance_svc.db.sqlalchemy``) or the registry client (``glance_svc.registry.client``),
which sends the same calls to glance-registry over HTTP. Both must behave identically;
the functional suite runs against both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from glance_svc.domain.image import Image, Member
from glance_svc.domain.query import ImageQuery
from glance_svc.domain.quotas import Limits
from glance_svc.domain.task import Task, TaskQuery


class ImageRepository(Protocol):
    """Image records, their members, and the bookkeeping the tools need."""

    # --- images -----------------------------------------------------------------------
    def create(self, image: Image) -> Image:
        """Insert a new image with its properties, tags and locations.

        Raises ``errors.Duplicate`` if any image (even a soft-deleted one) has this id:
        image ids are never reused.
        """

    def get(self, image_id: str, *, include_deleted: bool = False) -> Image:
        """The image, or ``errors.NotFound``. Soft-deleted images are not found unless asked."""

    def list(self, query: ImageQuery) -> list[Image]:
        """One page of images visible to ``query.project_id`` matching the query.

        Never returns deleted, killed or pending_delete images. An unknown or invisible
        ``marker`` raises ``errors.BadRequest``.
        """

    def save(self, image: Image, *, from_status: str | None = None,
             limits: Limits | None = None) -> Image:
        """Store what changed in ``image`` since it was read (``image.loaded``): changed
        columns, properties set or removed, tags added or removed, locations; return the
        image as stored. An image never read (``loaded`` None) is stored whole.

        Writing only the changes, each as its own row-level statement in one transaction,
        lets parallel writers of different properties or tags all keep their change.
        With ``from_status``, the update only happens if the stored status still equals it;
        otherwise ``errors.StaleStatus``. That compare-and-set stops two uploads, or an
        upload and a delete, from both winning. ``updated_at`` is set by the repository.
        With ``limits``, the property, tag and location counts after the write, and the
        owner's stored bytes when the image gains data, are checked in the same
        transaction: over a limit, nothing is written and ``errors.LimitExceeded`` raised.
        Raises ``errors.NotFound`` if the image is gone (deleted meanwhile).
        """

    def mark_deleted(self, image: Image, *, status: str, from_status: str | None = None) -> Image:
        """Soft-delete the image row and its properties, tags and members.

        ``status`` is ``deleted`` or ``pending_delete``; locations keep the statuses set on
        ``image.locations`` by the caller (``deleted`` or ``pending_delete``).
        Compare-and-set on ``from_status`` as in ``save``.
        """

    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> Image:
        """Set property ``name`` to ``value`` (``None`` removes it) only if its stored value
        still equals ``expected`` (``None``: absent); otherwise ``errors.StaleStatus``.

        The compare-and-set for changes that do not move the status, such as the import
        lock of copy-image: two requests that both read "unlocked" cannot both take it.
        """

    def restore(self, image_id: str) -> Image:
        """Bring a ``pending_delete`` image back to ``active`` (the scrubber's --restore)."""

    # --- members ----------------------------------------------------------------------
    def add_member(self, member: Member, *, limits: Limits | None = None) -> Member:
        """Raises ``errors.Duplicate`` if the project is already a (non-deleted) member,
        ``errors.LimitExceeded`` (nothing added) if the image would then have more than
        ``limits.members`` members."""

    def get_member(self, image_id: str, member_id: str) -> Member:
        """The member or ``errors.NotFound``."""

    def list_members(self, image_id: str) -> list[Member]:
        """All non-deleted members of the image, oldest first."""

    def save_member(self, member: Member) -> Member:
        """Store the member's status; ``updated_at`` is set by the repository."""

    def delete_member(self, image_id: str, member_id: str) -> None:
        """Soft-delete the member row; ``errors.NotFound`` if absent."""

    # --- accounting and tools ---------------------------------------------------------
    def count_members(self, image_id: str) -> int:
        """Number of non-deleted members (for ``image_member_quota``)."""

    def storage_used(self, owner: str | None) -> int:
        """Bytes of all non-deleted images of ``owner`` that have data (for
        ``user_storage_quota``): the sum of ``size`` over images whose status is
        saving, active, deactivated, uploading or importing."""

    def list_pending_delete(self, deleted_before: dt.datetime, limit: int | None = None
                            ) -> list[Image]:
        """Images in ``pending_delete`` soft-deleted at or before ``deleted_before``,
        with their locations (any location status), oldest first (for the scrubber)."""

    def list_with_property(self, name: str) -> list[Image]:
        """Non-deleted images that carry property ``name``, with their locations.

        Crash recovery lists the images whose in-flight operation records an owner.
        """

    def statuses(self, image_ids: list[str]) -> dict[str, str]:
        """The status of each of ``image_ids`` that has a row, soft-deleted or not.

        An id with no row at all is absent from the answer. The orphan sweep asks which
        files in a store still belong to an image (``pending_delete`` rows do).
        """

    def purge(self, age_in_days: int, max_rows: int) -> dict[str, int]:
        """Hard-delete soft-deleted rows older than the cut-off from every table but
        ``images``; at most ``max_rows`` per table (-1: all). Returns rows per table."""

    def purge_images(self, age_in_days: int, max_rows: int) -> int:
        """Hard-delete soft-deleted ``images`` rows older than the cut-off that no other
        table references any more. Returns the number of rows removed."""

    # --- image cache (Glance's centralized_db driver) ---------------------------------
    # The cached files live on each API node's disk; these records are the knowledge the
    # nodes share. Every call but ``cache_nodes`` is about one node, named by its URL
    # (``worker_self_reference_url``); a node's row is created on its first record.
    def cache_add(self, node_url: str, image_id: str, size: int) -> None:
        """Record that ``node_url`` holds ``image_id``: hits 0, both times now. Recording
        it again starts the entry afresh."""

    def cache_hit(self, node_url: str, image_id: str) -> None:
        """One more hit and ``last_accessed`` now for that node's entry (none: no-op)."""

    def cache_entries(self, node_url: str) -> list[dict[str, Any]]:
        """The node's entries, least recently accessed first: ``id``, ``image_id``,
        ``last_accessed`` and ``last_modified`` (UTC epoch seconds), ``size``, ``hits``,
        ``checksum`` (always None, as in Glance)."""

    def cache_forget(self, node_url: str, image_ids: list[str] | None = None) -> int:
        """Remove the node's entries of ``image_ids`` (None: all); returns how many."""

    def cache_nodes(self, image_id: str) -> list[str]:
        """URLs of the nodes holding ``image_id`` in their cache, in URL order."""

    # --- tasks ------------------------------------------------------------------------
    def create_task(self, task: Task) -> Task:
        """Insert a task and its info; ``created_at``/``updated_at`` are set here."""

    def get_task(self, task_id: str) -> Task:
        """The task, or ``errors.NotFound`` (also for a soft-deleted one)."""

    def save_task(self, task: Task) -> Task:
        """Store the task's status, ``expires_at``, ``result`` and ``message``.

        Raises ``errors.NotFound`` if the task is gone; ``updated_at`` is set here.
        """

    def list_tasks(self, query: TaskQuery) -> list[Task]:
        """One page of non-deleted tasks (``GET /v2/tasks``). An unknown ``marker``
        raises ``errors.BadRequest``."""

    def list_image_tasks(self, image_id: str, owner: str | None, now: dt.datetime
                         ) -> list[Task]:
        """The unexpired tasks of an image. With ``owner``, only that project's tasks
        (and ownerless ones), not deleted; without, every task, soft-deleted included,
        as Glance shows an admin."""

    def expire_tasks(self, now: dt.datetime, owner: str | None = None) -> int:
        """Soft-delete the tasks (of ``owner``, or all) whose ``expires_at`` has passed;
        returns how many."""
