"""web-download import: fetch an image from a URL the operator's filters allow.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

filtering_opts = [
    cfg.ListOpt("allowed_schemes", default=["http", "https"],
                help="URL schemes web-download may fetch."),
    cfg.ListOpt("disallowed_schemes", default=[],
                help="URL schemes refused (used only when allowed_schemes is empty)."),
    cfg.ListOpt("allowed_hosts", default=[], help="Hosts web-download may fetch from."),
    cfg.ListOpt("disallowed_hosts", default=[],
                help="Hosts refused (used only when allowed_hosts is empty)."),
    cfg.ListOpt("allowed_ports", default=["80", "443"],
                help="Ports web-download may connect to."),
    cfg.ListOpt("disallowed_ports", default=[],
                help="Ports refused (used only when allowed_ports is empty)."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("import_filtering_opts", filtering_opts)]
