"""The ``inject_image_metadata`` import plugin: stamp operator properties on imports.

Clouds use it to mark every image users import (a support tier, a licence flag) without
trusting users to set it. Callers holding one of ``ignore_user_roles`` (admins, by
default) are trusted to set their own properties, so nothing is injected for them. Keys
in Glance's reserved ``os_glance`` namespace are never injected. Injected values win over
the image's own and stay even if a later import step fails (spec part 2, §6.3).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from oslo_config import cfg

from glance_svc.domain.import_plugins.staged import StagedImport

if TYPE_CHECKING:
    from glance_svc.domain.image import Image

LOG = logging.getLogger(__name__)

RESERVED_PREFIX = "os_glance"

inject_opts = [
    cfg.ListOpt("ignore_user_roles", default=["admin"],
                help="Callers with any of these roles get no injected properties."),
    cfg.DictOpt("inject", default={},
                help="Properties set on every imported image, as key:value,key2:value2."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("inject_metadata_properties", inject_opts)]


class InjectImageMetadata:
    """Merge ``[inject_metadata_properties] inject`` into the image's properties."""

    name = "inject_image_metadata"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf.inject_metadata_properties

    def apply(self, image: Image, staged: StagedImport) -> None:
        ignored = {role.strip().lower() for role in self.conf.ignore_user_roles}
        if ignored.intersection(staged.caller_roles):
            LOG.debug("Image %s: the caller's roles exempt it from injection", image.id)
            return
        for key, value in (self.conf.inject or {}).items():
            if key.startswith(RESERVED_PREFIX):
                LOG.warning("Not injecting reserved property %s", key)
                continue
            image.properties[key] = value
