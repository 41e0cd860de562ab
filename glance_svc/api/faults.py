"""Turn domain errors into HTTP responses with WebOb's bodies.

WebOb's ``HTTPException`` already picks the body format the way Glance clients expect
(spec §9.1): HTML for ``*/*``, flat JSON when JSON is preferred, plain text when there is
no ``Accept``. Using it, rather than imitating it, keeps every route consistent.
"""

from __future__ import annotations

import logging

import webob.exc

from glance_svc import errors

LOG = logging.getLogger(__name__)

_BY_STATUS: dict[int, type[webob.exc.HTTPException]] = {
    400: webob.exc.HTTPBadRequest,
    401: webob.exc.HTTPUnauthorized,
    403: webob.exc.HTTPForbidden,
    404: webob.exc.HTTPNotFound,
    405: webob.exc.HTTPMethodNotAllowed,
    409: webob.exc.HTTPConflict,
    410: webob.exc.HTTPGone,
    413: webob.exc.HTTPRequestEntityTooLarge,
    415: webob.exc.HTTPUnsupportedMediaType,
    416: webob.exc.HTTPRequestRangeNotSatisfiable,
    431: webob.exc.HTTPRequestHeaderFieldsTooLarge,
    500: webob.exc.HTTPInternalServerError,
    501: webob.exc.HTTPNotImplemented,
    503: webob.exc.HTTPServiceUnavailable,
}

SERVER_ERROR = (
    "The server has either erred or is incapable of performing the requested operation."
)


def http_error(status: int, message: str, headers: dict[str, str] | None = None
               ) -> webob.exc.HTTPException:
    """A WebOb exception (itself a WSGI app) for ``status`` carrying ``message``."""
    # Statuses the domain never raises itself (a 502/504 from another worker, or any
    # status that worker answered with) still get WebOb's class for that status.
    cls = _BY_STATUS.get(status) or webob.exc.status_map.get(
        status, webob.exc.HTTPInternalServerError)
    # Most WebOb bodies print the explanation; a few (405, 415, 501) print only the
    # detail after a fixed sentence. Put the message where the body will show it.
    if "${explanation}" in cls.body_template_obj.template:
        exc = cls(explanation=message)
    else:
        exc = cls(detail=message)
    for name, value in (headers or {}).items():
        exc.headers[name] = value
    return exc


def from_error(error: errors.GlanceError) -> webob.exc.HTTPException:
    headers = {k.replace("_", "-"): v for k, v in error.headers.items()}
    return http_error(error.status, error.message, headers)


def server_error() -> webob.exc.HTTPException:
    return http_error(500, SERVER_ERROR)
