"""Writing image files: exclusive creation, no partial file after a failure, staging."""

from __future__ import annotations

import io
import os

import pytest

from glance_svc import errors
from glance_svc.store import filestore


class FailingStream:
    def __init__(self, good: int) -> None:
        self.left = good

    def read(self, size: int) -> bytes:
        if self.left <= 0:
            raise errors.LimitExceeded("too big")
        self.left -= 1
        return b"x" * 1000


def test_write_file_writes_everything(tmp_path):
    path = tmp_path / "img"
    assert filestore.write_file(str(path), io.BytesIO(b"a" * 3_000_000)) == 3_000_000
    assert path.read_bytes() == b"a" * 3_000_000


def test_write_file_never_overwrites(tmp_path):
    path = tmp_path / "img"
    path.write_bytes(b"old")
    with pytest.raises(errors.Conflict):
        filestore.write_file(str(path), io.BytesIO(b"new"))
    assert path.read_bytes() == b"old"


def test_a_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "img"
    with pytest.raises(errors.LimitExceeded):
        filestore.write_file(str(path), FailingStream(good=3))
    assert not path.exists()


def test_file_permissions_are_applied(tmp_path):
    path = tmp_path / "img"
    filestore.write_file(str(path), io.BytesIO(b"a"), perm=640)
    assert oct(os.stat(path).st_mode & 0o777) == "0o640"


def test_thin_provisioning_leaves_holes_but_keeps_the_size(tmp_path):
    path = tmp_path / "img"
    data = b"\0" * (4 * 1024 * 1024) + b"tail"
    filestore.write_file(str(path), io.BytesIO(data), thin=True)
    assert path.read_bytes() == data
    data_only = b"\0" * (2 * 1024 * 1024)
    filestore.write_file(str(tmp_path / "zeros"), io.BytesIO(data_only), thin=True)
    assert os.path.getsize(tmp_path / "zeros") == len(data_only)


def test_unwritable_directory_is_503(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(errors.ServiceUnavailable):
            filestore.write_file(str(tmp_path / "img"), io.BytesIO(b"a"))
    finally:
        tmp_path.chmod(0o700)


def test_staging_area_round_trip(tmp_path):
    staging = filestore.StagingArea(str(tmp_path / "staging"))
    assert staging.write("id-1", io.BytesIO(b"data")) == 4
    assert staging.exists("id-1")
    with staging.open("id-1") as handle:
        assert handle.read() == b"data"
    assert staging.delete("id-1") is True
    assert staging.delete("id-1") is False


def test_staging_twice_is_a_conflict(tmp_path):
    staging = filestore.StagingArea(str(tmp_path))
    staging.write("id-1", io.BytesIO(b"a"))
    with pytest.raises(errors.Conflict, match="has data on staging"):
        staging.write("id-1", io.BytesIO(b"b"))


def test_opening_missing_staged_data_is_404(tmp_path):
    with pytest.raises(errors.NotFound):
        filestore.StagingArea(str(tmp_path)).open("nope")
