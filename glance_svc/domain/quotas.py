"""Limits on what one image or one project may hold (spec §4.3); exceeding any is 413."""

from __future__ import annotations

import re

from oslo_config import cfg

from glance_svc import errors

quota_opts = [
    cfg.IntOpt("image_member_quota", default=128,
               help="Most members an image may have; negative: unlimited."),
    cfg.IntOpt("image_property_quota", default=128,
               help="Most custom properties an image may have; negative: unlimited."),
    cfg.IntOpt("image_tag_quota", default=128,
               help="Most tags an image may have; negative: unlimited."),
    cfg.IntOpt("image_location_quota", default=10,
               help="Most locations an image may have; negative: unlimited."),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=1, max=9223372036854775808,
               help="Largest image, in bytes, that may be uploaded or staged."),
    cfg.StrOpt("user_storage_quota", default="0",
               help="Bytes all images of one project may use, with an optional "
                    "B/KB/MB/GB/TB suffix; 0 means unlimited."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, quota_opts)]


_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def storage_quota_bytes(value: str) -> int:
    """Parse ``user_storage_quota`` ("10GB", "500", "0") into bytes; 0 is unlimited."""
    match = re.fullmatch(r"(\d+)\s*(B|KB|MB|GB|TB)?", str(value).strip().upper())
    if not match:
        raise ValueError(f"user_storage_quota {value!r} is not a size such as 500 or 10GB")
    return int(match[1]) * _UNITS[match[2] or "B"]


def over_quota(count: int, maximum: int) -> bool:
    """Whether ``count`` exceeds a count quota; a negative quota is off."""
    return 0 <= maximum < count


def quota_exceeded(what: str, attempted: int, maximum: int) -> errors.LimitExceeded:
    """Glance's 413 for a count quota on an image's ``what`` (tags, properties, locations)."""
    return errors.LimitExceeded(
        f"The limit has been exceeded on the number of allowed image {what}. "
        f"Attempted: {attempted}, Maximum: {maximum}")


def check_location_quota(conf: cfg.ConfigOpts, count: int) -> None:
    """413 when an image would hold ``count`` locations, more than image_location_quota."""
    if over_quota(count, conf.image_location_quota):
        raise quota_exceeded("locations", count, conf.image_location_quota)
