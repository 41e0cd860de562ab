"""The /v2 application: one table of routes, and the rules every route shares.

Each route holds its handler function itself, so a reader (or a tool) can follow a route
straight to its code. The router owns what is common: 404 for unknown paths and non-UUID
image ids, 405 with ``Allow`` for a known path and unknown verb, 501 for verbs HTTP does
not have here, 400 for a body on a bodiless route, and the conversion of domain errors
into responses."""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

import webob
import webob.exc
from oslo_config.cfg import CONF

from glance_svc import errors
from glance_svc.api import faults
from glance_svc.api.deps import AppDeps
from glance_svc.api.v2 import (
    cache,
    discovery,
    image_data,
    images,
    imports,
    locations,
    members,
    metadef_items,
    metadef_namespaces,
    schemas,
    tags,
    tasks,
)
from glance_svc.api.wsgi import ApiRequest

LOG = logging.getLogger(__name__)

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})
Handler = Callable[[ApiRequest], webob.Response]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    body: bool = False  # False: a request body is refused with 400 (spec §1 "body_reject")


def _metadef_routes() -> tuple[Route, ...]:
    """The catalog's routes; objects, properties and tags share one set of handlers."""
    ns = "/metadefs/namespaces/{namespace}"
    routes = [
        Route("GET", "/metadefs/namespaces", metadef_namespaces.index),
        Route("POST", "/metadefs/namespaces", metadef_namespaces.create, body=True),
        Route("GET", ns, metadef_namespaces.show),
        Route("PUT", ns, metadef_namespaces.update, body=True),
        Route("DELETE", ns, metadef_namespaces.delete),
        Route("GET", "/metadefs/resource_types", metadef_namespaces.resource_types),
        Route("GET", f"{ns}/resource_types", metadef_namespaces.associations),
        Route("POST", f"{ns}/resource_types", metadef_namespaces.associate, body=True),
        Route("DELETE", f"{ns}/resource_types/{{resource_type}}",
              metadef_namespaces.dissociate),
        Route("POST", f"{ns}/tags", metadef_items.create_tags, body=True),
        Route("POST", f"{ns}/tags/{{name}}", metadef_items.create_tag),
    ]
    for kind in ("objects", "properties", "tags"):
        def bound(handler: Callable[..., webob.Response], kind: str = kind) -> Handler:
            return functools.partial(handler, kind=kind)

        routes += [
            Route("GET", f"{ns}/{kind}", bound(metadef_items.index)),
            Route("DELETE", f"{ns}/{kind}", bound(metadef_items.delete_all)),
            Route("GET", f"{ns}/{kind}/{{name}}", bound(metadef_items.show)),
            Route("PUT", f"{ns}/{kind}/{{name}}", bound(metadef_items.update), body=True),
            Route("DELETE", f"{ns}/{kind}/{{name}}", bound(metadef_items.delete)),
        ]
        if kind != "tags":
            routes.append(Route("POST", f"{ns}/{kind}", bound(metadef_items.create),
                                body=True))
    return tuple(routes)


_METADEF_ROUTES = _metadef_routes()

ROUTES: tuple[Route, ...] = (
    # images
    Route("GET", "/images", images.index),
    Route("POST", "/images", images.create, body=True),
    Route("GET", "/images/{image_id}", images.show),
    Route("PATCH", "/images/{image_id}", images.update, body=True),
    Route("DELETE", "/images/{image_id}", images.delete),
    Route("POST", "/images/{image_id}/actions/deactivate", images.deactivate),
    Route("POST", "/images/{image_id}/actions/reactivate", images.reactivate),
    Route("GET", "/images/{image_id}/tasks", tasks.image_tasks),
    # tags
    Route("PUT", "/images/{image_id}/tags/{tag}", tags.add),
    Route("DELETE", "/images/{image_id}/tags/{tag}", tags.delete),
    # members
    Route("GET", "/images/{image_id}/members", members.index),
    Route("POST", "/images/{image_id}/members", members.create, body=True),
    Route("GET", "/images/{image_id}/members/{member_id}", members.show),
    Route("PUT", "/images/{image_id}/members/{member_id}", members.update, body=True),
    Route("DELETE", "/images/{image_id}/members/{member_id}", members.delete),
    # image data
    Route("PUT", "/images/{image_id}/file", image_data.upload, body=True),
    Route("GET", "/images/{image_id}/file", image_data.download),
    Route("PUT", "/images/{image_id}/stage", image_data.stage, body=True),
    Route("POST", "/images/{image_id}/import", imports.import_image, body=True),
    Route("GET", "/images/{image_id}/locations", locations.index),
    Route("POST", "/images/{image_id}/locations", locations.create, body=True),
    Route("DELETE", "/stores/{store_id}/{image_id}", image_data.delete_from_store),
    # the image cache (ids are not checked as UUIDs here: Glance's messages differ)
    Route("GET", "/cache", cache.index),
    Route("DELETE", "/cache", cache.clear),
    Route("POST", "/cache/clean", cache.clean),
    Route("POST", "/cache/prune", cache.prune),
    Route("GET", "/cache/nodes/{cached_id}", cache.nodes),
    Route("PUT", "/cache/{cached_id}", cache.queue),
    Route("DELETE", "/cache/{cached_id}", cache.delete),

    # tasks (legacy; admin-only by default)
    Route("GET", "/tasks", tasks.index),
    Route("POST", "/tasks", tasks.create, body=True),
    Route("GET", "/tasks/{task_id}", tasks.show),
    # discovery
    Route("GET", "/info/import", discovery.import_info),
    Route("GET", "/info/stores", discovery.stores_info),
    Route("GET", "/info/stores/detail", discovery.stores_detail),
    Route("GET", "/info/usage", discovery.usage),
    # schemas
    Route("GET", "/schemas/image", schemas.image),
    Route("GET", "/schemas/images", schemas.images),
    Route("GET", "/schemas/member", schemas.member),
    Route("GET", "/schemas/members", schemas.members),
    Route("GET", "/schemas/task", schemas.task),
    Route("GET", "/schemas/tasks", schemas.tasks),
    Route("GET", "/schemas/metadefs/{kind}", schemas.metadef),
    # metadata definitions catalog
    *_METADEF_ROUTES,
)


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return "-" in value  # Glance ids always carry dashes


class API:
    """The WSGI app mounted at /v2."""

    def __init__(self, deps: AppDeps) -> None:
        self.deps = deps
        self._routes = [(r, _compile(r.template)) for r in ROUTES]

    @classmethod
    def factory(cls, global_conf: dict[str, Any] | None = None, **local_conf: Any) -> API:
        """PasteDeploy app factory; the services are built from the global config object."""
        return cls(AppDeps.build(CONF))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """The route for ``method path``, its URL variables, and the verbs the path allows."""
        allowed: list[str] = []
        for route, pattern in self._routes:
            found = pattern.match(path)
            if not found:
                continue
            if route.method == method:
                return route, found.groupdict(), allowed
            allowed.append(route.method)
        return None, {}, allowed

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        req = ApiRequest(environ)
        try:
            response = self._dispatch(req)
        except errors.GlanceError as exc:
            response = faults.from_error(exc)
        except webob.exc.HTTPException as exc:
            response = exc
        except Exception:  # the client gets a clean 500; the log gets the traceback
            LOG.exception("Unhandled error on %s %s", req.method, req.path_info)
            response = faults.server_error()
        # WebOb's 415 body names ${CONTENT_TYPE}; without the key it prints the placeholder.
        environ.setdefault("CONTENT_TYPE", "")
        return response(environ, start_response)

    def _dispatch(self, req: ApiRequest) -> webob.Response:
        method = req.method.upper()
        if method not in KNOWN_METHODS:
            raise errors.NotImplementedYet("The requested method is not implemented.")
        path = req.path_info
        if path == "":
            # GET /v2 -> /v2/ (which is then 404), as Glance does.
            raise webob.exc.HTTPFound(location=req.application_url + "/")
        route, urlvars, allowed = self.match(method, path)
        if route is None:
            if allowed:
                raise errors.MethodNotAllowed(
                    "The method is not allowed for this resource.",
                    Allow=", ".join(sorted(set(allowed), key=allowed.index)),
                )
            raise errors.NotFound("The resource could not be found.")
        image_id = urlvars.get("image_id")
        if image_id is not None and not is_uuid(image_id):
            raise errors.NotFound(f"No image found with ID {image_id}")
        if not route.body and method in ("POST", "PUT", "PATCH") and req.has_body():
            raise errors.BadRequest("A body is not expected with this request.")
        req.urlvars = urlvars
        req.environ["glance.deps"] = self.deps
        return route.handler(req)
