"""FormatInspection: Glance 33's verdict on uploaded data (spec §3.6)."""

from __future__ import annotations

import os

import pytest
from oslo_config import cfg

from glance_svc import errors
from glance_svc.store import format_check
from tests.unit.test_format_samples import qcow2_image, vmdk_image


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_opts(format_check.image_format_opts, group="image_format")
    conf([])
    return conf


def inspect(conf: cfg.ConfigOpts, data: bytes, disk_format: str,
            container_format: str = "bare", chunk: int = 4096) -> int | None:
    inspection = format_check.FormatInspection(conf, disk_format, container_format)
    for start in range(0, len(data), chunk):
        inspection.feed(data[start:start + chunk])
    return inspection.verdict()


def test_qcow2_gives_its_virtual_size(conf):
    assert inspect(conf, qcow2_image(5 * 1024 ** 3), "qcow2") == 5 * 1024 ** 3


def test_raw_virtual_size_is_the_byte_count(conf):
    assert inspect(conf, os.urandom(100_000), "raw") == 100_000


def test_raw_accepts_a_safe_qcow2_and_counts_bytes(conf):
    assert inspect(conf, qcow2_image(length=65536), "raw") == 65536


def test_raw_refuses_a_qcow2_with_a_backing_file(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        inspect(conf, qcow2_image(backing_file="/etc/passwd"), "raw")


def test_qcow2_with_a_backing_file_is_refused(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks: backing_file"):
        inspect(conf, qcow2_image(backing_file="base.qcow2"), "qcow2")


def test_qcow2_with_an_external_data_file_is_refused(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="data_file"):
        inspect(conf, qcow2_image(data_file=True), "qcow2")


def test_mismatch_is_refused_as_soon_as_the_header_is_read(conf):
    inspection = format_check.FormatInspection(conf, "qcow2", "bare")
    with pytest.raises(errors.UnsupportedMediaType, match="does not match"):
        inspection.feed(os.urandom(4096))


def test_detected_format_other_than_declared_is_refused_at_the_end(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="does not match"):
        inspect(conf, qcow2_image(), "vhd")


def test_mismatch_is_tolerated_when_not_required(conf):
    conf.set_override("require_image_format_match", False, group="image_format")
    assert inspect(conf, os.urandom(4096), "qcow2") is None


def test_non_inspectable_disk_format_accepts_raw_data(conf):
    assert inspect(conf, os.urandom(4096), "ami") is None


def test_non_bare_containers_are_not_inspected(conf):
    assert inspect(conf, qcow2_image(backing_file="x"), "qcow2", "ovf") is None


def test_empty_data_is_accepted_whatever_the_format(conf):
    assert inspect(conf, b"", "qcow2") is None


def test_vmdk_of_an_allowed_type(conf):
    assert inspect(conf, vmdk_image("monolithicSparse"), "vmdk") == 2048 * 512


def test_vmdk_type_outside_vmdk_allowed_types_is_refused(conf):
    conf.set_override("vmdk_allowed_types", ["streamOptimized"], group="image_format")
    with pytest.raises(errors.UnsupportedMediaType, match="vmdk_allowed_types"):
        inspect(conf, vmdk_image("monolithicSparse"), "vmdk")


def test_vmdk_of_an_unsafe_type_is_refused(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks"):
        inspect(conf, vmdk_image("monolithicFlat"), "vmdk")


def test_vmdk_declared_raw_is_still_checked(conf):
    with pytest.raises(errors.UnsupportedMediaType):
        inspect(conf, vmdk_image("vmfs"), "raw")
