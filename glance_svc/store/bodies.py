"""What a download sends: an open file (for sendfile) or an iterator of chunks.

The store layer answers with one of these and the API layer turns it into a WSGI body:
a ``FileBody`` goes to ``wsgi.file_wrapper`` so gunicorn can ``sendfile`` straight from
the page cache to the socket (no copy through Python); an ``IterBody`` is streamed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol

# What a download streams in when it goes through Python. Measured on the http store
# (bench/downloads.py, 4 and 8 clients, interleaved): 1,873 MB per CPU-second with 4 MiB,
# 1,491-1,556 with 2 MiB, 1,273-1,342 with 1 MiB, at the same MB/s. A stream holds at
# most two chunks (the one being sent, the one being read), so a worker's eight threads
# streaming at once hold up to 64 MiB.
STREAM_CHUNK = 4 * 1024 * 1024


class Readable(Protocol):
    """What an upload reads from: a request body, a remote response, a staged file."""

    def read(self, size: int, /) -> bytes: ...


@dataclasses.dataclass
class FileBody:
    """``length`` bytes of ``file``, which is already positioned at the first of them."""

    file: BinaryIO
    length: int

    def iter_chunks(self, chunk_size: int = STREAM_CHUNK) -> Iterator[bytes]:
        """The same bytes as an iterator (when the server offers no file_wrapper)."""
        remaining = self.length
        try:
            while remaining > 0:
                chunk = self.file.read(min(chunk_size, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            self.file.close()

    def close(self) -> None:
        self.file.close()


@dataclasses.dataclass
class IterBody:
    """Chunks from a store driver (http, rbd, swift ...); ``length`` if known.

    The chunks are passed on as the driver made them, never joined or re-cut: the
    server writes each one to the socket before asking for the next, so a slow client
    slows the reads from the store instead of making the worker hold the image.
    """

    chunks: Iterable[bytes]
    length: int | None

    def iter_chunks(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        finally:
            self.close()

    def close(self) -> None:
        close_source(self.chunks)


def unwrapped(chunks: Iterable[bytes]) -> Iterable[bytes]:
    """The driver's own iterator inside glance_store's ``Indexable``, if it is one.

    ``Indexable`` (indexing for eventlet-era writers, which a download never uses) adds
    a generator per chunk and has no ``close``: iterating what it wraps lets a hang-up
    close the driver's iterator directly.
    """
    return getattr(chunks, "wrapped", chunks)


def close_source(chunks: Any) -> None:
    """Close a driver's chunk source now, not when the garbage collector gets to it.

    The http store's generator closes its connection in a ``finally``, swift's body
    has a ``close``: a client that hangs up midway frees the store connection at once.
    """
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


def byte_span(chunks: Iterable[bytes], skip: int, limit: int | None) -> Iterator[bytes]:
    """``limit`` bytes (all the rest when None) after the first ``skip`` of ``chunks``.

    For drivers that ignore the offset and length they are asked for (http, rbd,
    swift, s3 all send the object from its first byte). Only the two chunks at the
    edges of the span are cut; those in between go out as they came. The source is
    closed as soon as the span is complete, so the rest of the object is never read.
    """
    try:
        for chunk in chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            if skip:
                chunk, skip = chunk[skip:], 0
            if limit is not None and len(chunk) >= limit:
                if limit:
                    yield chunk[:limit]
                return
            if limit is not None:
                limit -= len(chunk)
            yield chunk
    finally:
        close_source(chunks)


DataBody = FileBody | IterBody
