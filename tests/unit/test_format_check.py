"""FormatInspection: Glance 33's verdict on uploaded data (spec §3.6)."""

from __future__ import annotations

import gzip
import io
import os
import tarfile

import pytest
from oslo_config import cfg

from glance_svc import errors
from glance_svc.store import format_check
from tests.unit.test_format_samples import GIB, qcow2_image, vmdk_descriptor, vmdk_image
from tests.unit.test_store_tar_stream import header


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


UNWRAPPING = ["bare", "ovf", "ami", "ari", "aki", "compressed"]
UNSAFE = {
    "qcow2-backing-file": qcow2_image(backing_file="/etc/passwd"),
    "qcow2-data-file": qcow2_image(data_file=True),
    "vmdk-descriptor": vmdk_descriptor("/etc/passwd"),
}


@pytest.mark.parametrize("container_format", UNWRAPPING)
def test_every_unwrapping_container_gets_the_safety_checks(conf, container_format):
    with pytest.raises(errors.UnsupportedMediaType,
                       match="Image failed safety checks: backing_file"):
        inspect(conf, qcow2_image(backing_file="/etc/passwd"), "qcow2", container_format)


@pytest.mark.parametrize("container_format", UNWRAPPING)
def test_every_unwrapping_container_refuses_unsafe_data_declared_raw(conf,
                                                                     container_format):
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks: data_file"):
        inspect(conf, qcow2_image(data_file=True), "raw", container_format)


def test_ovf_container_gets_the_format_match(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="does not match"):
        inspect(conf, os.urandom(4096), "qcow2", "ovf")


def test_ovf_container_gives_the_virtual_size(conf):
    assert inspect(conf, qcow2_image(GIB), "qcow2", "ovf") == GIB


def test_compressed_data_is_accepted_as_its_declared_disk_format(conf):
    data = gzip.compress(qcow2_image())
    assert inspect(conf, data, "qcow2", "compressed") is None


def test_a_tolerated_mismatch_still_gets_the_safety_checks(conf):
    conf.set_override("require_image_format_match", False, group="image_format")
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        inspect(conf, qcow2_image(backing_file="/etc/passwd"), "vhd")


def test_a_text_vmdk_descriptor_is_refused_even_in_small_pieces(conf):
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks"):
        inspect(conf, vmdk_descriptor("/etc/passwd"), "raw", chunk=3)


def test_a_text_vmdk_descriptor_of_an_allowed_type_is_refused(conf):
    data = vmdk_descriptor("disk-flat.vmdk", create_type="monolithicSparse")
    with pytest.raises(errors.UnsupportedMediaType, match="vmdk_extents"):
        inspect(conf, data, "vmdk")


def test_a_sparse_vmdk_naming_a_flat_extent_is_refused(conf):
    data = vmdk_image(extent='RW 2048 FLAT "passwd" 0')
    with pytest.raises(errors.UnsupportedMediaType, match="vmdk_extents"):
        inspect(conf, data, "vmdk")


def test_text_followed_by_binary_data_is_raw(conf):
    data = b"a" * 1000 + bytes(range(128, 256)) * 8
    assert inspect(conf, data, "raw") == len(data)


# -- tar containers --------------------------------------------------------------------------
def tar(members: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


OVF = b'<?xml version="1.0"?><Envelope><References/></Envelope>\n'


@pytest.mark.parametrize("container_format", ["ova", "docker"])
@pytest.mark.parametrize("unsafe", UNSAFE, ids=list(UNSAFE))
def test_a_tar_container_refuses_an_unsafe_member(conf, container_format, unsafe):
    data = tar({"disk.ovf": OVF, "disk1.img": UNSAFE[unsafe]})
    with pytest.raises(errors.UnsupportedMediaType, match="Image failed safety checks"):
        inspect(conf, data, "vmdk", container_format, chunk=1000)


def test_an_unsafe_member_stops_the_stream_when_it_ends(conf):
    data = tar({"a.qcow2": qcow2_image(backing_file="/etc/passwd"), "b": os.urandom(1 << 20)})
    inspection = format_check.FormatInspection(conf, "vmdk", "ova")
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        inspection.feed(data[:600 * 1024])


@pytest.mark.parametrize("disk", [qcow2_image(), vmdk_image(), os.urandom(70_000)],
                         ids=["qcow2", "vmdk", "raw"])
def test_an_ova_of_a_descriptor_and_a_safe_disk_is_accepted(conf, disk):
    assert inspect(conf, tar({"vm.ovf": OVF, "vm.mf": b"SHA1(x)= 0\n", "disk": disk}),
                   "vmdk", "ova") is None


def test_an_inspector_failure_on_a_member_is_a_refusal(conf, monkeypatch):
    def broken(inspector, conf):
        raise RuntimeError("inspector bug")

    monkeypatch.setattr(format_check, "check_safety", broken)
    with pytest.raises(errors.UnsupportedMediaType, match="Image format inspection failed"):
        inspect(conf, tar({"vm.ovf": OVF}), "vmdk", "ova")


def test_a_member_after_the_end_marker_is_inspected(conf):
    data = tar({"vm.ovf": OVF}) + tar({"late": qcow2_image(backing_file="/etc/passwd")})
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        inspect(conf, data, "vmdk", "ova")


def test_a_tar_header_that_is_also_a_qcow2_header_is_refused(conf):
    polyglot = header(b"0", 0, qcow2_image(backing_file="/etc/passwd")[:100]) + bytes(1024)
    with pytest.raises(errors.UnsupportedMediaType, match="backing_file"):
        inspect(conf, polyglot, "raw", "docker")


def test_garbage_where_a_tar_header_belongs_is_refused(conf):
    data = tar({"vm.ovf": OVF})[:1024] + b"\xff" * 512 + bytes(1024)
    with pytest.raises(errors.UnsupportedMediaType, match="not a valid ova archive"):
        inspect(conf, data, "vmdk", "ova")


@pytest.mark.parametrize("container_format", ["ova", "docker"])
def test_data_that_is_not_a_tar_is_accepted_when_safe(conf, container_format):
    assert inspect(conf, qcow2_image(), "qcow2", container_format) is None


@pytest.mark.parametrize("container_format", ["ova", "docker"])
@pytest.mark.parametrize("unsafe", UNSAFE, ids=list(UNSAFE))
def test_data_that_is_not_a_tar_still_gets_the_safety_checks(conf, container_format,
                                                             unsafe):
    with pytest.raises(errors.UnsupportedMediaType, match="Image failed safety checks"):
        inspect(conf, UNSAFE[unsafe], "raw", container_format)


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
