"""What every transfer of image data shares: limits, a deletion watch, inspection, clean-up.

An upload, a stage, a web-download and each store of an import all read data under the
same size cap and storage quota, stop when the image is deleted under them, inspect the
format the same way and remove what they wrote when they fail. The data service and the
import service both use this one object, so neither calls back into the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import ownership, quotas
from glance_svc.domain.image import STORAGE_COUNTED, Image, Location
from glance_svc.store.format_check import FormatInspection
from glance_svc.store.upload import Limit, StreamResult, quota_limit, size_cap_limit

if TYPE_CHECKING:
    from glance_svc.domain.access import ImageAccess
    from glance_svc.domain.background import BackgroundTasks
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.domain.task_records import TaskRecords
    from glance_svc.store.backends import StoreGateway

LOG = logging.getLogger(__name__)

# Every transfer that hashes (upload, import, a location's background hash) and the
# location editor's check of client-given hashes use this one algorithm.
transfer_opts = [
    cfg.StrOpt("hashing_algorithm", default="sha512",
               help="hashlib algorithm for os_hash_value (the multihash)."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, transfer_opts)]


def record_measured(image: Image, result: StreamResult) -> None:
    """Record what a stream measured on ``image`` (size, hashes, virtual size)."""
    image.size = result.size
    image.checksum = result.checksum
    image.os_hash_algo = result.os_hash_algo
    image.os_hash_value = result.os_hash_value
    image.virtual_size = result.virtual_size


def gone_message(image_id: str) -> str:
    """Glance's 410 text when an image is deleted while its data is being written."""
    return (f"Image {image_id} could not be found after upload. The image may have been "
            "deleted during the upload, cleaning up the chunks uploaded.")


class Transfers:
    """The checks and clean-ups around moving image data into a store."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository,
                 stores: StoreGateway) -> None:
        self.conf = conf
        self.repo = repo
        self.stores = stores

    def limits(self, image: Image) -> list[Limit]:
        """The byte limits new data for ``image`` must stay under (size cap, quota)."""
        limits = [size_cap_limit(self.conf.image_size_cap)]
        quota = quotas.storage_quota_bytes(self.conf.user_storage_quota)
        if quota > 0:
            used = self.repo.storage_used(image.owner)
            if image.status in STORAGE_COUNTED and image.size:
                used -= image.size  # this image's own bytes are being replaced
            limits.append(quota_limit(quota - used, quota))
        return limits

    @staticmethod
    def check_announced(size: int | None, limits: list[Limit]) -> None:
        """413 before reading anything when the announced size is already too big."""
        if size is None:
            return
        for limit in sorted(limits, key=lambda lim: lim.bytes):
            if size > limit.bytes:
                raise errors.LimitExceeded(limit.message)

    def watcher(self, image_id: str, status: str) -> Callable[[], None]:
        """A check for long transfers: 410 as soon as the image is deleted meanwhile.

        It also keeps this process's ownership heartbeat fresh, so crash recovery on
        another host does not take the transfer for dead.
        """
        def watch() -> None:
            try:
                current = self.repo.get(image_id)
            except errors.NotFound:
                raise errors.Gone(gone_message(image_id)) from None
            if current.status != status:
                raise errors.Gone(gone_message(image_id))
            ownership.heartbeat(self.repo, current, self.conf.operation_owner_timeout)
        return watch

    def inspection(self, image: Image) -> FormatInspection:
        return FormatInspection(self.conf, image.disk_format, image.container_format)

    def discard(self, locations: list[Location]) -> None:
        """Remove data written by a failed operation; a failure here is only logged."""
        for location in locations:
            try:
                self.stores.delete(location)
            except Exception:
                LOG.exception("Unable to remove image data at %s", location.url)

    def ordered_locations(self, image: Image) -> list[Location]:
        """Active locations, heaviest store first in multi-store mode (Glance's order)."""
        locations = image.active_locations
        if self.stores.multi_store:
            locations = sorted(
                locations, key=lambda loc: -self.stores.weight(loc.metadata.get("store")))
        return locations

    def check_location_quota(self, image: Image, adding: int) -> None:
        """413 if ``adding`` more locations would put ``image`` over its location quota."""
        quotas.check_location_quota(self.conf, len(image.active_locations) + adding)


class DataPathService:
    """What the data service and the import service are both built from.

    ``images`` is only used to find an image and check the caller's rights; the two
    services share ``transfers`` and the background ``tasks`` instead of each other.
    ``records`` keeps the task records clients watch (imports and location imports).
    """

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, stores: StoreGateway,
                 images: ImageAccess, transfers: Transfers, tasks: BackgroundTasks,
                 records: TaskRecords) -> None:
        self.conf = conf
        self.repo = repo
        self.stores = stores
        self.images = images
        self.transfers = transfers
        self.tasks = tasks
        self.records = records
