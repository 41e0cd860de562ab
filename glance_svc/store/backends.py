"""Stores configured through glance_store, single-store or multi-store.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

backend_opts = [
    cfg.DictOpt("enabled_backends",
                help="Multi-store: store id -> driver type (file, http, rbd, swift, s3, "
                     "cinder, vmware), e.g. 'fast:file, web:http'. Each id gets its own "
                     "config section; [glance_store] default_backend names the default."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, backend_opts)]
