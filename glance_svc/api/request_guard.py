"""The outermost WSGI layer: what every request gets, whichever app or filter answers it.

Two things cannot be done route by route, because the answer may come from a filter
(the versions document, a 401, a 431) or from the router before any handler runs:

- a URL whose path or query is not UTF-8 is refused with 400 before WebOb, which
  decodes lazily wherever ``path_info`` or ``GET`` is first read, raises in the middle
  of a filter and turns it into a 500;
- the body a client sent and nobody read is read and dropped *before* the answer goes
  out. gunicorn drops at most 64 KiB of an unread body, after the response, and then
  closes the connection without saying so: a client still sending a large PATCH (or
  an upload refused with 404) gets a reset, often before it has read the answer, and
  a request pipelined behind it is never answered.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

import webob

from glance_svc.api import faults
from glance_svc.api.wsgi import ApiRequest

LOG = logging.getLogger(__name__)

# Glance's words for a request it could not decode (glance.common.wsgi.Resource).
UNDECODABLE = ("Error decoding your request. Either the URL or the request body contained "
               "characters that could not be decoded by Glance")
DISCARD_LIMIT = 16 * 1024 * 1024
DISCARD_CHUNK = 64 * 1024
DISCARD_SECONDS = 5.0

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def undecodable_url(environ: dict[str, Any]) -> bool:
    """Whether the path or the query string is not UTF-8 (what WebOb would trip on)."""
    req = webob.Request(environ)
    try:
        req.script_name  # noqa: B018 - decoding is the check
        req.path_info  # noqa: B018
        req.GET  # noqa: B018 - parsed once here, cached in the environ for the app
    except UnicodeDecodeError:
        return True
    return False


def _stream_socket(stream: Any) -> socket.socket | None:
    """The client socket under gunicorn's body reader, to bound each read in time."""
    sock = getattr(getattr(getattr(stream, "reader", None), "unreader", None), "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def discard_unread(stream: Any) -> None:
    """Read and drop what is left of a request body, within bounds.

    Up to ``DISCARD_LIMIT`` bytes, at most ``DISCARD_SECONDS`` between reads: a body
    that stopped arriving is not waited for, and a larger one is still cut off (gunicorn
    then closes the connection, as it would have).
    """
    sock = _stream_socket(stream)
    previous = sock.gettimeout() if sock is not None else None
    if sock is not None:
        sock.settimeout(DISCARD_SECONDS)
    discarded = 0
    try:
        while discarded <= DISCARD_LIMIT:
            chunk = stream.read(DISCARD_CHUNK)
            if not chunk:
                return
            discarded += len(chunk)
        LOG.info("Stopped discarding an unread request body after %d bytes; "
                 "the connection will close", discarded)
    except Exception as exc:  # noqa: BLE001 - the answer itself is what gets reported
        LOG.info("An unread request body could not be discarded: %s", exc)
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)


class RequestGuard:
    """Wraps the app that the server runs (see the module docstring)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")  # the server's, before WebOb may replace it
        has_body = ApiRequest(environ).has_body()
        if undecodable_url(environ):
            result = faults.http_error(400, UNDECODABLE)(environ, start_response)
        else:
            result = self._answer(environ, start_response)
        if has_body and stream is not None:
            discard_unread(stream)
        return result

    def _answer(self, environ: dict[str, Any], start_response: Callable[..., Any]
                ) -> Iterable[bytes]:
        try:
            return self.app(environ, start_response)
        except Exception:  # a filter's bug: a clean 500 the client can read, and a log
            LOG.exception("Unhandled error on %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"))
            exc_info = sys.exc_info()
            return faults.server_error()(
                environ, lambda status, headers, _=None: start_response(
                    status, headers, exc_info))
