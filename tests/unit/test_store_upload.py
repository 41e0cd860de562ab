"""UploadStream: exact sizes, limits that stop the stream early, and interrupted bodies."""

from __future__ import annotations

import hashlib
import io

import pytest

from glance_svc import errors
from glance_svc.store.upload import (
    Limit,
    UploadInterrupted,
    UploadStream,
    quota_limit,
    size_cap_limit,
)


class CountingSource:
    """A body that records how much was asked for and read."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0
        self.fail_after = fail_after

    def read(self, size: int) -> bytes:
        if self.fail_after is not None and self.read_bytes >= self.fail_after:
            raise ConnectionResetError("peer closed")
        chunk = self._data.read(size)
        self.read_bytes += len(chunk)
        return chunk


def drain(stream: UploadStream) -> bytes:
    out = bytearray()
    while chunk := stream.read(7000):
        out += chunk
    return bytes(out)


def test_hashes_and_size_of_the_whole_stream():
    data = b"0123456789" * 300_000
    stream = UploadStream(CountingSource(data), hash_algo="sha512", chunk_size=65536)
    assert drain(stream) == data
    result = stream.finish()
    assert result.size == len(data)
    assert result.checksum == hashlib.md5(data).hexdigest()
    assert result.os_hash_algo == "sha512"
    assert result.os_hash_value == hashlib.sha512(data).hexdigest()


def test_no_hashing_when_not_asked():
    stream = UploadStream(CountingSource(b"abc"))
    drain(stream)
    result = stream.finish()
    assert (result.checksum, result.os_hash_value, result.size) == (None, None, 3)


def test_announced_size_must_match_exactly_fewer():
    stream = UploadStream(CountingSource(b"x" * 10), expected_size=11)
    with pytest.raises(errors.BadRequest, match="Size mismatch"):
        drain(stream)


def test_announced_size_must_match_exactly_more_and_reading_stops_one_byte_past():
    source = CountingSource(b"x" * 5_000_000)
    stream = UploadStream(source, expected_size=100)
    with pytest.raises(errors.BadRequest, match="Size exceeds"):
        drain(stream)
    assert source.read_bytes == 101


def test_size_cap_stops_the_stream_early_with_413():
    source = CountingSource(b"x" * 10_000_000)
    stream = UploadStream(source, limits=[size_cap_limit(1000)])
    with pytest.raises(errors.LimitExceeded, match="too large"):
        drain(stream)
    assert source.read_bytes == 1001


def test_the_smallest_limit_wins():
    stream = UploadStream(CountingSource(b"x" * 50),
                          limits=[size_cap_limit(1000), quota_limit(20, 100)])
    with pytest.raises(errors.LimitExceeded, match="storage quota"):
        drain(stream)


def test_data_exactly_at_the_limit_passes():
    stream = UploadStream(CountingSource(b"x" * 1000), limits=[Limit(1000, "too big")])
    assert len(drain(stream)) == 1000


def test_body_shorter_than_content_length_means_the_client_went_away():
    stream = UploadStream(CountingSource(b"x" * 10), body_length=20)
    with pytest.raises(UploadInterrupted):
        drain(stream)


def test_reads_never_go_past_content_length():
    source = CountingSource(b"x" * 100)
    stream = UploadStream(source, body_length=40)
    assert len(drain(stream)) == 40
    assert source.read_bytes == 40


def test_a_socket_error_becomes_an_interrupted_upload():
    stream = UploadStream(CountingSource(b"x" * 100_000, fail_after=7000), chunk_size=10)
    with pytest.raises(UploadInterrupted, match="stopped arriving after 7000 bytes"):
        drain(stream)


def test_watch_can_abort_a_long_transfer(monkeypatch):
    monkeypatch.setattr("glance_svc.store.upload.WATCH_INTERVAL", 0.0)

    def watch() -> None:
        raise errors.Gone("deleted")

    stream = UploadStream(CountingSource(b"x" * 100), watch=watch, chunk_size=10)
    with pytest.raises(errors.Gone):
        drain(stream)


def test_iteration_yields_whole_chunks():
    stream = UploadStream(CountingSource(b"y" * 25), chunk_size=10)
    assert [len(c) for c in stream] == [10, 10, 5]
