"""TarStream: following a tar archive member by member as it streams."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from glance_svc.store.tar_stream import BLOCK, TarFormatError, TarStream


class Recorder:
    """A sink that keeps every member's name and content."""

    def __init__(self) -> None:
        self.members: list[tuple[str, bytes]] = []
        self.open = False

    def start(self, name: str) -> None:
        self.members.append((name, b""))
        self.open = True

    def data(self, chunk: memoryview) -> None:
        name, content = self.members[-1]
        self.members[-1] = (name, content + bytes(chunk))

    def end(self) -> None:
        self.open = False


def follow(data: bytes, chunk: int = 4096) -> tuple[TarStream, Recorder]:
    sink = Recorder()
    parser = TarStream(sink)
    for start in range(0, len(data), chunk):
        parser.feed(data[start:start + chunk])
    parser.close()
    return parser, sink


def archive(members: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT,
            extra: list[tarfile.TarInfo] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info in extra or []:
            tar.addfile(info)
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def header(kind: bytes, size: int, name: bytes = b"x") -> bytes:
    """One ustar header block of type ``kind`` announcing ``size`` bytes."""
    block = bytearray(BLOCK)
    block[:len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = f"{size:011o}\0".encode()
    block[136:148] = b"00000000000\0"
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    return bytes(block)


MEMBERS = {"vm.ovf": b"<Envelope/>\n", "d" * 150 + "/disk.vmdk": os.urandom(70_000),
           "empty": b""}


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT,
                                 tarfile.PAX_FORMAT], ids=["ustar", "gnu", "pax"])
@pytest.mark.parametrize("chunk", [1, 511, 65536])
def test_members_arrive_whole_and_in_order_whatever_the_chunking(fmt, chunk):
    members = dict(MEMBERS)
    if fmt == tarfile.USTAR_FORMAT:  # ustar cannot hold the long name
        members = {name[-20:]: content for name, content in members.items()}
    parser, sink = follow(archive(members, fmt), chunk)
    assert parser.is_tar is True
    assert sink.members == list(members.items())


def test_links_and_directories_have_no_content_to_inspect():
    directory = tarfile.TarInfo("dir")
    directory.type = tarfile.DIRTYPE
    link = tarfile.TarInfo("link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    _, sink = follow(archive({"a": b"data"}, extra=[directory, link]))
    assert sink.members == [("a", b"data")]


def test_the_pax_size_overrides_the_header_size():
    pax_record = b"12 size=700\n"
    data = (header(b"x", len(pax_record)) + pax_record.ljust(BLOCK, b"\0")
            + header(b"0", 0, b"big") + b"y" * 700 + bytes(BLOCK - 700 % BLOCK)
            + bytes(2 * BLOCK))
    _, sink = follow(data)
    assert sink.members == [("big", b"y" * 700)]


def test_a_base_256_size_is_read():
    block = bytearray(header(b"0", 0, b"big"))
    block[124:136] = b"\x80" + (700).to_bytes(11, "big")
    block[148:156] = b" " * 8
    block[148:156] = f"{sum(block):06o}\0 ".encode()
    _, sink = follow(bytes(block) + b"y" * 700 + bytes(BLOCK - 700 % BLOCK + 2 * BLOCK))
    assert sink.members == [("big", b"y" * 700)]


def test_a_malformed_pax_header_is_refused():
    record = b"99 size=1\n"
    with pytest.raises(TarFormatError, match="malformed pax header"):
        follow(header(b"x", len(record)) + record.ljust(BLOCK, b"\0") + header(b"0", 0))


def test_members_after_the_end_marker_are_followed():
    _, sink = follow(archive({"a": b"1"}) + archive({"b": b"2"}))
    assert sink.members == [("a", b"1"), ("b", b"2")]


def test_data_that_is_not_a_tar_is_left_alone():
    parser, sink = follow(bytes(4096) + os.urandom(100_000))
    assert (parser.is_tar, sink.members) == (False, [])


def test_a_short_stream_is_not_a_tar():
    parser, _ = follow(b"hello")
    assert not parser.is_tar


def test_garbage_where_a_header_belongs_is_refused():
    with pytest.raises(TarFormatError, match="bad checksum"):
        follow(archive({"a": b"1"})[:1024] + b"\xff" * BLOCK)


def test_a_sparse_member_is_refused():
    with pytest.raises(TarFormatError, match="sparse"):
        follow(header(b"S", 0) + bytes(2 * BLOCK))


def test_a_pax_sparse_member_is_refused():
    record = b"22 GNU.sparse.major=1\n"
    with pytest.raises(TarFormatError, match="sparse"):
        follow(header(b"x", len(record)) + record.ljust(BLOCK, b"\0") + header(b"0", 0))


def test_a_link_with_content_is_refused():
    with pytest.raises(TarFormatError, match="has content"):
        follow(header(b"2", 10) + b"x".ljust(BLOCK, b"\0"))


def test_a_file_named_like_a_directory_with_content_is_refused():
    with pytest.raises(TarFormatError, match="has content"):
        follow(header(b"\0", 10, b"dir/") + b"x".ljust(BLOCK, b"\0"))


def test_a_truncated_member_is_ended_at_close():
    data = archive({"a": b"z" * 5000})[:BLOCK + 3000]
    _, sink = follow(data)
    assert (sink.members, sink.open) == ([("a", b"z" * 3000)], False)


def test_an_archive_cut_inside_a_header_is_refused():
    data = archive({"a": b"1", "b": b"2"})
    with pytest.raises(TarFormatError, match="inside a header"):
        follow(data[:2 * BLOCK + 100])
