"""Handlers of /v2/schemas/*: the documents clients build their models from."""

from __future__ import annotations

import webob

from glance_svc import errors
from glance_svc.api.wsgi import ApiRequest, json_response


def _document(req: ApiRequest, name: str) -> webob.Response:
    return json_response(req.deps.images.schemas.document(name))


def image(req: ApiRequest) -> webob.Response:
    return _document(req, "image")


def images(req: ApiRequest) -> webob.Response:
    return _document(req, "images")


def member(req: ApiRequest) -> webob.Response:
    return _document(req, "member")


def members(req: ApiRequest) -> webob.Response:
    return _document(req, "members")


def task(req: ApiRequest) -> webob.Response:
    return _document(req, "task")


def tasks(req: ApiRequest) -> webob.Response:
    return _document(req, "tasks")


def metadef(req: ApiRequest) -> webob.Response:
    """/v2/schemas/metadefs/{namespace,namespaces,object,...}; unknown kinds are 404."""
    documents = req.deps.images.schemas.metadefs
    kind = req.urlvars["kind"]
    if kind not in documents:
        raise errors.NotFound("The resource could not be found.")
    return json_response(documents[kind])
