"""The cache directory: a file becomes a cached image only whole and verified."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from glance_svc.cache.files import CacheDir, ChecksumMismatch

DATA = b"cached bytes"
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> CacheDir:
    return CacheDir(str(tmp_path / "cache"))


@pytest.fixture
def image_id() -> str:
    return str(uuid.uuid4())


def test_a_verified_write_becomes_the_cached_image(cache: CacheDir, image_id: str) -> None:
    writer = cache.start(image_id)
    assert writer is not None
    writer.write(DATA)
    assert cache.open(image_id) is None  # not before the commit
    writer.commit(MD5)
    body = cache.open(image_id)
    assert body is not None
    assert (body.length, body.file.read()) == (len(DATA), DATA)
    body.close()


def test_a_write_that_does_not_match_the_checksum_goes_to_invalid(cache: CacheDir,
                                                                  image_id: str) -> None:
    writer = cache.start(image_id)
    assert writer is not None
    writer.write(DATA)
    with pytest.raises(ChecksumMismatch):
        writer.commit("0" * 32)
    assert not cache.is_cached(image_id)
    assert (cache.root / "invalid" / image_id).read_bytes() == DATA


def test_an_aborted_write_goes_to_invalid(cache: CacheDir, image_id: str) -> None:
    writer = cache.start(image_id)
    assert writer is not None
    writer.write(DATA[:3])
    writer.abort()
    assert (cache.is_cached(image_id), (cache.root / "invalid" / image_id).exists()) == (
        False, True)


def test_only_one_writer_at_a_time_and_none_once_cached(cache: CacheDir,
                                                        image_id: str) -> None:
    writer = cache.start(image_id)
    assert writer is not None
    assert cache.start(image_id) is None
    writer.write(DATA)
    writer.commit(MD5)
    assert cache.start(image_id) is None


def test_committing_removes_the_queue_marker(cache: CacheDir, image_id: str) -> None:
    cache.queue(image_id)
    writer = cache.start(image_id)
    assert writer is not None
    writer.commit(None)
    assert cache.queued() == []


def test_the_queue_is_in_marker_order(cache: CacheDir) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    cache.queue(second)
    cache.queue(first)
    os.utime(cache.root / "queue" / second, (1, 1))
    assert cache.queued() == [second, first]


def test_cached_ids_ignore_lock_files(cache: CacheDir, image_id: str) -> None:
    writer = cache.start(image_id)
    assert writer is not None
    writer.commit(None)
    with cache.lock("glance-cache-prune"):
        assert cache.cached_ids() == [image_id]
