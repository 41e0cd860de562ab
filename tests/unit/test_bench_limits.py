"""The upload limit bench/run.py compares the upload rows with."""

from __future__ import annotations

from bench import limits


def test_the_file_store_writer_does_not_fsync_so_the_disk_sync_speed_is_no_limit(tmp_path):
    assert limits.file_store_fsyncs(tmp_path) is False


def test_a_store_that_does_not_fsync_is_limited_by_the_hashes_alone():
    assert limits.upload_limit(700.0, 300.0, fsyncs=False) == limits.UploadLimit(
        700.0, "md5 || sha512; the file store does not fsync")


def test_a_store_that_fsyncs_is_limited_by_the_slower_of_hashes_and_disk():
    assert limits.upload_limit(700.0, 300.0, fsyncs=True) == limits.UploadLimit(
        300.0, "fsync write; the file store syncs")
    assert limits.upload_limit(700.0, 900.0, fsyncs=True) == limits.UploadLimit(
        700.0, "md5 || sha512; the file store syncs, faster")
