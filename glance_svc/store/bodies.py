"""What a download sends: an open file (for sendfile) or an iterator of chunks.

The store layer answers with one of these and the API layer turns it into a WSGI body:
a ``FileBody`` goes to ``wsgi.file_wrapper`` so gunicorn can ``sendfile`` straight from
the page cache to the socket (no copy through Python); an ``IterBody`` is streamed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Protocol


class Readable(Protocol):
    """What an upload reads from: a request body, a remote response, a staged file."""

    def read(self, size: int, /) -> bytes: ...


@dataclasses.dataclass
class FileBody:
    """``length`` bytes of ``file``, which is already positioned at the first of them."""

    file: BinaryIO
    length: int

    def iter_chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
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
    """Chunks from a store driver (http, rbd, swift ...); ``length`` if known."""

    chunks: Iterable[bytes]
    length: int | None

    def iter_chunks(self) -> Iterator[bytes]:
        try:
            yield from self.chunks
        finally:
            self.close()

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


DataBody = FileBody | IterBody
