"""Crash recovery: give back what a killed glance-api worker left half done.

A worker killed with ``kill -9`` (or by the OOM killer, or a host that lost power) runs
no cleanup. Its image would stay ``saving`` (a retry is a 409), ``uploading`` or
``importing`` with its import lock, and its partial data would stay in the store with no
row pointing at it. Every upload, stage and import therefore records its owner process on
the image (``glance_svc.domain.ownership``), and a recovery pass:

1. lists the images that record an owner and keeps those whose owner is dead: on this
   host, its process is gone (certain at once); on another host, its heartbeat is older
   than ``operation_owner_timeout``;
2. notes the partial data (the file-store files named by the image id that no location
   of the image points at, and its staged file), then takes the image back with one
   compare-and-set save from the status it saw: ``saving``, ``uploading`` and
   ``importing`` go back to ``queued`` with no size, hashes or locations (as a failed
   upload or import does while its worker lives, so a retry starts from scratch), the
   import lock and the owner are removed, and the stores an import had still to do are
   recorded as failed. An image that is ``active`` under a dead copy-image keeps its
   status and data and only loses the lock. If the save loses the compare-and-set, the
   operation was alive after all (it finished or moved on) and nothing is touched;
3. then removes the partial data, each file only if it is still the file it saw (a retry
   that starts at once writes a new file at the same path), and the data of locations
   an import had recorded before it died;
4. sweeps the file stores and the staging directory for files named by an image id that
   no image claims (no row, or a ``queued``, ``killed`` or ``deleted`` one in a store; in
   staging, anything but ``uploading`` or ``importing``) and that were last written more
   than ``orphan_data_grace_period`` seconds ago. The grace period keeps the sweep off
   data that is being written; a crash between step 2 and step 3 is finished here.

When. Every glance-api worker runs a recovery thread, but only the one holding an
exclusive ``flock`` on ``<staging dir>/.glance-api-recovery.lock`` makes passes: the
first at its start, then every ``recovery_interval`` seconds. The others try the lock at
the same interval, so when the holder itself is killed, the worker gunicorn starts in its
place (or another one) takes over within one interval. The kernel drops a dead
process's lock, so there is nothing stale to clean. A killed worker's work on this host is
therefore recovered within ``recovery_interval`` seconds (at once, if the killed worker
held the lock); another host's, within ``operation_owner_timeout`` plus one interval.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import fcntl
import logging
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import ownership
from glance_svc.domain.image import (
    ACTIVE,
    DELETED,
    IMPORT_LOCK,
    IMPORTING,
    KILLED,
    OPERATION_OWNER,
    QUEUED,
    SAVING,
    UPLOADING,
    Image,
    Location,
)
from glance_svc.domain.imports import FAILED, IMPORTING_TO
from glance_svc.store import filestore

if TYPE_CHECKING:
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.store.backends import StoreGateway

LOG = logging.getLogger(__name__)

recovery_opts = [
    cfg.IntOpt("recovery_interval", default=60, min=0,
               help="Seconds between two crash-recovery passes of glance-api (uploads, "
                    "stages and imports of dead workers, and orphaned data files). 0: one "
                    "pass when a worker starts, none after."),
    cfg.IntOpt("orphan_data_grace_period", default=3600, min=0,
               help="Seconds a data file in a file store or the staging directory that no "
                    "image claims is left alone (from its last write) before crash "
                    "recovery removes it."),
]

LOCK_FILE = ".glance-api-recovery.lock"
# In a store, these statuses hold no data: a file named by such an image is an orphan.
_NO_STORE_DATA = frozenset({QUEUED, KILLED, DELETED})
# Only these statuses have data in staging.
_STAGED = frozenset({UPLOADING, IMPORTING})
_GIVEN_BACK = frozenset({SAVING, UPLOADING, IMPORTING})


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, recovery_opts)]


@dataclasses.dataclass
class RecoveryReport:
    """What one pass did."""

    recovered: list[str] = dataclasses.field(default_factory=list)
    removed_files: list[str] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.recovered)} image(s) of dead workers recovered, "
                f"{len(self.removed_files)} orphaned file(s) removed")


def _is_image_id(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


class CrashRecovery:
    """Recovery passes over one repository and one set of stores."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository,
                 stores: StoreGateway) -> None:
        self.conf = conf
        self.repo = repo
        self.stores = stores

    def run_once(self) -> RecoveryReport:
        report = RecoveryReport()
        for image in self.repo.list_with_property(OPERATION_OWNER):
            try:
                if self.recover(image):
                    report.recovered.append(image.id)
            except Exception:
                LOG.exception("Image %s: crash recovery failed; trying again next pass",
                              image.id)
        report.removed_files.extend(self.sweep())
        return report

    # -- in-flight operations of dead workers ------------------------------------------
    def owner_is_dead(self, image: Image) -> bool:
        owner = ownership.owner_of(image)
        timeout = self.conf.operation_owner_timeout
        if owner is None:  # not our format: judge by the row's last change
            age = time.time() - image.updated_at.replace(tzinfo=dt.UTC).timestamp()
            return age > timeout
        return ownership.is_dead(owner, timeout=timeout)

    def recover(self, image: Image) -> bool:
        """Take ``image`` back from its dead owner; False if the owner lives (or won).

        The image is read again first: the save below writes the whole record, so the
        copy it starts from must be as fresh as possible.
        """
        if not self.owner_is_dead(image):
            return False
        claimed_by = image.properties.get(OPERATION_OWNER)
        try:
            image = self.repo.get(image.id)
        except errors.NotFound:
            return False
        if image.properties.get(OPERATION_OWNER) != claimed_by:
            return False
        partial = self._partial_files(image)
        try:
            dropped = self._take_back(image)
        except (errors.StaleStatus, errors.NotFound):
            LOG.info("Image %s changed while it was being recovered; left alone", image.id)
            return False
        for path, before in partial:
            if filestore.remove_if_unchanged(path, before):
                LOG.info("Image %s: removed partial data %s", image.id, path)
        for location in dropped:
            try:
                self.stores.delete(location)
            except Exception:
                LOG.exception("Image %s: unable to remove data at %s", image.id,
                              location.url)
        return True

    def _partial_files(self, image: Image) -> list[tuple[str, os.stat_result]]:
        """The image's files no active location points at, with what they are now."""
        kept = {loc.url for loc in image.active_locations}
        paths = [os.path.join(d, image.id) for d in self.stores.file_data_dirs()]
        found = [(p, _stat(p)) for p in paths if f"file://{p}" not in kept]
        found.append((self.stores.staging.path(image.id),
                      _stat(self.stores.staging.path(image.id))))
        return [(p, seen) for p, seen in found if seen is not None]

    def _take_back(self, image: Image) -> list[Location]:
        """Save the image as a retry needs it; return the locations whose data goes."""
        previous = image.status
        owner = image.properties.get(OPERATION_OWNER)
        dropped: list[Location] = []
        if previous in _GIVEN_BACK:
            dropped = image.active_locations
            image.clear_data()
            image.transition(QUEUED)
        if IMPORT_LOCK in image.properties:
            image.properties.pop(IMPORT_LOCK)
            remaining = [s for s in (image.properties.get(IMPORTING_TO) or "").split(",")
                         if s]
            failed = [s for s in (image.properties.get(FAILED) or "").split(",") if s]
            image.properties[FAILED] = ",".join(failed + [s for s in remaining
                                                          if s not in failed])
            image.properties[IMPORTING_TO] = ""
        ownership.release(image)
        self.repo.save(image, from_status=previous)
        LOG.warning("Image %s: %s by dead worker %s recovered; the image is now %s",
                    image.id, "copy" if previous == ACTIVE else previous, owner, image.status)
        return dropped

    # -- orphaned files ------------------------------------------------------------------
    def sweep(self) -> list[str]:
        """Remove data files no image claims, older than the grace period; their paths."""
        cutoff = time.time() - self.conf.orphan_data_grace_period
        candidates: list[tuple[str, str, os.stat_result, bool]] = []
        for directory, staged in ([(d, False) for d in self.stores.file_data_dirs()]
                                  + [(self.stores.staging.directory, True)]):
            candidates.extend((path, name, seen, staged)
                              for path, name, seen in _old_files(directory, cutoff))
        if not candidates:
            return []
        statuses = self.repo.statuses(sorted({name for _p, name, _s, _st in candidates}))
        removed = []
        for path, name, seen, staged in candidates:
            status = statuses.get(name)
            orphan = (status not in _STAGED) if staged else (
                status is None or status in _NO_STORE_DATA)
            if orphan and filestore.remove_if_unchanged(path, seen):
                LOG.warning("Removed %s: no image claims it (image status %s)", path,
                            status or "absent")
                removed.append(path)
        return removed


def _old_files(directory: str, cutoff: float) -> list[tuple[str, str, os.stat_result]]:
    """Regular files named by an image id in ``directory``, last written before cutoff.

    The id is the name up to its first dot, as in Glance: an import plugin's scratch file
    (``<id>.raw``) left by a killed worker belongs to its image like the staged file.
    """
    found = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    for entry in entries:
        name = entry.name.split(".", 1)[0]
        if not _is_image_id(name):
            continue
        try:
            seen = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if entry.is_file(follow_symlinks=False) and seen.st_mtime <= cutoff:
            found.append((entry.path, name, seen))
    return found


# -- the recovery thread of a glance-api worker --------------------------------------------
class RecoveryLock:
    """The non-blocking exclusive lock that elects the one worker making passes."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, LOCK_FILE)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def run_forever(conf: cfg.ConfigOpts, stop: threading.Event) -> None:
    """The loop of a worker's recovery thread (see the module docstring)."""
    from glance_svc.db import api as db_api
    from glance_svc.store.backends import StoreGateway

    lock: RecoveryLock | None = None
    recovery: CrashRecovery | None = None
    try:
        while not stop.is_set():
            try:
                if lock is None:
                    stores = StoreGateway(conf)
                    lock = RecoveryLock(stores.staging.directory)
                if lock.try_acquire():
                    if recovery is None:
                        recovery = CrashRecovery(conf, db_api.get_repository(conf), stores)
                    report = recovery.run_once()
                    if report.recovered or report.removed_files:
                        LOG.warning("Crash recovery: %s", report.summary())
            except Exception:
                LOG.exception("Crash recovery pass failed; trying again in %d s",
                              conf.recovery_interval)
            if not conf.recovery_interval:
                return
            stop.wait(conf.recovery_interval)
    finally:
        if lock is not None:
            lock.release()


def start(conf: cfg.ConfigOpts) -> threading.Event:
    """Start this worker's recovery thread (gunicorn's ``post_worker_init``).

    A daemon thread: it dies with the worker. Setting the returned event stops it.
    """
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(conf, stop), daemon=True,
                     name="glance-recovery").start()
    return stop
