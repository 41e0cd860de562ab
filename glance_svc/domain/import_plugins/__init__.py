"""Import plugins: what runs on staged data before an import writes it to the stores.

Glance lets the operator list plugins in ``[image_import_opts] image_import_plugins``;
they run in exactly that order, once the data of a glance-direct, web-download or
glance-download import is in the staging area and before the first store write
(spec part 2, §6.1). copy-image, ``PUT /file`` and locations never run them.

A plugin may replace the staged file (the stores then read the replacement) and change
the image record it is given; the import service saves that record after each plugin,
so the next plugin and the store upload see what the previous one did. A plugin that
raises fails the import like any other import error: the image goes back to ``queued``.

Unknown names are skipped with a warning, as Glance does, so a typo never stops the API
from starting; the template tests catch the typos we ship.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from oslo_config import cfg

from glance_svc.domain.import_plugins import (
    image_conversion,
    image_decompression,
    inject_image_metadata,
)
from glance_svc.domain.import_plugins.staged import StagedImport

if TYPE_CHECKING:
    from glance_svc.domain.image import Image

LOG = logging.getLogger(__name__)

plugin_opts = [
    cfg.ListOpt("image_import_plugins", default=[], bounds=True,
                help="Plugins run, in this order, on staged data before it is stored, "
                     "written in brackets: [image_decompression, image_conversion]."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("image_import_opts", plugin_opts),
            *image_conversion.list_opts(),
            *inject_image_metadata.list_opts()]


class ImportPlugin(Protocol):
    """One step of the pipeline; raise (any exception) to fail the import."""

    name: str

    def apply(self, image: Image, staged: StagedImport) -> None:
        """Change the staged data and/or ``image``; the caller saves ``image``."""


class NoOp:
    """Glance's example plugin: logs that it ran and changes nothing."""

    name = "no_op"

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        del conf

    def apply(self, image: Image, staged: StagedImport) -> None:
        LOG.info("Import plugin no_op ran for image %s", image.id)


_PLUGINS: dict[str, Callable[[cfg.ConfigOpts], ImportPlugin]] = {
    NoOp.name: NoOp,
    image_conversion.ImageConversion.name: image_conversion.ImageConversion,
    inject_image_metadata.InjectImageMetadata.name: inject_image_metadata.InjectImageMetadata,
    image_decompression.ImageDecompression.name: image_decompression.ImageDecompression,
}


def configured(conf: cfg.ConfigOpts) -> list[ImportPlugin]:
    """The plugins ``image_import_plugins`` names, in its order; unknown names skipped."""
    plugins: list[ImportPlugin] = []
    for name in conf.image_import_opts.image_import_plugins:
        plugin = _PLUGINS.get(name.strip())
        if plugin is None:
            LOG.warning("Unknown import plugin %r in [image_import_opts] "
                        "image_import_plugins: skipped", name)
            continue
        plugins.append(plugin(conf))
    return plugins
