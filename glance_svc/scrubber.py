"""glance-scrubber: remove the data of pending_delete images once scrub_time has passed.

With ``delayed_delete`` an image DELETE only moves the image to ``pending_delete`` and its
locations to ``pending_delete`` (spec §5.3). A scrub run picks the images soft-deleted at
least ``scrub_time`` seconds ago and, ``scrub_pool_size`` images at a time, deletes each
pending location's data through the stores, records each deleted location at once, and
marks the image ``deleted`` when none is left. A location whose store fails stays
``pending_delete``, and so does its image, for the next run.

Crash safety. Data goes first, then its row: a run killed between the two leaves a
location whose data is gone but whose row still says ``pending_delete``; the next run
deletes it again ("already gone" counts as deleted) and records it. So a second run
always finishes what a killed one started, and no data is ever left without a row
pointing at it. The one thing a crash could break is ``--restore`` of an image whose data
is half gone; so before touching an image's data the run leaves an "in flight" marker
file beside the lock, removed once the database matches the stores again, and restore
refuses an image with a marker (or with no pending location left).

One scrubber at a time, and no restore while one runs: every run (once or daemon) holds
an exclusive ``flock`` on ``<lock dir>/glance-scrubber.lock`` (a daemon for its whole
life). The lock dir is ``[oslo_concurrency] lock_path``, else ``/var/lib/glance``.
The kernel drops the lock when the process dies, even by ``kill -9``, so a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from oslo_concurrency import lockutils
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import ACTIVE, DELETED, PENDING_DELETE, Image, Location, utcnow
from glance_svc.domain.repository import ImageRepository

LOG = logging.getLogger(__name__)

scrubber_opts = [
    cfg.IntOpt("scrub_time", default=0, min=0,
               help="Seconds a deleted image's data is kept before the scrubber removes it."),
    cfg.IntOpt("scrub_pool_size", default=1, min=1,
               help="Images the scrubber deletes in parallel."),
    cfg.IntOpt("wakeup_time", default=300, min=1,
               help="Seconds between two runs of the scrubber daemon."),
]

scrubber_cli_opts = [
    cfg.BoolOpt("daemon", short="D", default=False,
                help="Keep running, scrubbing every wakeup_time seconds."),
    cfg.StrOpt("restore", metavar="IMAGE_ID",
               help="Bring a pending_delete image back to active, then exit."),
]

DEFAULT_LOCK_DIR = "/var/lib/glance"
LOCK_FILE = "glance-scrubber.lock"
INFLIGHT_DIR = "glance-scrubber-inflight"
# Tests only: seconds to sleep after each store delete, before its row is recorded, so a
# test can kill the scrubber inside the window that matters for crash safety.
TEST_DELAY_ENV = "GLANCE_SCRUBBER_TEST_DELAY"


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Our options, and oslo.concurrency's ``lock_path`` that places the lock file."""
    return [(None, scrubber_opts + scrubber_cli_opts),
            ("oslo_concurrency", list(lockutils._opts))]


class ScrubberBusy(RuntimeError):
    """Another glance-scrubber holds the lock."""


class RestoreRefused(RuntimeError):
    """The image cannot be restored (the message says why)."""


def lock_dir(conf: cfg.ConfigOpts) -> str:
    """Where the lock and the in-flight markers live (see the module docstring)."""
    if "oslo_concurrency" not in conf:
        conf.register_opts(lockutils._opts, group="oslo_concurrency")
    configured = conf.oslo_concurrency.lock_path
    if configured:
        return str(configured)
    if os.path.isdir(DEFAULT_LOCK_DIR):
        return DEFAULT_LOCK_DIR
    raise FileNotFoundError(
        f"{DEFAULT_LOCK_DIR} does not exist: set [oslo_concurrency] lock_path to a "
        "directory for glance-scrubber's lock file")


def _match_owner(path: str, directory: str) -> None:
    """Give what root creates to the lock directory's owner.

    An operator may run ``glance-scrubber --restore`` or a one-off run as root; files it
    creates must stay usable by the ``glance`` user the daemon runs as.
    """
    if os.geteuid() != 0:
        return
    info = os.stat(directory)
    if info.st_uid != 0:
        with contextlib.suppress(OSError):
            os.chown(path, info.st_uid, info.st_gid)


class ScrubberLock:
    """The exclusive lock every scrub run and every restore takes (never blocking)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, LOCK_FILE)
        self._fd: int | None = None

    def holder(self) -> str:
        """The pid written by the current (or last) holder, for messages."""
        try:
            with open(self.path) as handle:
                return handle.read().strip() or "unknown"
        except OSError:
            return "unknown"

    def acquire(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            _match_owner(self.path, self.directory)
        except PermissionError:
            # A file created by another user: a read-only descriptor can still be locked.
            fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise ScrubberBusy(
                    f"another glance-scrubber (pid {self.holder()}) holds {self.path}") from None
            raise
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> ScrubberLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class InflightMarkers:
    """One empty file per image whose data a run is deleting (see the module docstring)."""

    def __init__(self, directory: str) -> None:
        self.parent = directory
        self.directory = os.path.join(directory, INFLIGHT_DIR)

    def _path(self, image_id: str) -> str:
        if os.sep in image_id or image_id in ("", ".", ".."):
            raise ValueError(f"not an image id: {image_id!r}")
        return os.path.join(self.directory, image_id)

    def set(self, image_id: str) -> None:
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, exist_ok=True)
            _match_owner(self.directory, self.parent)
        with open(self._path(image_id), "w"):
            pass

    def clear(self, image_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(image_id))

    def is_set(self, image_id: str) -> bool:
        return os.path.exists(self._path(image_id))


@dataclasses.dataclass
class RunReport:
    """What one scrub run did; failed images are left pending_delete for the next run."""

    scrubbed: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.scrubbed)} image(s) scrubbed"
        if self.failed:
            text += (f", {len(self.failed)} left pending_delete for the next run: "
                     + ", ".join(self.failed))
        return text


class Scrubber:
    """Scrub runs over one repository and one set of stores."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, stores: Any,
                 markers: InflightMarkers) -> None:
        self.conf = conf
        self.repo = repo
        self.stores = stores
        self.markers = markers
        self.stop = threading.Event()
        # Store deletes run in parallel (that is where the time goes); the few database
        # writes take turns, which SQLite needs (one writer at a time) and costs others
        # nothing measurable.
        self._db_lock = threading.Lock()
        self._test_delay = float(os.environ.get(TEST_DELAY_ENV) or 0)

    def due(self, now: dt.datetime | None = None) -> list[Image]:
        """pending_delete images soft-deleted at least scrub_time seconds before ``now``."""
        now = now or utcnow()
        return self.repo.list_pending_delete(now - dt.timedelta(seconds=self.conf.scrub_time))

    def run_once(self) -> RunReport:
        """Scrub every due image, ``scrub_pool_size`` at a time."""
        report = RunReport()
        images = self.due()
        LOG.info("Scrub run: %d image(s) due", len(images))
        if not images:
            return report
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=self.conf.scrub_pool_size,
                thread_name_prefix="scrub") as pool:
            futures = {pool.submit(self._scrub_guarded, image): image.id for image in images}
            for future in concurrent.futures.as_completed(futures):
                image_id = futures[future]
                done = future.result()
                if done is None:
                    continue  # stopped before it began
                (report.scrubbed if done else report.failed).append(image_id)
        return report

    def _scrub_guarded(self, image: Image) -> bool | None:
        if self.stop.is_set():
            return None
        try:
            return self.scrub_image(image)
        except Exception:
            LOG.exception("Image %s: scrubbing failed; it stays pending_delete", image.id)
            return False

    def scrub_image(self, image: Image) -> bool:
        """Delete the image's pending data; True once the image is ``deleted``."""
        pending = [loc for loc in image.locations if loc.status == PENDING_DELETE]
        self.markers.set(image.id)
        consistent = True  # the DB says what the stores hold (the marker may go)
        failures = 0
        try:
            for location in pending:
                if not self._delete_data(image, location):
                    failures += 1
                    continue
                location.status = DELETED
                consistent = False
                # Record each location as soon as its data is gone: a failure or a crash
                # later on must not make the next run forget what is already done.
                with self._db_lock:
                    self.repo.mark_deleted(image, status=PENDING_DELETE,
                                           from_status=PENDING_DELETE)
                consistent = True
            if failures:
                LOG.error("Image %s: %d of %d location(s) could not be deleted; it stays "
                          "pending_delete for the next run", image.id, failures, len(pending))
                return False
            with self._db_lock:
                self.repo.mark_deleted(image, status=DELETED, from_status=PENDING_DELETE)
            LOG.info("Image %s: scrubbed (%d location(s) deleted)", image.id, len(pending))
            return True
        finally:
            if consistent:
                self.markers.clear(image.id)

    def _delete_data(self, image: Image, location: Location) -> bool:
        try:
            # A location no configured store claims must not count as deleted here: the
            # scrubber's config may simply lack the store, and the data would leak.
            self.stores.backend_for(location)
        except errors.GlanceError as exc:
            LOG.error("Image %s: no store of this scrubber's config handles %s (%s)",
                      image.id, location.url, exc.message)
            return False
        try:
            self.stores.delete(location)
        except errors.GlanceError as exc:
            LOG.error("Image %s: deleting %s failed: %s", image.id, location.url, exc.message)
            return False
        except Exception as exc:
            LOG.error("Image %s: deleting %s failed: %s", image.id, location.url, exc)
            return False
        LOG.info("Image %s: deleted data at %s", image.id, location.url)
        if self._test_delay:
            time.sleep(self._test_delay)
        return True

    def run_forever(self) -> None:
        """Daemon mode: a run every ``wakeup_time`` seconds until ``stop`` is set."""
        while not self.stop.is_set():
            try:
                report = self.run_once()
                LOG.info("Scrub run finished: %s", report.summary())
            except Exception:
                LOG.exception("Scrub run failed; trying again in %d s", self.conf.wakeup_time)
            self.stop.wait(self.conf.wakeup_time)


def restore(repo: ImageRepository, markers: InflightMarkers, image_id: str) -> Image:
    """pending_delete -> active with the data still in the stores, or ``RestoreRefused``.

    The caller holds the scrubber lock, so no run can delete data meanwhile.
    """
    try:
        image = repo.get(image_id, include_deleted=True)
    except errors.NotFound:
        raise RestoreRefused(f"image {image_id} does not exist") from None
    if image.status != PENDING_DELETE:
        raise RestoreRefused(f"image {image_id} is {image.status}, not pending_delete")
    if markers.is_set(image_id):
        raise RestoreRefused(
            f"image {image_id}: an interrupted scrub run was deleting its data; run "
            "glance-scrubber once to finish the deletion")
    if not any(loc.status == PENDING_DELETE for loc in image.locations):
        raise RestoreRefused(f"image {image_id}: its data is already deleted")
    try:
        restored = repo.restore(image_id)
    except errors.GlanceError as exc:
        raise RestoreRefused(f"image {image_id}: {exc.message}") from None
    if restored.status != ACTIVE:  # pragma: no cover - the repository guarantees it
        raise RestoreRefused(f"image {image_id} is {restored.status} after restore")
    return restored


@contextlib.contextmanager
def locked(conf: cfg.ConfigOpts) -> Iterator[tuple[ScrubberLock, InflightMarkers]]:
    """The scrubber lock (``ScrubberBusy`` if taken) and the markers beside it."""
    directory = lock_dir(conf)
    with ScrubberLock(directory) as lock:
        yield lock, InflightMarkers(directory)
