"""Disk format inspection with oslo.utils' format inspector (spec §3.6).

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

DISK_FORMATS = ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop"]
CONTAINER_FORMATS = ["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"]

image_format_opts = [
    cfg.ListOpt("disk_formats", default=DISK_FORMATS,
                help="Disk formats an image may declare."),
    cfg.ListOpt("container_formats", default=CONTAINER_FORMATS,
                help="Container formats an image may declare."),
    cfg.ListOpt("vmdk_allowed_types", default=["streamOptimized", "monolithicSparse"],
                help="VMDK create-types accepted; others are refused as unsafe."),
    cfg.BoolOpt("require_image_format_match", default=True,
                help="Refuse (415) uploads whose detected format differs from disk_format."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("image_format", image_format_opts)]
