"""The import plugins on a staged file (spec part 2, §6): conversion, injection, unpacking.

qemu-img is the real one: the conversion plugin is only as good as what it asks qemu.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.domain import import_plugins
from glance_svc.domain.image import Image
from glance_svc.domain.import_plugins import (
    image_conversion,
    image_decompression,
    inject_image_metadata,
)
from glance_svc.domain.import_plugins.staged import StagedImport

MIB = 1024 * 1024


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    conf([])
    return conf


def staged(tmp_path: Path, data: bytes, *, roles: list[str] | None = None,
           max_size: int = 100 * MIB) -> StagedImport:
    path = tmp_path / "image-id"
    path.write_bytes(data)
    return StagedImport(str(path), roles or ["member"], max_size)


def qemu_image(tmp_path: Path, fmt: str, size: str = "10M", *extra: str) -> bytes:
    path = tmp_path / f"made.{fmt}"
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *extra, str(path), size],
                   check=True)
    data = path.read_bytes()
    path.unlink()
    return data


def image(**fields: object) -> Image:
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    return Image(**fields)  # type: ignore[arg-type]


# -- the framework -----------------------------------------------------------------------------
def test_plugins_run_in_the_configured_order(conf):
    conf.set_override("image_import_plugins", ["image_decompression", "no_op",
                                               "image_conversion"], "image_import_opts")
    names = [p.name for p in import_plugins.configured(conf)]
    assert names == ["image_decompression", "no_op", "image_conversion"]


def test_an_unknown_plugin_is_skipped(conf):
    conf.set_override("image_import_plugins", ["no_such_plugin", "inject_image_metadata"],
                      "image_import_opts")
    names = [p.name for p in import_plugins.configured(conf)]
    assert names == ["inject_image_metadata"]


def test_no_plugins_by_default(conf):
    assert import_plugins.configured(conf) == []


# -- image_conversion ---------------------------------------------------------------------
def test_qcow2_is_converted_to_raw(conf, tmp_path):
    target = staged(tmp_path, qemu_image(tmp_path, "qcow2"))
    converted = image(disk_format="qcow2", container_format="ovf")
    image_conversion.ImageConversion(conf).apply(converted, target)
    assert (converted.disk_format, converted.container_format) == ("raw", "bare")
    assert converted.size == 10 * MIB == os.path.getsize(target.path)
    assert converted.virtual_size == 10 * MIB
    assert os.listdir(tmp_path) == ["image-id"]


def test_raw_is_converted_to_the_configured_qcow2(conf, tmp_path):
    conf.set_override("output_format", "qcow2", "image_conversion")
    target = staged(tmp_path, b"\0" * MIB)
    converted = image()
    image_conversion.ImageConversion(conf).apply(converted, target)
    assert converted.disk_format == "qcow2"
    assert Path(target.path).read_bytes()[:4] == b"QFI\xfb"
    assert converted.size == os.path.getsize(target.path)


def test_data_already_in_the_output_format_is_kept(conf, tmp_path):
    target = staged(tmp_path, b"\1" * 42000)
    kept = image(container_format="ovf")
    image_conversion.ImageConversion(conf).apply(kept, target)
    assert (kept.disk_format, kept.container_format) == ("raw", "ovf")
    assert kept.virtual_size == 42496  # qemu rounds raw up to whole sectors
    assert Path(target.path).read_bytes() == b"\1" * 42000


def test_raw_data_declared_qcow2_fails(conf, tmp_path):
    target = staged(tmp_path, os.urandom(10_000))
    with pytest.raises(errors.UnsupportedMediaType, match="does not match the data"):
        image_conversion.ImageConversion(conf).apply(image(disk_format="qcow2"), target)


def test_qcow2_with_a_backing_file_fails(conf, tmp_path):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\0" * MIB)
    data = qemu_image(tmp_path, "qcow2", "1M", "-b", str(base), "-F", "raw")
    target = staged(tmp_path, data)
    with pytest.raises(errors.UnsupportedMediaType, match="safety checks"):
        image_conversion.ImageConversion(conf).apply(image(disk_format="qcow2"), target)


def test_a_raw_result_bigger_than_allowed_fails_before_converting(conf, tmp_path):
    target = staged(tmp_path, qemu_image(tmp_path, "qcow2", "1G"), max_size=100 * MIB)
    with pytest.raises(errors.LimitExceeded):
        image_conversion.ImageConversion(conf).apply(image(disk_format="qcow2"), target)
    assert os.listdir(tmp_path) == ["image-id"]


def test_an_iso_declared_iso_is_not_converted(conf, tmp_path):
    data = bytearray(64 * 1024)
    data[0x8001:0x8006] = b"CD001"
    target = staged(tmp_path, bytes(data))
    iso = image(disk_format="iso")
    image_conversion.ImageConversion(conf).apply(iso, target)
    assert iso.disk_format == "iso"
    assert Path(target.path).read_bytes() == bytes(data)


# -- inject_image_metadata ------------------------------------------------------------------
def inject(conf: cfg.ConfigOpts, values: dict[str, str]
           ) -> inject_image_metadata.InjectImageMetadata:
    conf.set_override("inject", values, "inject_metadata_properties")
    return inject_image_metadata.InjectImageMetadata(conf)


def test_properties_are_injected_for_a_member(conf, tmp_path):
    target = image(properties={"injected_key": "mine", "other": "kept"})
    inject(conf, {"injected_key": "v1"}).apply(target, staged(tmp_path, b"x"))
    assert target.properties == {"injected_key": "v1", "other": "kept"}


def test_nothing_is_injected_for_an_admin(conf, tmp_path):
    target = image()
    inject(conf, {"injected_key": "v1"}).apply(target, staged(tmp_path, b"x",
                                                              roles=["admin", "member"]))
    assert target.properties == {}


def test_reserved_properties_are_never_injected(conf, tmp_path):
    target = image()
    inject(conf, {"os_glance_import_task": "x", "ok": "y"}).apply(target,
                                                                 staged(tmp_path, b"x"))
    assert target.properties == {"ok": "y"}


# -- image_decompression ----------------------------------------------------------------------
def unpack(conf: cfg.ConfigOpts, target: StagedImport, **fields: object) -> Image:
    unpacked = image(**fields)
    image_decompression.ImageDecompression(conf).apply(unpacked, target)
    return unpacked


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_gzip_data_is_decompressed(conf, tmp_path):
    data = os.urandom(42000)
    target = staged(tmp_path, gzip.compress(data))
    assert unpack(conf, target).size == 42000
    assert Path(target.path).read_bytes() == data
    assert os.listdir(tmp_path) == ["image-id"]


def test_a_zip_with_one_member_is_unpacked(conf, tmp_path):
    data = os.urandom(5000)
    target = staged(tmp_path, zipped(("disk.raw", data)))
    assert unpack(conf, target).size == 5000
    assert Path(target.path).read_bytes() == data


def test_a_zip_with_two_members_fails_and_keeps_the_staged_data(conf, tmp_path):
    archive = zipped(("a", b"1"), ("b", b"2"))
    target = staged(tmp_path, archive)
    with pytest.raises(errors.UnsupportedMediaType, match="exactly one file"):
        unpack(conf, target)
    assert Path(target.path).read_bytes() == archive


def test_corrupt_gzip_data_fails_clearly(conf, tmp_path):
    packed = bytearray(gzip.compress(b"abc" * 5000))
    packed[10:30] = b"\xff" * 20  # an invalid deflate block right after the header
    target = staged(tmp_path, bytes(packed))
    with pytest.raises(errors.UnsupportedMediaType, match="Unable to decompress gzip"):
        unpack(conf, target)
    assert os.listdir(tmp_path) == ["image-id"]


def test_a_compression_bomb_stops_at_the_allowed_size(conf, tmp_path):
    target = staged(tmp_path, gzip.compress(b"\0" * (20 * MIB)), max_size=5 * MIB)
    with pytest.raises(errors.LimitExceeded):
        unpack(conf, target)
    assert os.listdir(tmp_path) == ["image-id"]


def test_data_declared_compressed_is_kept(conf, tmp_path):
    packed = gzip.compress(b"x" * 1000)
    target = staged(tmp_path, packed)
    unpack(conf, target, container_format="compressed")
    assert Path(target.path).read_bytes() == packed


def test_uncompressed_data_is_left_alone(conf, tmp_path):
    target = staged(tmp_path, b"plain data")
    assert unpack(conf, target, size=10).size == 10
    assert Path(target.path).read_bytes() == b"plain data"


def test_lha_data_without_lhafile_fails_clearly(conf, tmp_path):
    target = staged(tmp_path, b"\x20\x00-lh5-" + b"\0" * 100)
    with pytest.raises(errors.UnsupportedMediaType, match="lhafile"):
        unpack(conf, target)
