"""Interoperable import: staging (glance-direct), web-download and copy-image.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

import_opts = [
    cfg.ListOpt("enabled_import_methods",
                default=["glance-direct", "web-download", "copy-image"],
                help="Import methods offered by /v2/info/import; empty disables import."),
    cfg.StrOpt("node_staging_uri", default="file:///tmp/staging/",
               help="file:// URI of the directory where glance-direct stages data."),
    cfg.StrOpt("worker_self_reference_url",
               help="URL of this API node, recorded on staged images so that another "
                    "node can forward the import to the node holding the data."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, import_opts)]
