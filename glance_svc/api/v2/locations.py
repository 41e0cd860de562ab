"""GET and POST /v2/images/{id}/locations (API 2.17, what Nova uses to register data)."""

from __future__ import annotations

import webob

from glance_svc import errors
from glance_svc.api.wsgi import ApiRequest, json_response


def index(req: ApiRequest) -> webob.Response:
    return json_response(req.deps.data.get_locations(req.context, req.urlvars["image_id"]))


def create(req: ApiRequest) -> webob.Response:
    body = req.json_object()
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise errors.BadRequest("'url' is a required string property")
    validation_data = body.get("validation_data")
    if validation_data is not None and not isinstance(validation_data, dict):
        raise errors.BadRequest("'validation_data' must be an object")
    req.deps.data.add_location(req.context, req.urlvars["image_id"], url, validation_data)
    response = webob.Response(status=202, charset=None)
    response.content_type = None
    return response
