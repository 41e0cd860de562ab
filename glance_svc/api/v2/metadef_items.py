"""Handlers of a namespace's objects, properties and tags (``/v2/metadefs/namespaces/
{namespace}/{objects,properties,tags}[/{name}]``).

The three kinds share their verbs and codes, so each handler takes the ``kind`` the
router binds; only the shapes differ (``metadef_views``) and tags add the batch POST and
a POST of one tag by its URL alone.
"""

from __future__ import annotations

from typing import Any

import webob
from oslo_utils import strutils

from glance_svc.api.v2 import metadef_views as views
from glance_svc.api.wsgi import ApiRequest, json_response, no_content
from glance_svc.domain.metadef_repository import ItemKind, Record

APPEND_HEADER = "X-Openstack-Append"


def _view(namespace: str, kind: ItemKind, item: Record) -> dict[str, Any]:
    if kind == "objects":
        return views.object_view(namespace, item)
    if kind == "properties":
        return views.property_view(item)
    return views.tag_view(item)


def index(req: ApiRequest, kind: ItemKind) -> webob.Response:
    namespace = req.urlvars["namespace"]
    items = req.deps.metadefs.list_items(req.context, namespace, kind)
    if kind == "objects":
        return json_response(views.objects_view(namespace, items))
    if kind == "properties":
        return json_response(views.properties_view(items))
    return json_response(views.tags_view(items))


def create(req: ApiRequest, kind: ItemKind) -> webob.Response:
    """POST of an object or property: 201; a name already taken is 409."""
    namespace = req.urlvars["namespace"]
    item = req.deps.metadefs.create_item(req.context, namespace, kind, req.json_body())
    return json_response(_view(namespace, kind, item), status=201)


def show(req: ApiRequest, kind: ItemKind) -> webob.Response:
    namespace = req.urlvars["namespace"]
    item = req.deps.metadefs.get_item(req.context, namespace, kind, req.urlvars["name"],
                                      req.GET.get("resource_type"))
    return json_response(_view(namespace, kind, item))


def update(req: ApiRequest, kind: ItemKind) -> webob.Response:
    """PUT replaces the item; the body's name may rename it."""
    namespace = req.urlvars["namespace"]
    item = req.deps.metadefs.update_item(req.context, namespace, kind, req.urlvars["name"],
                                         req.json_body())
    return json_response(_view(namespace, kind, item))


def delete(req: ApiRequest, kind: ItemKind) -> webob.Response:
    req.deps.metadefs.delete_item(req.context, req.urlvars["namespace"], kind,
                                  req.urlvars["name"])
    return no_content()


def delete_all(req: ApiRequest, kind: ItemKind) -> webob.Response:
    req.deps.metadefs.delete_items(req.context, req.urlvars["namespace"], kind)
    return no_content()


def create_tag(req: ApiRequest) -> webob.Response:
    """POST /tags/{name}: no body, 201 with the tag."""
    namespace = req.urlvars["namespace"]
    tag = req.deps.metadefs.create_item(req.context, namespace, "tags",
                                        {"name": req.urlvars["name"]})
    return json_response(views.tag_view(tag), status=201)


def create_tags(req: ApiRequest) -> webob.Response:
    """POST /tags: the batch replaces every tag, or with ``X-Openstack-Append: true`` is
    added to them."""
    append = strutils.bool_from_string(req.headers.get(APPEND_HEADER, "false"))
    tags = req.deps.metadefs.create_tags(req.context, req.urlvars["namespace"],
                                         req.json_body(), append=append)
    return json_response(views.tags_view(tags), status=201)
