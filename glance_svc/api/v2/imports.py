"""POST /v2/images/{id}/import: 202 and an empty body once every check has passed."""

from __future__ import annotations

import webob

from glance_svc.api.wsgi import ApiRequest


def import_image(req: ApiRequest) -> webob.Response:
    body = req.json_object()
    req.deps.imports.import_image(req.context, req.urlvars["image_id"], body,
                                       header_store=req.headers.get("X-Image-Meta-Store"))
    response = webob.Response(status=202, charset=None)
    response.content_type = None
    return response
