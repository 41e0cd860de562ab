"""The versions document: what clients read to discover which features exist.

glanceclient and Nova string-match ids such as ``v2.12`` or ``v2.17`` to decide which
calls to make, so this list advertises exactly what glance_svc implements (spec §2.2).
"""

from __future__ import annotations

import json
from typing import Any

import webob
import webob.dec
from oslo_config import cfg
from oslo_config.cfg import CONF

versions_opts = [
    cfg.StrOpt("public_endpoint",
               help="Base URL clients use to reach this API (a proxy or load balancer), "
                    "used in the versions document instead of the request URL."),
    cfg.StrOpt("worker_self_reference_url",
               help="URL of this API node, recorded on staged images so that another "
                    "node can forward the import to the node holding the data."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, versions_opts)]


def node_url(conf: cfg.ConfigOpts) -> str | None:
    """This API node's own URL, as recorded on the images it stages (None: unknown)."""
    return conf.worker_self_reference_url or conf.public_endpoint


def advertised_versions(conf: cfg.ConfigOpts) -> list[tuple[str, str]]:
    """(id, status) pairs in the order Glance emits them (spec part 2, §7.2).

    The cache versions (2.14 cache API, 2.16 its 202, 2.18 clean and prune) are listed
    when ``image_cache_dir`` is set, whatever the paste flavor; 2.18 is then CURRENT.
    """
    multi_store = bool(conf.enabled_backends)
    if conf.image_cache_dir:
        versions: list[tuple[str, str]] = [
            ("v2.18", "CURRENT"), ("v2.17", "SUPPORTED"), ("v2.16", "SUPPORTED"),
            ("v2.15", "SUPPORTED"), ("v2.14", "SUPPORTED")]
    else:
        versions = [("v2.15", "SUPPORTED")]
    if multi_store:
        versions += [(f"v2.{n}", "SUPPORTED") for n in range(13, 7, -1)]
    else:
        versions += [("v2.9", "SUPPORTED")]
    if not conf.image_cache_dir:
        versions += [("v2.17", "CURRENT")]
    versions += [(f"v2.{n}", "SUPPORTED") for n in range(7, -1, -1)]
    return versions


def minor_versions(conf: cfg.ConfigOpts) -> set[str]:
    """The ``2.N`` strings a client may use in a URL or media type."""
    return {vid[1:] for vid, _status in advertised_versions(conf)}


def versions_document(conf: cfg.ConfigOpts, request_url: str) -> dict[str, Any]:
    base = (conf.public_endpoint or request_url).rstrip("/")
    return {
        "versions": [
            {"id": vid, "status": status,
             "links": [{"rel": "self", "href": f"{base}/v2/"}]}
            for vid, status in advertised_versions(conf)
        ]
    }


def versions_response(req: webob.Request, status: int) -> webob.Response:
    response = webob.Response(status=status, charset=None)
    response.content_type = "application/json"
    response.body = json.dumps(versions_document(CONF, req.application_url)).encode()
    return response


class VersionsApp:
    """``/`` answers 300 Multiple Choices; ``/versions`` answers 200."""

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        status = 200 if req.path_info.rstrip("/") == "/versions" else 300
        return versions_response(req, status)


def create_resource(global_conf: dict[str, Any] | None = None, **local_conf: Any
                    ) -> VersionsApp:
    """PasteDeploy app factory."""
    return VersionsApp()
