"""MultiHasher: the same digests as hashlib, whether chunks are hashed inline or on threads."""

from __future__ import annotations

import hashlib
import os

from glance_svc.store.hashing import INLINE_BELOW, MultiHasher


def expected(data: bytes) -> dict[str, str]:
    return {"md5": hashlib.md5(data).hexdigest(), "sha512": hashlib.sha512(data).hexdigest()}


def test_small_chunks_are_hashed_inline_and_match_hashlib():
    hasher = MultiHasher(["md5", "sha512"])
    data = b"abc" * 10
    hasher.update(data)
    assert hasher._threads is None
    assert hasher.hexdigests() == expected(data)


def test_large_chunks_move_to_threads_and_keep_the_order():
    hasher = MultiHasher(["md5", "sha512"])
    parts = [b"head", os.urandom(INLINE_BELOW * 2), b"middle", os.urandom(3 * 1024 * 1024)]
    for part in parts:
        hasher.update(part)
    assert hasher._threads is not None
    assert hasher.hexdigests() == expected(b"".join(parts))


def test_empty_input_gives_the_empty_digests():
    assert MultiHasher(["md5"]).hexdigests() == {"md5": "d41d8cd98f00b204e9800998ecf8427e"}


def test_close_twice_is_harmless():
    hasher = MultiHasher(["md5", "sha256"])
    hasher.update(os.urandom(INLINE_BELOW))
    hasher.close()
    hasher.close()
