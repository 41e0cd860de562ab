"""What every /v2 handler receives and returns.

A handler is a plain function ``handler(req: ApiRequest) -> webob.Response`` that raises
``glance_svc.errors`` on failure. The router resolves the route, fills ``req.urlvars``,
builds the context and dependencies, and turns raised errors into responses.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, NoReturn

import webob

from glance_svc import errors

if TYPE_CHECKING:
    from glance_svc.api.deps import AppDeps
    from glance_svc.context import RequestContext

JSON_TYPE = "application/json"
# Deeper than any image, member, location or import body needs; validating and storing
# a deeper document would exhaust Python's recursion limit (a 500) instead.
MAX_JSON_DEPTH = 32
MALFORMED_JSON = "Malformed JSON in request body."
TOO_DEEP = f"{MALFORMED_JSON} It is nested more than {MAX_JSON_DEPTH} levels deep."
LONE_SURROGATE = (f"{MALFORMED_JSON} A string holds an unpaired UTF-16 surrogate "
                  "(an escape from \\ud800 to \\udfff).")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _refuse_constant(name: str) -> NoReturn:
    """``NaN`` and ``Infinity`` are JavaScript, not JSON; Python's parser takes them."""
    raise ValueError(f"{name} is not JSON")


def _check_decoded(value: Any) -> None:
    """400 for what JSON can spell but no column or client can hold.

    A ``\\ud800`` escape decodes to a lone surrogate, which no UTF-8 encoder (the
    database's, the response's) accepts; a document nested past ``MAX_JSON_DEPTH`` would
    make schema validation recurse past Python's limit. An explicit stack keeps this
    walk itself free of recursion.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise errors.BadRequest(LONE_SURROGATE)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise errors.BadRequest(TOO_DEEP)
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children)


class ApiRequest(webob.Request):
    """A WebOb request that knows the caller's context and the app's services."""

    @property
    def context(self) -> RequestContext:
        return self.environ["glance.context"]

    @property
    def deps(self) -> AppDeps:
        return self.environ["glance.deps"]

    def has_body(self) -> bool:  # type: ignore[override]
        """True if the client sent (or announced) a body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return True
        length = self.headers.get("Content-Length")
        return bool(length) and length.strip() not in ("", "0")

    def json_body(self) -> Any:
        """The parsed JSON body, whatever the Content-Type (Glance does not check it).

        Spec §1: missing body -> 400 "Body expected in request.", malformed -> 400
        "Malformed JSON in request body.", a top-level scalar -> 400 "Unexpected body type.
        Expected list/dict." Where Glance answers 500 (a lone surrogate, a document
        nested thousands deep) the answer is the same 400 with the reason added.
        """
        if not self.has_body():
            raise errors.BadRequest("Body expected in request.")
        raw = self.body
        if not raw:
            raise errors.BadRequest("Body expected in request.")
        try:
            value = json.loads(raw, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise errors.BadRequest(MALFORMED_JSON) from exc
        except RecursionError:
            raise errors.BadRequest(TOO_DEEP) from None
        if not isinstance(value, dict | list):
            raise errors.BadRequest("Unexpected body type. Expected list/dict.")
        _check_decoded(value)
        return value

    def json_object(self) -> dict[str, Any]:
        """A JSON body that must be an object (a list gets 400, unlike Glance's 500)."""
        value = self.json_body()
        if not isinstance(value, dict):
            raise errors.BadRequest("Unexpected body type. Expected dict.")
        return value


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> webob.Response:
    """A JSON response with ``Content-Type: application/json`` and no charset, as Glance."""
    response = webob.Response(status=status, charset=None)
    response.content_type = JSON_TYPE
    response.body = json.dumps(body).encode("utf-8")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def no_content(headers: dict[str, str] | None = None) -> webob.Response:
    response = webob.Response(status=204, charset=None)
    response.content_type = None
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
