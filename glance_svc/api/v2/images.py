"""Handlers of /v2/images and /v2/images/{id}: list, create, show, PATCH, delete, actions.

HTTP in, HTTP out: each handler reads the request, calls ``ImageService`` and shapes the
answer; the rules themselves live in ``glance_svc.domain``.
"""

from __future__ import annotations

import webob

from glance_svc.api.v2 import views
from glance_svc.api.wsgi import ApiRequest, json_response, no_content
from glance_svc.domain import image_patch, listing
from glance_svc.domain.image import Image


def _view(req: ApiRequest, image: Image) -> dict[str, object]:
    service = req.deps.images
    [shown] = service.locations_shown(req.context, [image])
    return views.image_view(image, req.deps.conf, locations_shown=shown,
                            readable=service.readable(req.context))


def index(req: ApiRequest) -> webob.Response:
    """GET /v2/images: one page, with ``first``/``next`` links that keep the query."""
    params = list(req.GET.items())
    service = req.deps.images
    images, next_marker = service.list(req.context, params)
    body = {"images": views.images_view(images, req.deps.conf,
                                       service.locations_shown(req.context, images),
                                       service.readable(req.context)),
            **listing.page_links(params, next_marker),
            "schema": views.IMAGES_SCHEMA}
    return json_response(body)


def create(req: ApiRequest) -> webob.Response:
    """POST /v2/images: 201, an absolute ``Location`` and the import/store headers."""
    image = req.deps.images.create(req.context, req.json_object())
    headers = {"Location": req.host_url + views.image_href(image.id)}
    methods = req.deps.conf.enabled_import_methods
    if methods:
        headers["OpenStack-image-import-methods"] = ",".join(methods)
    stores = req.deps.stores
    if stores.multi_store:
        headers["OpenStack-image-store-ids"] = ",".join(stores.store_ids())
    return json_response(_view(req, image), status=201, headers=headers)


def show(req: ApiRequest) -> webob.Response:
    image = req.deps.images.get(req.context, req.urlvars["image_id"])
    return json_response(_view(req, image))


def update(req: ApiRequest) -> webob.Response:
    """PATCH /v2/images/{id}: both json-patch media types, else 415 with Accept-Patch."""
    draft = image_patch.draft_for(req.content_type)
    service = req.deps.images
    changes = image_patch.parse_changes(req.json_body(), draft, service.schemas)
    image = service.update(req.context, req.urlvars["image_id"], changes)
    return json_response(_view(req, image))


def delete(req: ApiRequest) -> webob.Response:
    req.deps.images.delete(req.context, req.urlvars["image_id"])
    return no_content()


def deactivate(req: ApiRequest) -> webob.Response:
    req.deps.images.deactivate(req.context, req.urlvars["image_id"])
    return no_content()


def reactivate(req: ApiRequest) -> webob.Response:
    req.deps.images.reactivate(req.context, req.urlvars["image_id"])
    return no_content()
