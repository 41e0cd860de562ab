"""CORS from the service's own config file, with Glance's header defaults (spec §6.3).

oslo.middleware's paste factory either wants ``allowed_origin`` in the paste file or
reads a separate ``<project>.conf``; handing it our ConfigOpts instead makes ``[cors]``
in glance-api.conf the one place an operator configures CORS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_config.cfg import CONF
from oslo_middleware import cors

ALLOW_HEADERS = [
    "Content-MD5", "X-Image-Meta-Checksum", "X-Storage-Token", "Accept-Encoding",
    "X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog", "X-User-Id",
    "X-Tenant-Id", "X-OpenStack-Request-ID",
]
EXPOSE_HEADERS = [
    "X-Image-Meta-Checksum", "X-Auth-Token", "X-Subject-Token", "X-Service-Token",
    "X-OpenStack-Request-ID",
]
ALLOW_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH"]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("cors", cors.CORS_OPTS)]


def set_defaults() -> None:
    cors.set_defaults(allow_headers=ALLOW_HEADERS, expose_headers=EXPOSE_HEADERS,
                      allow_methods=ALLOW_METHODS)


def filter_factory(global_conf: dict[str, Any], **local_conf: Any
                   ) -> Callable[[Any], cors.CORS]:
    set_defaults()

    def _filter(app: Any) -> cors.CORS:
        return cors.CORS(app, CONF)

    return _filter
