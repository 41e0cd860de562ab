"""Route a request to /v2 or to the versions document (spec §2.1).

``/versions`` is answered here; ``/v2.N/...`` is rewritten to ``/v2/...`` for advertised
minor versions; ``Accept: application/vnd.openstack.images-v2[.N]`` makes a version-less
path a /v2 path; anything else that names another version gets the versions document (300).
"""

from __future__ import annotations

import re

import webob
from oslo_config.cfg import CONF

from glance_svc.api import versions
from glance_svc.api.middleware.base import Middleware

_URL_VERSION = re.compile(r"^/v(\d+)(?:\.(\d+))?(?=/|$)")
_MEDIA_VERSION = re.compile(r"application/vnd\.openstack\.images-v(\d+)(?:\.(\d+))?")


class VersionNegotiationFilter(Middleware):
    def _acceptable(self, major: str, minor: str | None) -> bool:
        if major != "2":
            return False
        return minor is None or f"2.{minor}" in versions.minor_versions(CONF)

    def process_request(self, req: webob.Request) -> webob.Response | None:
        path = req.path_info
        # Answered here, before the context filter: no request id on these (spec §1).
        if path.rstrip("/") == "/versions" and req.method == "GET":
            return versions.versions_response(req, 200)
        if path in ("", "/"):
            return versions.versions_response(req, 300)
        found = _URL_VERSION.match(path)
        if found:
            major, minor = found.group(1), found.group(2)
            if not self._acceptable(major, minor):
                return versions.versions_response(req, 300)
            req.path_info = "/v2" + path[found.end():]
            return None
        media = _MEDIA_VERSION.search(req.headers.get("Accept", ""))
        if media:
            if not self._acceptable(media.group(1), media.group(2)):
                return versions.versions_response(req, 300)
            req.path_info = "/v2" + path
            return None
        # Any other first segment (/v1, /foo): the versions document, as Glance does.
        if not path.startswith("/healthcheck"):
            return versions.versions_response(req, 300)
        return None
