"""Write and read image files in a directory: the file store's fast path and staging.

glance_store's filesystem driver writes what it is given but also hashes it itself, one
algorithm after the other on the request thread; with md5 and sha512 that alone halves
upload speed. Our stream already hashes on worker threads, so for ``file`` stores the
gateway writes the file here, in the driver's own data directory and under the driver's
own naming (``<datadir>/<image id>``, URL ``file://<path>``), honouring its options
(file permissions, thin provisioning); reads and deletes still go through the driver.
The staging area (glance-direct, web-download) is such a directory too.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable
from typing import BinaryIO

from glance_svc import errors
from glance_svc.store.bodies import Readable

LOG = logging.getLogger(__name__)

WRITE_CHUNK = 1024 * 1024


def write_file(path: str, stream: Readable, *, perm: int = 0, thin: bool = False,
               on_exists: Callable[[], errors.GlanceError] | None = None) -> int:
    """Write ``stream`` to a new file at ``path``; return the bytes written.

    The file is created exclusively: an existing file means the data is already there
    (409, or ``on_exists()``). On any failure the partial file is removed before the
    error propagates, so a failed upload never leaves data behind. ENOSPC/EFBIG become
    413 and EACCES 503, as Glance maps the store's StorageFull / StorageWriteDenied.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise (on_exists() if on_exists else errors.Conflict(
            f"Image data already exists at {path}")) from None
    except OSError as exc:
        raise _store_error(exc) from exc
    written = 0
    try:
        with os.fdopen(fd, "wb", buffering=0) as handle:
            while chunk := stream.read(WRITE_CHUNK):
                if thin and chunk.count(0) == len(chunk):
                    handle.seek(len(chunk), os.SEEK_CUR)  # leave a hole
                else:
                    view = memoryview(chunk)
                    while view:
                        view = view[handle.write(view):]
                written += len(chunk)
            if thin:
                handle.truncate(written)
        if perm > 0:
            try:
                os.chmod(path, int(str(perm), 8))
            except OSError:
                LOG.warning("Unable to set permission %s on image file %s", perm, path)
    except BaseException as exc:
        remove_quietly(path)
        if isinstance(exc, OSError) and not isinstance(exc, errors.GlanceError):
            raise _store_error(exc) from exc
        raise
    return written


def _store_error(exc: OSError) -> errors.GlanceError:
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return errors.LimitExceeded(f"Image storage media is full: {exc.strerror}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return errors.ServiceUnavailable(
            f"Insufficient permissions on image storage media: {exc.strerror}")
    return errors.ServiceUnavailable(f"Image storage media failed: {exc.strerror}")


def remove_quietly(path: str) -> bool:
    """Delete ``path``; True if it existed. Missing files are not an error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        LOG.error("Unable to remove image data %s: %s", path, exc)
        return False
    return True


def remove_if_unchanged(path: str, seen: os.stat_result) -> bool:
    """Delete ``path`` only if it is still the file ``seen`` describes (same inode).

    Crash recovery looks at a dead operation's partial file, then gives the image back;
    a retry may start at once and create a new file at the same path, which must live.
    """
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    if (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino):
        return False
    return remove_quietly(path)


class StagingArea:
    """The directory where glance-direct and web-download park data before import.

    One file per image, named by the image id, as Glance lays it out, so a staging
    directory shared by the API workers of one node works for all of them.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, image_id: str) -> str:
        return os.path.join(self.directory, image_id)

    def exists(self, image_id: str) -> bool:
        return os.path.exists(self.path(image_id))

    def write(self, image_id: str, stream: Readable) -> int:
        os.makedirs(self.directory, exist_ok=True)
        return write_file(self.path(image_id), stream, on_exists=lambda: errors.Conflict(
            f"The image {image_id} has data on staging"))

    def open(self, image_id: str) -> BinaryIO:
        try:
            return open(self.path(image_id), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise errors.NotFound(f"No staged data for image {image_id}") from None

    def delete(self, image_id: str) -> bool:
        return remove_quietly(self.path(image_id))
