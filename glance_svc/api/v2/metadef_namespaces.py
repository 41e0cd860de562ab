"""Handlers of /v2/metadefs/namespaces[/{namespace}] and the resource type routes.

HTTP in, HTTP out; who may do what is ``MetadefService``'s (``glance_svc.domain.metadefs``).
"""

from __future__ import annotations

import webob

from glance_svc.api.v2 import metadef_views as views
from glance_svc.api.wsgi import ApiRequest, json_response, no_content
from glance_svc.domain import listing


def index(req: ApiRequest) -> webob.Response:
    """GET: one page (``limit, marker, sort_key, sort_dir, visibility, resource_types``)."""
    params = list(req.GET.items())
    namespaces, next_marker = req.deps.metadefs.list_namespaces(req.context, params)
    return json_response({
        "namespaces": [views.namespace_view(ns) for ns in namespaces],
        **listing.page_links(params, next_marker, base=views.NAMESPACES),
        "schema": f"{views.SCHEMAS}/namespaces",
    })


def create(req: ApiRequest) -> webob.Response:
    """POST: 201 with the namespace and whatever it embedded."""
    namespace = req.deps.metadefs.create_namespace(req.context, req.json_body())
    return json_response(views.namespace_view(namespace), status=201)


def show(req: ApiRequest) -> webob.Response:
    """GET; ``?resource_type=`` prefixes property names as that resource type sees them."""
    namespace = req.deps.metadefs.get_namespace(
        req.context, req.urlvars["namespace"], req.GET.get("resource_type"))
    return json_response(views.namespace_view(namespace))


def update(req: ApiRequest) -> webob.Response:
    namespace = req.deps.metadefs.update_namespace(req.context, req.urlvars["namespace"],
                                                   req.json_body())
    return json_response(views.namespace_view(namespace))


def delete(req: ApiRequest) -> webob.Response:
    """DELETE: 403 while the namespace is protected."""
    req.deps.metadefs.delete_namespace(req.context, req.urlvars["namespace"])
    return no_content()


# -- resource types -----------------------------------------------------------------------
def resource_types(req: ApiRequest) -> webob.Response:
    """GET /v2/metadefs/resource_types: every known resource type."""
    return json_response(views.resource_types_view(
        req.deps.metadefs.list_resource_types(req.context)))


def associations(req: ApiRequest) -> webob.Response:
    return json_response(views.associations_view(
        req.deps.metadefs.list_associations(req.context, req.urlvars["namespace"])))


def associate(req: ApiRequest) -> webob.Response:
    """POST: 201; the resource type must exist (404), once per namespace (409)."""
    association = req.deps.metadefs.add_association(req.context, req.urlvars["namespace"],
                                                    req.json_body())
    return json_response(views.association_view(association), status=201)


def dissociate(req: ApiRequest) -> webob.Response:
    req.deps.metadefs.remove_association(req.context, req.urlvars["namespace"],
                                         req.urlvars["resource_type"])
    return no_content()
