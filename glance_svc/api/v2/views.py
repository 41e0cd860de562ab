"""The JSON shapes of images and members, exactly as Glance serializes them (spec §4.1).

Links are host-less ``/v2/...`` paths whatever prefix the API is mounted under; clients
join them to their endpoint. Timestamps are UTC to the second with a literal ``Z``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NamedTuple

from oslo_config import cfg

from glance_svc.domain.image import HIDDEN_PROPERTIES, Image, Member

IMAGE_SCHEMA = "/v2/schemas/image"
IMAGES_SCHEMA = "/v2/schemas/images"
MEMBER_SCHEMA = "/v2/schemas/member"
MEMBERS_SCHEMA = "/v2/schemas/members"


def isotime(value: dt.datetime | None) -> str | None:
    """``2026-11-22T00:18:53Z``; aware values are converted to UTC first."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def image_href(image_id: str, sub: str = "") -> str:
    return f"/v2/images/{image_id}/{sub}" if sub else f"/v2/images/{image_id}"


def _option(conf: cfg.ConfigOpts, name: str, default: Any = None) -> Any:
    """An option that another part of the service registers (absent in small test setups)."""
    return conf[name] if name in conf else default  # noqa: SIM401 (get raises)


class ViewOptions(NamedTuple):
    """The options that shape an image body, read once per response, not once per image."""

    show_locations: bool
    show_direct_url: bool
    multi_store: bool

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> ViewOptions:
        return cls(bool(_option(conf, "show_multiple_locations", False)),
                   bool(_option(conf, "show_image_direct_url", False)),
                   bool(_option(conf, "enabled_backends")))


def image_view(image: Image, conf: cfg.ConfigOpts, *, locations_shown: bool,
               options: ViewOptions | None = None,
               readable: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """The body of one image: custom properties, base fields, and the optional
    ``locations`` / ``direct_url`` / ``stores`` that the config turns on.

    Without ``locations_shown`` (the domain's ``ImageService.locations_shown``) the
    image's data stays where it is unsaid: ``locations`` is an empty list, and neither
    ``direct_url`` nor ``stores`` appear, as in Glance. ``readable`` hides the custom
    properties that property protections keep from this request.
    """
    if options is None:
        options = ViewOptions.from_conf(conf)
    view: dict[str, Any] = {k: v for k, v in image.properties.items()
                            if k not in HIDDEN_PROPERTIES and (readable is None or readable(k))}
    view.update({
        "name": image.name,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "visibility": image.visibility,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "status": image.status,
        "checksum": image.checksum,
        "protected": image.protected,
        "min_ram": image.min_ram,
        "min_disk": image.min_disk,
        "owner": image.owner,
        "os_hidden": image.os_hidden,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "id": image.id,
        "created_at": isotime(image.created_at),
        "updated_at": isotime(image.updated_at),
    })
    locations = image.active_locations if locations_shown else []
    if options.show_locations:
        view["locations"] = [{"url": loc.url, "metadata": dict(loc.metadata)}
                             for loc in locations]
    if options.show_direct_url and locations:
        view["direct_url"] = locations[0].url
    view["tags"] = sorted(image.tags)
    view["self"] = image_href(image.id)
    view["file"] = image_href(image.id, "file")
    view["schema"] = IMAGE_SCHEMA
    if options.multi_store:
        stores = [loc.metadata["store"] for loc in locations if loc.metadata.get("store")]
        if stores:
            view["stores"] = ",".join(stores)
    return view


def images_view(images: list[Image], conf: cfg.ConfigOpts, locations_shown: list[bool],
                readable: Callable[[str], bool] | None = None) -> list[dict[str, Any]]:
    options = ViewOptions.from_conf(conf)
    return [image_view(image, conf, locations_shown=shown, options=options, readable=readable)
            for image, shown in zip(images, locations_shown, strict=True)]


def member_view(member: Member) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "image_id": member.image_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": MEMBER_SCHEMA,
    }


def members_view(members: list[Member]) -> dict[str, Any]:
    return {"members": [member_view(m) for m in members], "schema": MEMBERS_SCHEMA}
