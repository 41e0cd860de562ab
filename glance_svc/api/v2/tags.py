"""Handlers of /v2/images/{id}/tags/{tag}: both answer 204."""

from __future__ import annotations

import webob

from glance_svc.api.wsgi import ApiRequest, no_content


def add(req: ApiRequest) -> webob.Response:
    """PUT: idempotent; 400 for a tag over 255 characters, 413 over image_tag_quota."""
    req.deps.images.add_tag(req.context, req.urlvars["image_id"], req.urlvars["tag"])
    return no_content()


def delete(req: ApiRequest) -> webob.Response:
    """DELETE: 404 if the image does not carry the tag."""
    req.deps.images.delete_tag(req.context, req.urlvars["image_id"], req.urlvars["tag"])
    return no_content()
