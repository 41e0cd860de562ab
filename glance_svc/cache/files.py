"""The cache directory of one API node, laid out as Glance lays it out (spec part 2, §3.2).

``<dir>/<id>`` is a complete cached image; ``incomplete/<id>`` is being written;
``invalid/<id>`` is a write that failed or did not match its checksum (kept for an
operator to look at until clean removes it); ``queue/<id>`` is an empty marker of an
image queued for caching, the marker's mtime giving the queue order. A file only ever
reaches ``<dir>/<id>`` by a rename of a complete, verified ``incomplete/<id>``, so a
reader never sees half an image.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

from glance_svc.domain.image import is_uuid
from glance_svc.store.bodies import FileBody

LOG = logging.getLogger(__name__)

INCOMPLETE, INVALID, QUEUE = "incomplete", "invalid", "queue"


class ChecksumMismatch(Exception):
    """The bytes written do not hash to the image's checksum: the file went to invalid/."""



class CacheWriter:
    """One image being written to ``incomplete/``; ``commit`` or ``abort`` ends it."""

    def __init__(self, cache: CacheDir, image_id: str, fd: int) -> None:
        self.cache = cache
        self.image_id = image_id
        self.size = 0
        self._file = os.fdopen(fd, "wb")
        self._md5 = hashlib.md5(usedforsecurity=False)

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)

    def commit(self, checksum: str | None) -> None:
        """Verify the md5 against ``checksum`` (None: nothing to verify against), then
        make the file the cached image and drop its queue marker."""
        self._file.close()
        incomplete = self.cache.incomplete_path(self.image_id)
        if checksum is None:
            LOG.error("Image %s has no checksum: cached without verification", self.image_id)
        elif self._md5.hexdigest() != checksum:
            self._move_to_invalid()
            raise ChecksumMismatch(f"Cached data of image {self.image_id} has md5 "
                                   f"{self._md5.hexdigest()}, not {checksum}")
        os.replace(incomplete, self.cache.path(self.image_id))
        self.cache.unqueue(self.image_id)

    def abort(self) -> None:
        """The write failed or was cut: keep what was written in ``invalid/``."""
        self._file.close()
        self._move_to_invalid()

    def _move_to_invalid(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.cache.incomplete_path(self.image_id),
                       self.cache.root / INVALID / self.image_id)


class CacheDir:
    """The files of the cache under ``root``; the subdirectories are made on first use."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        for sub in (INCOMPLETE, INVALID, QUEUE):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def path(self, image_id: str) -> Path:
        return self.root / image_id

    def incomplete_path(self, image_id: str) -> Path:
        return self.root / INCOMPLETE / image_id

    # -- cached images -------------------------------------------------------------------
    def is_cached(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def open(self, image_id: str) -> FileBody | None:
        """The cached image as a body for sendfile, or None when it is not cached."""
        try:
            file = open(self.path(image_id), "rb")  # noqa: SIM115 - the body closes it
        except FileNotFoundError:
            return None
        return FileBody(file=file, length=os.fstat(file.fileno()).st_size)

    def start(self, image_id: str) -> CacheWriter | None:
        """A writer for ``image_id``, or None if it is cached or already being written."""
        if self.is_cached(image_id):
            return None
        try:
            fd = os.open(self.incomplete_path(image_id),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:
            return None
        return CacheWriter(self, image_id, fd)

    def cached_ids(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_file() and is_uuid(p.name))

    def remove(self, image_id: str) -> bool:
        """Remove the cached file; True if there was one."""
        try:
            self.path(image_id).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- the queue -----------------------------------------------------------------------
    def queue(self, image_id: str) -> None:
        self.root.joinpath(QUEUE, image_id).touch()

    def unqueue(self, image_id: str) -> bool:
        try:
            self.root.joinpath(QUEUE, image_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def queued(self) -> list[str]:
        """Queued image ids, oldest marker first."""
        markers = []
        for entry in os.scandir(self.root / QUEUE):
            with contextlib.suppress(FileNotFoundError):
                markers.append((entry.stat().st_mtime, entry.name))
        return [name for _mtime, name in sorted(markers)]

    def is_queued(self, image_id: str) -> bool:
        return self.root.joinpath(QUEUE, image_id).exists()

    # -- clean ---------------------------------------------------------------------------
    def clean(self, stall_time: int) -> int:
        """Delete every ``invalid/`` file and ``incomplete/`` files untouched for
        ``stall_time`` seconds (a writer that died); returns how many went."""
        removed = 0
        cutoff = time.time() - stall_time
        for sub, stale_only in ((INVALID, False), (INCOMPLETE, True)):
            for entry in os.scandir(self.root / sub):
                with contextlib.suppress(FileNotFoundError):
                    if stale_only and entry.stat().st_mtime > cutoff:
                        continue
                    os.unlink(entry.path)
                    removed += 1
        return removed

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock across the processes of this node, on ``<dir>/<name>`` (the
        lock files Glance's oslo.concurrency locks leave there)."""
        with open(self.root / name, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
