"""Streaming image data into a store: size caps, md5 and the multihash, no buffering.

``UploadStream`` sits between the request body (or a staged file, or a remote URL) and
the store. The store pulls chunks from it; on the way each chunk is counted against the
limits, handed to the hash threads and shown to the format inspector. Nothing is kept
but the chunk in flight, so an image of any size streams in constant memory, and a
limit stops the transfer the moment it is crossed instead of after the whole body.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable

from glance_svc import errors
from glance_svc.store.bodies import Readable
from glance_svc.store.format_check import FormatInspection
from glance_svc.store.hashing import MultiHasher

LOG = logging.getLogger(__name__)

# gunicorn hands the body over in pieces of at most 1 MiB; asking for more only makes it
# join pieces (a copy) before returning them.
CHUNK_SIZE = 1024 * 1024
# How often a long transfer asks whether it should go on (image deleted meanwhile?).
WATCH_INTERVAL = 5.0


class UploadInterrupted(errors.BadRequest):
    """The client stopped sending (closed the socket, or the body ended early)."""


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most ``bytes`` may pass; crossing it raises 413 with ``message``."""

    bytes: int
    message: str


@dataclasses.dataclass(frozen=True)
class StreamResult:
    """What the stream measured; the domain records it on the image."""

    size: int
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    virtual_size: int | None


class UploadStream:
    """A file-like reader over ``source`` that meters, caps, hashes and inspects.

    ``expected_size``: the exact byte count announced (``x-openstack-image-size``); more
    or fewer bytes is 400 and the reading stops one byte past it. ``body_length``: the
    ``Content-Length``; a body that ends sooner means the client went away.
    ``hash_algo``: None to skip hashing (staging); otherwise md5 plus this algorithm.
    ``watch``: called every few seconds while data flows; it raises to abort.
    """

    def __init__(self, source: Readable, *, expected_size: int | None = None,
                 body_length: int | None = None, limits: list[Limit] | None = None,
                 hash_algo: str | None = None, inspection: FormatInspection | None = None,
                 watch: Callable[[], None] | None = None,
                 chunk_size: int = CHUNK_SIZE) -> None:
        self._source = source
        self.expected_size = expected_size
        self.body_length = body_length
        self._limit = min(limits, key=lambda lim: lim.bytes) if limits else None
        self.hash_algo = hash_algo
        self._hasher = MultiHasher(["md5", hash_algo]) if hash_algo else None
        self._inspection = inspection
        self._watch = watch
        self._next_watch = time.monotonic() + WATCH_INTERVAL
        self.chunk_size = chunk_size
        self.bytes_read = 0
        self._pending = memoryview(b"")
        self._eof = False

    # -- the file-like side the store pulls from -----------------------------------------
    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (a whole chunk when ``size`` is negative); b"" at the end."""
        if not self._pending:
            if self._eof:
                return b""
            chunk = self._next_chunk(max(size, self.chunk_size))
            if not chunk:
                return b""
            if size < 0 or size >= len(chunk):
                return chunk
            self._pending = memoryview(chunk)
        if size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, memoryview(b"")
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return bytes(out)

    def __iter__(self) -> UploadStream:
        return self

    def __next__(self) -> bytes:
        chunk = self.read(-1)
        if not chunk:
            raise StopIteration
        return chunk

    # -- the checks ------------------------------------------------------------------------
    def _next_chunk(self, want: int) -> bytes:
        if self.expected_size is not None:
            # Never read more than one byte past the announced size: enough to know the
            # client sent too much, without swallowing the rest of its body.
            want = max(1, min(want, self.expected_size - self.bytes_read + 1))
        if self._limit is not None:
            want = max(1, min(want, self._limit.bytes - self.bytes_read + 1))
        if self.body_length is not None:
            # Never ask past Content-Length: not every server stops the read there.
            want = min(want, self.body_length - self.bytes_read)
            if want <= 0:
                self._eof = True
                self._check_end()
                return b""
        try:
            chunk = self._source.read(want)
        except errors.GlanceError:
            raise
        except Exception as exc:  # socket closed, timeout, malformed chunked encoding
            raise UploadInterrupted(
                f"The image data stopped arriving after {self.bytes_read} bytes: {exc}"
            ) from exc
        if not chunk:
            self._eof = True
            self._check_end()
            return b""
        self.bytes_read += len(chunk)
        self._check_bounds()
        if self._hasher is not None:
            self._hasher.update(chunk)
        if self._inspection is not None:
            self._inspection.feed(chunk)
        if self._watch is not None and time.monotonic() >= self._next_watch:
            self._next_watch = time.monotonic() + WATCH_INTERVAL
            self._watch()
        return chunk

    def _check_bounds(self) -> None:
        if self.expected_size is not None and self.bytes_read > self.expected_size:
            raise errors.BadRequest(
                f"Size exceeds: expected {self.expected_size} bytes, got more")
        if self._limit is not None and self.bytes_read > self._limit.bytes:
            raise errors.LimitExceeded(self._limit.message)

    def _check_end(self) -> None:
        if self.body_length is not None and self.bytes_read < self.body_length:
            raise UploadInterrupted(
                f"The request body ended after {self.bytes_read} of {self.body_length} "
                "bytes")
        if self.expected_size is not None and self.bytes_read != self.expected_size:
            raise errors.BadRequest(
                f"Size mismatch: expected {self.expected_size} bytes, "
                f"got {self.bytes_read} bytes")

    # -- the outcome -----------------------------------------------------------------------
    def drain(self) -> None:
        """Read to the end (for stores that stop pulling before EOF, e.g. on a 0 size)."""
        while self.read(-1):
            pass

    def finish(self) -> StreamResult:
        """After EOF: the size, the digests and the virtual size (415 if refused)."""
        if not self._eof:
            self.drain()
        digests = self._hasher.hexdigests() if self._hasher is not None else {}
        virtual_size = self._inspection.verdict() if self._inspection is not None else None
        return StreamResult(
            size=self.bytes_read,
            checksum=digests.get("md5"),
            os_hash_algo=self.hash_algo,
            os_hash_value=digests.get(self.hash_algo) if self.hash_algo else None,
            virtual_size=virtual_size,
        )

    def close(self) -> None:
        """Release the hash threads after a failure."""
        if self._hasher is not None:
            self._hasher.close()


def size_cap_limit(cap: int) -> Limit:
    return Limit(cap, f"The incoming image is too large: the limit is {cap} bytes.")


def quota_limit(remaining: int, quota: int) -> Limit:
    return Limit(max(remaining, 0),
                 f"Image exceeds the storage quota: the quota is {quota} bytes and "
                 f"{max(remaining, 0)} bytes remain.")
