"""The ``cache`` paste filter: downloads through this pipeline use the image cache.

The filter itself only marks the request; the download handler then serves the image
from the node's cache or copies it in (``glance_svc.cache.service``), after the same
checks as every download. When it is in the pipeline, a successful
``DELETE /v2/images/{id}`` also drops this node's cached copy, as Glance's filter does.
It sits after the context filter (``... context cache rootapp``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import webob
from oslo_config.cfg import CONF

from glance_svc.api.middleware.base import Middleware

LOG = logging.getLogger(__name__)

CACHE_FILTER_KEY = "glance.cache.filter"
_DELETED_KEY = "glance.cache.deleting"
_IMAGE_PATH = re.compile(r"^/v2/images/([^/]+)/?$")


class CacheFilterMisconfigured(RuntimeError):
    """The cache filter is in the pipeline but no ``image_cache_dir`` is set."""


class CacheFilter(Middleware):
    def __init__(self, application: Callable[..., Any], **options: Any) -> None:
        if not CONF.image_cache_dir:
            raise CacheFilterMisconfigured(
                "The paste flavor has the cache filter, but [DEFAULT] image_cache_dir is "
                "not set: set it, or choose a flavor without caching.")
        super().__init__(application, **options)

    def process_request(self, req: webob.Request) -> webob.Response | None:
        req.environ[CACHE_FILTER_KEY] = True
        found = _IMAGE_PATH.match(req.path_info)
        if found and req.method == "DELETE":
            req.environ[_DELETED_KEY] = found.group(1)
        return None

    def process_response(self, req: webob.Request, response: webob.Response
                         ) -> webob.Response:
        image_id = req.environ.get(_DELETED_KEY)
        deps = req.environ.get("glance.deps")  # set by the /v2 app that answered
        if image_id and response.status_int == 204 and deps is not None:
            try:
                deps.cache.forget(image_id)
            except Exception:  # the image is deleted; a stale copy only costs disk
                LOG.exception("Could not drop deleted image %s from the cache", image_id)
        return response
