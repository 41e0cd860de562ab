"""Limits on what one image or one project may hold (spec §4.3); exceeding any is 413.

The service checks them before it writes, to refuse early; the repository checks them
again inside the write's transaction (``Limits``), because a check before the write lets
parallel writers all pass it and together overshoot.
"""

from __future__ import annotations

import dataclasses
import re

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import RESERVED_PREFIX, Image

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


@dataclasses.dataclass(frozen=True)
class Limits:
    """The quotas one repository write must respect, taken from glance-api's config.

    They travel with the write (also to glance-registry, whose own config has no say),
    and the repository checks the counts as they are after the write, in the same
    transaction and under the image's (or the owner's) row lock, then rolls back with
    413 if over. Negative counts mean unlimited; ``storage`` 0 means unlimited.
    """

    properties: int = -1
    tags: int = -1
    locations: int = -1
    members: int = -1
    storage: int = 0

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Limits:
        return cls(properties=conf.image_property_quota, tags=conf.image_tag_quota,
                   locations=conf.image_location_quota, members=conf.image_member_quota,
                   storage=storage_quota_bytes(conf.user_storage_quota))

    def check_image(self, image: Image, *, properties: bool = False, tags: bool = False,
                    locations: bool = False) -> None:
        """413 if ``image`` holds more properties, tags or locations than allowed.

        Only what the write added is checked: removing properties from an image that is
        over a since-lowered quota stays possible (as in Glance).
        """
        if properties:
            count = counted_properties(image.properties)
            if over_quota(count, self.properties):
                raise quota_exceeded("properties", count, self.properties)
        if tags and over_quota(len(image.tags), self.tags):
            raise quota_exceeded("tags", len(image.tags), self.tags)
        if locations and over_quota(len(image.active_locations), self.locations):
            raise quota_exceeded("locations", len(image.active_locations), self.locations)


def counted_properties(properties: dict[str, str]) -> int:
    """Custom properties that count against image_property_quota (not os_glance_*)."""
    return sum(1 for key in properties if not key.startswith(RESERVED_PREFIX))


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


def members_exceeded(image_id: str, attempted: int, maximum: int) -> errors.LimitExceeded:
    return errors.LimitExceeded(
        f"Image member limit exceeded for image {image_id}: The limit has been "
        "exceeded on the number of allowed image members for this image. "
        f"Attempted: {attempted}, Maximum: {maximum}")


def storage_exceeded(size: int, remaining: int) -> errors.LimitExceeded:
    """Glance's 413 when an upload's data would take its project over the quota."""
    return errors.LimitExceeded(
        f"Image exceeds the storage quota: The size of the data {size} will exceed the "
        f"limit. {max(remaining, 0)} bytes remaining.")
