"""The cache API: /v2/cache (2.14, 202 on PUT since 2.16), clean and prune (2.18) and
/v2/cache/nodes/{id} (Glance 33, no version of its own).

The routes exist in every configuration; a node without ``image_cache_dir`` answers 404
after the policy check, as Glance does (spec part 2, §3.7). The cache service applies
the checks in Glance's order; these handlers only translate.
"""

from __future__ import annotations

import webob

from glance_svc.api.wsgi import ApiRequest, json_response, no_content

CLEAR_TARGET_HEADER = "x-image-cache-clear-target"


def index(req: ApiRequest) -> webob.Response:
    return json_response(req.deps.cache.listing(req.context))


def queue(req: ApiRequest) -> webob.Response:
    req.deps.cache.queue(req.context, req.urlvars["cached_id"])
    return webob.Response(status=202)


def delete(req: ApiRequest) -> webob.Response:
    req.deps.cache.delete(req.context, req.urlvars["cached_id"])
    return no_content()


def clear(req: ApiRequest) -> webob.Response:
    req.deps.cache.clear(req.context, req.headers.get(CLEAR_TARGET_HEADER, ""))
    return no_content()


def clean(req: ApiRequest) -> webob.Response:
    req.deps.cache.clean(req.context)
    # Glance answers with an empty HTML body here.
    return webob.Response(status=200, content_type="text/html", charset="UTF-8")


def prune(req: ApiRequest) -> webob.Response:
    return json_response(req.deps.cache.prune(req.context))


def nodes(req: ApiRequest) -> webob.Response:
    return json_response(req.deps.cache.nodes(req.context, req.urlvars["cached_id"]))
