"""A chunked request body decoded straight from gunicorn's socket, in large reads.

python-glanceclient (``glance image-create --file``) sends an image as chunked
transfer-coding in 64 KiB chunks. gunicorn's ``ChunkedReader`` turns each chunk into
several small ``recv`` calls and two or three ``BytesIO`` copies, and ``Body.read``
joins the pieces into the 1 MiB the upload asks for with yet another copy: the upload
ran at a third of the speed of the same bytes sent with a Content-Length.

``ChunkedSocketBody`` reads the chunk data with ``recv_into`` straight into the buffer it
returns (no copy in Python at all) whenever a chunk is large, and reads the chunk-size
lines, or chunks too small to be worth a system call of their own, in one larger
``recv`` into a small framing buffer. A read therefore fills the whole size asked for,
whatever chunk sizes the client sends.

``adopt`` installs it as the reader of gunicorn's ``Body``: the application reads from
it directly, and when the application stops early (a 4xx before or during the upload)
gunicorn drains the rest of the body through the same decoder, so keep-alive still
finds the next request where it starts. Bytes read past the body (a pipelined request)
go back to gunicorn's buffer. A malformed body marks gunicorn's ``Body`` as failed, and
gunicorn closes the connection instead of reusing it.
"""

from __future__ import annotations

import re
import socket
from typing import Any

# A chunk larger than this is received straight into the caller's buffer; smaller ones
# (and the chunk-size lines between them) come through one framing read.
DIRECT_FROM = 16 * 1024
# How much one framing read asks for when the client's chunks are small.
FRAMING_READ = 64 * 1024
# After a large chunk the next size line is only a few bytes away: ask for little, so
# that the data after it is again received in place rather than copied.
FRAMING_PEEK = 256
# A chunk of at most this size is received together with the framing after it (one
# system call per chunk); a larger one with MSG_WAITALL, then a small framing read.
SCATTER_UP_TO = 256 * 1024
# Gunicorn's defaults when the request carries no limits of its own.
DEFAULT_LINE_LIMIT = 8190
DEFAULT_TRAILER_LIMIT = 8190 * 32

_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class MalformedChunkedBody(ValueError):
    """The body breaks the chunked transfer-coding (RFC 9112 section 7.1)."""


class ChunkedSocketBody:
    """The decoded data of one chunked body on ``sock``; ``head`` was read already."""

    def __init__(self, sock: socket.socket, head: bytes, *,
                 line_limit: int = DEFAULT_LINE_LIMIT,
                 trailer_limit: int = DEFAULT_TRAILER_LIMIT) -> None:
        self._sock = sock
        self._framing = bytearray(head)  # received, not yet decoded
        self._left = 0  # data bytes still to come in the current chunk
        self._after_data = False  # a CRLF must close the chunk just read
        self._last_chunk = 0
        self._tail = bytearray(FRAMING_PEEK)  # where a scatter read puts what follows
        self._line_limit = line_limit
        self._trailer_limit = trailer_limit
        self._failure: MalformedChunkedBody | None = None
        self.done = False
        self.leftover = b""  # bytes after the body: the next request's

    def read(self, size: int = -1) -> bytearray:
        """Up to ``size`` bytes of data (fewer only at the end); empty after the last.

        After a malformed body every read raises again: where the data went on is
        unknown, and reading on would wait for bytes the client will never send.
        """
        if self._failure is not None:
            raise MalformedChunkedBody(*self._failure.args)
        try:
            return self._read(size)
        except MalformedChunkedBody as exc:
            self._failure = exc
            raise

    def _read(self, size: int) -> bytearray:
        if size < 0:
            size = 1024 * 1024
        out = bytearray(size)
        view = memoryview(out)
        filled = 0
        while filled < size and not self.done:
            if self._left == 0:
                self._next_chunk()
                continue
            want = min(self._left, size - filled)
            if self._framing:
                got = min(want, len(self._framing))
                view[filled:filled + got] = self._framing[:got]
                del self._framing[:got]
            elif want == self._left and DIRECT_FROM <= self._last_chunk <= SCATTER_UP_TO:
                got = self._receive_with_framing(view[filled:filled + want])
            else:
                got = self._sock.recv_into(view[filled:filled + want], want,
                                           socket.MSG_WAITALL)
            if not got:
                raise MalformedChunkedBody(
                    f"the connection closed with {self._left} bytes of a chunk unsent")
            filled += got
            self._left -= got
        view.release()
        del out[filled:]
        return out

    def _receive_with_framing(self, data: memoryview) -> int:
        """Receive the rest of a chunk and, in the same system call, what follows it.

        One scatter read fills ``data`` and puts up to ``FRAMING_PEEK`` further bytes (the
        next chunk-size line, the start of its data) in the framing buffer: one system
        call per chunk instead of two. Without MSG_WAITALL, which would wait for bytes
        past the last chunk; a short read just comes round again.
        """
        got, _, _, _ = self._sock.recvmsg_into([data, self._tail])
        if got > len(data):
            self._framing += self._tail[:got - len(data)]
            return len(data)
        return got

    # -- the framing -----------------------------------------------------------------------
    def _receive(self) -> None:
        """Append one read to the framing buffer; the client closing is an error here."""
        small = self._last_chunk >= DIRECT_FROM
        data = self._sock.recv(FRAMING_PEEK if small else FRAMING_READ)
        if not data:
            raise MalformedChunkedBody("the connection closed before the last chunk")
        self._framing += data

    def _line(self, limit: int, what: str) -> bytes:
        """The next CRLF-terminated line of the framing, without its CRLF."""
        searched = 0
        while (end := self._framing.find(b"\r\n", searched)) < 0:
            if len(self._framing) > limit:
                raise MalformedChunkedBody(f"{what} longer than {limit} bytes")
            searched = max(0, len(self._framing) - 1)
            self._receive()
        line = bytes(self._framing[:end])
        del self._framing[:end + 2]
        return line

    def _next_chunk(self) -> None:
        if self._after_data:
            if self._line(2, "chunk data") != b"":
                raise MalformedChunkedBody("chunk data longer than its size")
            self._after_data = False
        line = self._line(self._line_limit, "chunk-size line")
        size_field, _, extension = line.partition(b";")
        if extension and b"\r" in extension:
            raise MalformedChunkedBody("bare CR in a chunk extension")
        size_field = size_field.rstrip(b" \t") if extension else size_field
        if not _CHUNK_SIZE_RE.fullmatch(size_field):
            raise MalformedChunkedBody(f"invalid chunk size {size_field[:32]!r}")
        size = int(size_field, 16)
        if size == 0:
            self._trailers()
            return
        self._left = self._last_chunk = size
        self._after_data = True

    def _trailers(self) -> None:
        """Skip the trailer section (Glance reads no trailers) up to the blank line."""
        total = 0
        while line := self._line(self._trailer_limit - total, "trailer section"):
            total += len(line) + 2
        self.leftover = bytes(self._framing)
        self._framing.clear()
        self.done = True


def adopt(body: Any) -> ChunkedSocketBody | None:
    """Take over gunicorn's chunked ``Body``; None when it is not the expected shape.

    Only a body nobody has read from yet, on a plain socket, is taken: gunicorn's reader
    then holds nothing, and the unreader's buffer holds the start of the body (and
    perhaps more). TLS sockets accept no ``recv`` flags, so they keep gunicorn's reader.
    """
    try:
        from gunicorn.http.body import ChunkedReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:  # pragma: no cover - another WSGI server
        return None
    reader = getattr(body, "reader", None)
    if type(reader) is not ChunkedReader:
        return None
    unreader = getattr(reader.req, "unreader", None)  # the one the reader's parser holds
    if (type(unreader) is not SocketUnreader or type(unreader.sock) is not socket.socket
            or body.buf.tell() or reader.buf.tell()
            or not hasattr(unreader, "take_buffered")):
        return None
    body.reader = _GunicornChunkedBody(body, reader, unreader)
    return body.reader


class _GunicornChunkedBody(ChunkedSocketBody):
    """The decoder as gunicorn's reader: failures and leftovers reported back to it."""

    def __init__(self, body: Any, reader: Any, unreader: Any) -> None:
        self._body = body
        self._unreader = unreader
        super().__init__(
            unreader.sock, unreader.take_buffered(),
            line_limit=getattr(reader, "limit_chunk_size_line", DEFAULT_LINE_LIMIT),
            trailer_limit=getattr(reader, "limit_trailer_section", DEFAULT_TRAILER_LIMIT))

    def read(self, size: int = -1) -> bytearray:
        if self.done:
            return bytearray()
        try:
            data = super().read(size)
        except Exception:
            self._body.failed = True
            raise
        if self.done and self.leftover:
            self._unreader.unread(self.leftover)
            self.leftover = b""
        return data
