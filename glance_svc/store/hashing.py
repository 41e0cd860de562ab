"""md5 and the multihash of a stream, computed on worker threads beside the write.

hashlib releases the GIL while it digests a buffer larger than 2 KiB, so md5 and sha512 on
two threads run truly in parallel with each other and with the socket read and the file
write of the request thread. Hashing inline, one after the other, caps an upload at
roughly 1 / (1/md5 + 1/sha512) of one core (about 360 MB/s on the reference machines);
in parallel the slowest single hash is the limit.

Each hash thread takes chunks from a small bounded queue, so a slow hash slows the upload
down (back-pressure) instead of letting chunks pile up in memory.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Sequence

# Below this a chunk is hashed inline: handing it to a thread costs more than hashing it.
INLINE_BELOW = 64 * 1024
# Chunks each hash thread may have waiting; with 1 MiB chunks, 4 MiB per algorithm.
QUEUE_DEPTH = 4

_STOP = None


def new_hash(name: str) -> hashlib._Hash:
    """A hashlib object; md5 is marked as not-for-security so FIPS systems allow it."""
    if name == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(name)


class _HashThread:
    """One algorithm fed by one daemon thread through a bounded queue."""

    def __init__(self, name: str, start: hashlib._Hash) -> None:
        self.hash = start  # may already hold what was hashed inline
        self._queue: queue.Queue[bytes | memoryview | None] = queue.Queue(QUEUE_DEPTH)
        self._thread = threading.Thread(target=self._run, name=f"hash-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        update = self.hash.update
        get = self._queue.get
        while (chunk := get()) is not _STOP:
            update(chunk)

    def put(self, chunk: bytes | memoryview) -> None:
        self._queue.put(chunk)

    def join(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()


class MultiHasher:
    """Hash one stream with several algorithms at once.

    Small inputs never start a thread; the first large chunk moves every algorithm onto
    its own thread (keeping the order of updates), and ``hexdigests`` or ``close`` stops
    them. Always call one of the two, or the threads wait for ever (they are daemons, so
    they never block interpreter exit).
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._inline = [new_hash(n) for n in self.names]
        self._threads: list[_HashThread] | None = None
        self._closed = False

    def update(self, chunk: bytes | memoryview) -> None:
        if self._threads is None:
            if len(chunk) < INLINE_BELOW:
                for h in self._inline:
                    h.update(chunk)
                return
            self._start_threads()
        assert self._threads is not None
        for worker in self._threads:
            worker.put(chunk)

    def _start_threads(self) -> None:
        self._threads = [_HashThread(name, inline)
                         for name, inline in zip(self.names, self._inline, strict=True)]

    def close(self) -> None:
        """Stop the threads (after a failure: the digests are not wanted)."""
        if self._threads is not None and not self._closed:
            self._closed = True
            for worker in self._threads:
                worker.join()

    def hexdigests(self) -> dict[str, str]:
        """Wait for the queued chunks and return ``{name: hexdigest}``."""
        self.close()
        hashes = [w.hash for w in self._threads] if self._threads else self._inline
        return {name: h.hexdigest() for name, h in zip(self.names, hashes, strict=True)}
