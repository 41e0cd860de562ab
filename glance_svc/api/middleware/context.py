"""Build the request context from the identity headers, and stamp the request id.

``ContextMiddleware`` follows keystonemiddleware's ``auth_token`` (or trusts an upstream
proxy's headers in the trusted-auth flavor). ``UnauthenticatedContextMiddleware`` is the
no-auth lab pipeline: every caller is an admin with no project, so a deployment without
Keystone is usable out of the box. (Glance gives that context no roles, which makes nearly
every call 403 under the new policy defaults; we keep the admin flag meaningful instead.)
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import webob
from oslo_config import cfg
from oslo_config.cfg import CONF

from glance_svc.api import faults
from glance_svc.api.middleware.base import Middleware
from glance_svc.context import RequestContext

context_opts = [
    cfg.BoolOpt("allow_anonymous_access", default=False,
                help="With the keystone pipeline, give requests without a token a "
                     "read-only anonymous context instead of answering 401."),
    cfg.IntOpt("max_request_id_length", default=64, min=0,
               help="Longest X-Openstack-Request-ID a client may send; longer gets 431."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, context_opts)]


REQUEST_ID_HEADER = "x-openstack-request-id"


def _new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


class _ContextBase(Middleware):
    def process_response(self, req: webob.Request, response: webob.Response
                         ) -> webob.Response:
        ctx = req.environ.get("glance.context")
        if ctx is not None:
            response.headers[REQUEST_ID_HEADER] = ctx.request_id
        return response


class UnauthenticatedContextMiddleware(_ContextBase):
    """Every request acts as an admin with no project (the no-auth pipeline)."""

    def process_request(self, req: webob.Request) -> webob.Response | None:
        req.environ["glance.context"] = RequestContext.admin(request_id=_new_request_id())
        return None


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class ContextMiddleware(_ContextBase):
    """Context from the headers auth_token sets (X-Identity-Status, X-Roles, ...)."""

    def process_request(self, req: webob.Request) -> webob.Response | None:
        headers = req.headers
        request_id = headers.get("X-Openstack-Request-ID")
        if request_id:
            if len(request_id) > CONF.max_request_id_length:
                return faults.http_error(
                    431, "X-Openstack-Request-ID is longer than "
                         f"{CONF.max_request_id_length} characters.")
            if not request_id.startswith("req-"):
                request_id = f"req-{request_id}"
        else:
            request_id = _new_request_id()

        if headers.get("X-Identity-Status", "Confirmed") != "Confirmed":
            if CONF.allow_anonymous_access:
                req.environ["glance.context"] = RequestContext(
                    request_id=request_id, read_only=True, roles=[])
                return None
            return faults.http_error(401, "This server could not verify that you are "
                                          "authorized to access the document you requested.")

        catalog: Any = None
        raw_catalog = headers.get("X-Service-Catalog")
        if raw_catalog:
            try:
                catalog = json.loads(raw_catalog)
            except (ValueError, RecursionError):  # Glance answers 500: the sender erred
                return faults.http_error(400, "Invalid service catalog json.")

        roles = _split(headers.get("X-Roles") or headers.get("X-Role"))
        ctx = RequestContext(
            request_id=request_id,
            user_id=headers.get("X-User-Id") or headers.get("X-User"),
            project_id=(headers.get("X-Project-Id") or headers.get("X-Tenant-Id")
                        or headers.get("X-Tenant")),
            domain_id=headers.get("X-Domain-Id"),
            user_domain_id=headers.get("X-User-Domain-Id"),
            project_domain_id=headers.get("X-Project-Domain-Id"),
            user_name=headers.get("X-User-Name"),
            project_name=headers.get("X-Project-Name"),
            roles=roles,
            service_roles=_split(headers.get("X-Service-Roles")),
            system_scope=headers.get("OpenStack-System-Scope"),
            is_admin_project=headers.get("X-Is-Admin-Project", "True").lower() == "true",
            auth_token=headers.get("X-Auth-Token"),
        )
        ctx.service_catalog = catalog
        ctx.is_admin = "admin" in ctx.roles
        req.environ["glance.context"] = ctx
        return None
