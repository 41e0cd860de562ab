"""Small, valid disk images built in code, for the format tests (unit and functional).

Only the structures the format inspector reads are real (qcow2 header, VMDK sparse
header and descriptor); the rest is padding. qemu-img is not needed to build them.
"""

from __future__ import annotations

import struct

from oslo_utils.imageutils import format_inspector

QCOW2_MAGIC = b"QFI\xfb"
GIB = 1024 ** 3


def qcow2_image(virtual_size: int = GIB, *, backing_file: str | None = None,
                data_file: bool = False, length: int = 256 * 1024) -> bytes:
    """A qcow2 v3 image header (clusters of 64 KiB) padded to ``length`` bytes."""
    backing = backing_file.encode() if backing_file else b""
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        QCOW2_MAGIC, 3,
        512 if backing else 0, len(backing),  # backing file offset and size
        16, virtual_size,                      # cluster bits, virtual size
        0, 1, 0x30000,                         # crypt method, L1 size, L1 offset
        0x10000, 1,                            # refcount table offset, clusters
        0, 0,                                  # snapshots
        4 if data_file else 0, 0, 0,           # incompatible (bit 2: external data
                                               # file), compatible, autoclear features
        4, 104,                                # refcount order, header length
    )
    body = bytearray(header.ljust(length, b"\0"))
    if backing:
        body[512:512 + len(backing)] = backing
    return bytes(body)


def vmdk_image(create_type: str = "monolithicSparse", capacity_sectors: int = 2048,
               length: int = 128 * 1024, extent: str | None = None) -> bytes:
    """A hosted sparse VMDK: KDMV header, then an embedded text descriptor."""
    extent = extent or f'RW {capacity_sectors} SPARSE "disk.vmdk"'
    descriptor = _descriptor(create_type, extent) + (
        b"\n"
        b"# The Disk Data Base\n"
        b"#DDB\n"
        b'ddb.virtualHWVersion = "4"\n'
    )
    header = struct.pack("<4sIIQQQQIQQ", b"KDMV", 1, 3, capacity_sectors, 128,
                         1, 2, 512, 0, 21)
    body = bytearray(header.ljust(512, b"\0") + descriptor.ljust(1024, b"\0"))
    return bytes(body.ljust(length, b"\0"))


def vmdk_descriptor(path: str = "/etc/passwd", create_type: str = "monolithicFlat") -> bytes:
    """A text VMDK descriptor (no data of its own) whose extent is the file at ``path``."""
    return _descriptor(create_type, f'RW 2048 FLAT "{path}" 0')


def _descriptor(create_type: str, extent: str) -> bytes:
    return (
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=fffffffe\n"
        "parentCID=ffffffff\n"
        f'createType="{create_type}"\n'
        "\n"
        "# Extent description\n"
        f"{extent}\n"
    ).encode()


def test_the_qcow2_sample_is_recognised():
    inspector = format_inspector.QcowInspector()
    inspector.eat_chunk(qcow2_image(123 * 1024 * 1024))
    assert inspector.format_match
    assert inspector.virtual_size == 123 * 1024 * 1024
    inspector.safety_check()


def test_the_vmdk_sample_is_recognised():
    inspector = format_inspector.VMDKInspector()
    inspector.eat_chunk(vmdk_image())
    assert inspector.format_match
    assert inspector.virtual_size == 2048 * 512
    inspector.safety_check()
