"""Following a tar archive (ova, docker) as it streams, member by member.

An ``ova`` or ``docker`` image is a tar archive: the disk a consumer boots is one of its
members, not the upload itself. To inspect those disks while the upload streams, this
parser is pushed the incoming chunks and hands each member's content to a sink, one
member at a time, never holding more than a 512-byte header (plus a pax header, capped)
in memory. Python's ``tarfile`` pulls from a file object instead, which the push-driven
upload path cannot give it without a thread.

The parser is deliberately stricter than tar readers are, because what it does not
understand it cannot inspect, and a reader that understands more would extract it:

- a zero block where a header may start is skipped (``tar --ignore-zeros`` reads on
  past the end marker, so members hidden after it are inspected too);
- any other block there must be a valid header (checksum), else the archive is refused:
  GNU tar skips forward to the next valid header, and the bytes in between would
  escape inspection. The first non-zero block decides whether the data is a tar at all;
- sparse members (GNU ``S``, pax ``GNU.sparse.*``) store their content out of order and
  links or directories (or files named like one, ``dir/``) with content are read
  differently by different tools: refused;
- pax ``size`` (local, then global) overrides the header's size, as readers do.
"""

from __future__ import annotations

from typing import Protocol

BLOCK = 512
# A pax header larger than this is refused rather than held in memory.
MAX_PAX_HEADER = 1024 * 1024
# A GNU long name is kept only this long (for messages); the rest is skipped.
MAX_NAME = 4096

_ZERO_BLOCK = bytes(BLOCK)
_SKIP_WINDOW = 1024 * 1024
_NO_CONTENT = frozenset(b"123456")  # links, devices, directories, fifos


class TarFormatError(Exception):
    """The data started as a tar archive but cannot be followed safely to its end."""


class MemberSink(Protocol):
    """Receives the content of each file member, in archive order."""

    def start(self, name: str) -> None: ...

    def data(self, chunk: memoryview) -> None: ...

    def end(self) -> None: ...


def _octal(field: bytes) -> int:
    """A numeric header field: NUL/space-padded octal, or GNU base-256."""
    if field and field[0] & 0x80:
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarFormatError("invalid number in a tar header") from None


def _valid_header(block: bytes) -> bool:
    """Whether ``block`` carries a correct header checksum (unsigned or signed sum)."""
    try:
        stored = _octal(block[148:156])
    except TarFormatError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    signed = unsigned - sum(256 for b in block[:148] + block[156:] if b > 127)
    return stored in (unsigned, signed)


def _header_name(block: bytes) -> str:
    name = block[:100].split(b"\0", 1)[0]
    if block[257:262] == b"ustar":
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "replace")


def _pax_records(data: bytes) -> dict[str, str]:
    """``"<len> key=value\\n"`` records; malformed data is refused, never half-read."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise TarFormatError("malformed pax header") from None
        record = data[space + 1:pos + length]
        if (space < 0 or not space < pos + length <= len(data)
                or not record.endswith(b"\n") or b"=" not in record):
            raise TarFormatError("malformed pax header")
        key, value = record[:-1].split(b"=", 1)
        records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos += length
    return records


class TarStream:
    """Push parser over a tar archive; ``feed`` every chunk, then ``close``.

    ``is_tar`` is None until the first non-zero block has been seen, then True or
    False; once False the rest of the data is ignored (it is not an archive).
    """

    def __init__(self, sink: MemberSink) -> None:
        self._sink = sink
        self.is_tar: bool | None = None
        self._header = bytearray()
        self._remaining = 0        # content bytes of the current member still to come
        self._padding = 0          # bytes after the content up to the block boundary
        self._kind = "header"      # what the content is: "member", "pax", "global",
        #                            "name" or "skip"
        self._meta = bytearray()   # content of a pax header or GNU long name
        self._global: dict[str, str] = {}
        self._local: dict[str, str] = {}
        self._long_name: str | None = None

    def feed(self, chunk: bytes | memoryview) -> None:
        view = memoryview(chunk).cast("B")
        while view and self.is_tar is not False:
            if self._remaining:
                take = min(self._remaining, len(view))
                self._content(view[:take])
                self._remaining -= take
                view = view[take:]
                if not self._remaining:
                    self._end_content()
            elif self._padding:
                take = min(self._padding, len(view))
                self._padding -= take
                view = view[take:]
            else:
                view = self._read_header(view)

    def close(self) -> None:
        """At the end of the data: finish a truncated member; refuse a cut header."""
        if not self.is_tar:
            return
        if any(self._header):
            raise TarFormatError("the tar archive ends inside a header")
        if self._remaining and self._kind == "member":
            self._sink.end()

    # -- headers ---------------------------------------------------------------------------
    def _read_header(self, view: memoryview) -> memoryview:
        if not self._header and len(view) >= BLOCK and view[:BLOCK] == _ZERO_BLOCK:
            # Skip a run of zero blocks at C speed (the padding after the end marker).
            window = bytes(view[:_SKIP_WINDOW])
            zeros = len(window) - len(window.lstrip(b"\0"))
            return view[zeros - zeros % BLOCK:]
        take = min(BLOCK - len(self._header), len(view))
        self._header += view[:take]
        if len(self._header) == BLOCK:
            block = bytes(self._header)
            self._header.clear()
            if any(block):
                self._start_member(block)
        return view[take:]

    def _start_member(self, block: bytes) -> None:
        if not _valid_header(block):
            if self.is_tar is None:
                self.is_tar = False
                return
            raise TarFormatError("invalid tar header (bad checksum)")
        self.is_tar = True
        kind = block[156]
        size = _octal(block[124:136])
        if kind in (ord("x"), ord("g")):
            self._kind = "pax" if kind == ord("x") else "global"
            if not 0 <= size <= MAX_PAX_HEADER:
                raise TarFormatError("pax header too large")
        elif kind in (ord("L"), ord("K")):
            self._kind = "name" if kind == ord("L") else "skip"
        elif kind == ord("S"):
            raise TarFormatError("sparse tar members cannot be inspected")
        else:
            # Regular files, and (as tarfile does) any type it does not know: content.
            size = self._member_size(size)
            name = self._member_name(block)
            # A regular file named "dir/" is a directory to tarfile and GNU tar (old V7
            # archives): they would read its content as the next headers.
            if kind in _NO_CONTENT or name.endswith("/") or _header_name(block).endswith("/"):
                if size:
                    raise TarFormatError("a tar link or directory member has content")
                self._kind = "skip"
            else:
                self._kind = "member"
                self._sink.start(name)
        if size < 0:
            raise TarFormatError("negative size in a tar header")
        self._remaining = size
        self._padding = -size % BLOCK
        if not size:
            self._end_content()

    def _member_size(self, size: int) -> int:
        pax = {**self._global, **self._local}
        if any(key.startswith("GNU.sparse.") for key in pax):
            raise TarFormatError("sparse tar members cannot be inspected")
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise TarFormatError("invalid pax size") from None
        if size < 0:
            raise TarFormatError("negative size in a tar header")
        return size

    def _member_name(self, block: bytes) -> str:
        name = self._local.get("path") or self._long_name or _header_name(block)
        self._local = {}
        self._long_name = None
        return name

    # -- content ---------------------------------------------------------------------------
    def _content(self, view: memoryview) -> None:
        if self._kind == "member":
            self._sink.data(view)
        elif self._kind in ("pax", "global") or (
                self._kind == "name" and len(self._meta) < MAX_NAME):
            self._meta += view

    def _end_content(self) -> None:
        kind, meta = self._kind, bytes(self._meta)
        self._kind = "header"
        self._meta.clear()
        if kind == "member":
            self._sink.end()
        elif kind == "pax":
            self._local = _pax_records(meta)
        elif kind == "global":
            self._global.update(_pax_records(meta))
        elif kind == "name":
            self._long_name = meta[:MAX_NAME].split(b"\0", 1)[0].decode("utf-8", "replace")
