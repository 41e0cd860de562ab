"""PUT/GET /v2/images/{id}/file, PUT .../stage and DELETE /v2/stores/{store}/{id}.

The handlers only translate HTTP into calls on ``ImageDataService``: headers in, a
status and a body out. The request body is handed over as the server's raw input
stream, never read here, so an upload of any size streams; a download of a file-store
image is handed to ``wsgi.file_wrapper`` so gunicorn sends it with ``sendfile``.
"""

from __future__ import annotations

import io
import logging
import socket
from typing import Any

import webob

from glance_svc import errors
from glance_svc.api import chunked_body
from glance_svc.api.middleware.cache import CACHE_FILTER_KEY
from glance_svc.api.wsgi import ApiRequest, no_content
from glance_svc.store.bodies import FileBody

LOG = logging.getLogger(__name__)

OCTET_STREAM = "application/octet-stream"
SENDFILE_BLOCK = 1024 * 1024


class _DirectBody:
    """A Content-Length body read straight from gunicorn's plain (not TLS) socket.

    gunicorn's body reader moves every byte through two or three BytesIO buffers on the
    way to the app; for a large image that costs more CPU than the file write. This
    reader first takes what gunicorn already holds (the start of the body that arrived
    with the headers), then receives whole chunks with ``MSG_WAITALL``: one copy, one
    system call per chunk. It keeps gunicorn's own count (``LengthReader.length``) exact,
    so after the request gunicorn sees a fully read body and keep-alive works as usual.
    """

    def __init__(self, body: Any) -> None:
        reader = body.reader
        self._reader = reader
        self._sock: socket.socket = reader.unreader.sock
        head = body.buf.getvalue()  # read by Body but not returned (normally nothing)
        body.buf = io.BytesIO()
        held = reader.unreader.take_buffered()
        mine, rest = held[:reader.length], held[reader.length:]
        if rest:  # a pipelined next request: leave it to gunicorn
            reader.unreader.unread(rest)
        reader.length -= len(mine)
        self._head = head + mine

    def read(self, size: int) -> bytes:
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            return out
        want = min(size, self._reader.length)
        if want <= 0:
            return b""
        chunk = self._sock.recv(want, socket.MSG_WAITALL)
        self._reader.length -= len(chunk)
        return chunk


def _request_body(req: ApiRequest) -> Any:
    """The body stream: gunicorn's socket directly when that is safe, else wsgi.input."""
    body = req.environ["wsgi.input"]
    try:
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:  # pragma: no cover - another WSGI server
        return body
    if (chunked := chunked_body.adopt(body)) is not None:
        return chunked
    # Only on a plain socket: an ssl.SSLSocket refuses recv's MSG_WAITALL (ValueError,
    # which the upload reported as a 400), so over TLS gunicorn's own reader serves.
    if (type(body) is Body and type(body.reader) is LengthReader
            and type(body.reader.unreader) is SocketUnreader
            and type(body.reader.unreader.sock) is socket.socket
            and isinstance(getattr(body, "buf", None), io.BytesIO)
            and hasattr(body.reader.unreader, "take_buffered")):
        return _DirectBody(body)
    return body


def _require_octet_stream(req: ApiRequest) -> None:
    """415 unless the body is declared ``application/octet-stream`` (Glance's check)."""
    if "Content-Type" not in req.headers:
        raise errors.UnsupportedMediaType("Invalid content type None")
    if req.content_type != OCTET_STREAM:
        raise errors.UnsupportedMediaType(f"Invalid content type {req.content_type}")


def _declared_size(req: ApiRequest) -> int | None:
    """``x-openstack-image-size``: the exact number of bytes the client will send."""
    raw = req.headers.get("x-openstack-image-size")
    if raw is None:
        return None
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if size < 0:
        raise errors.BadRequest("Invalid or missing image size in request headers.")
    return size


def _body_length(req: ApiRequest) -> int | None:
    """Content-Length, or None for a chunked body (its end is the last chunk)."""
    if "chunked" in req.headers.get("Transfer-Encoding", "").lower():
        return None
    raw = req.environ.get("CONTENT_LENGTH")
    try:
        return int(raw) if raw not in (None, "") else 0
    except ValueError:
        raise errors.BadRequest("Invalid Content-Length header.") from None


def upload(req: ApiRequest) -> webob.Response:
    body = _request_body(req)
    _require_octet_stream(req)
    req.deps.data.upload(
        req.context, req.urlvars["image_id"], body,
        declared_size=_declared_size(req), body_length=_body_length(req),
        store_id=req.headers.get("X-Image-Meta-Store"))
    return no_content()


def stage(req: ApiRequest) -> webob.Response:
    body = _request_body(req)
    if "glance-direct" not in req.deps.conf.enabled_import_methods:
        raise errors.NotFound("'glance-direct' method is not available at this site.")
    _require_octet_stream(req)
    req.deps.data.stage(
        req.context, req.urlvars["image_id"], body,
        declared_size=_declared_size(req), body_length=_body_length(req))
    return no_content()


def download(req: ApiRequest) -> webob.Response:
    prefer = [s.strip() for s in req.GET.get("prefer", "").split(",") if s.strip()]
    result = req.deps.data.download(
        req.context, req.urlvars["image_id"], range_header=req.headers.get("Range"),
        content_range_header=req.headers.get("Content-Range"), prefer=prefer,
        use_cache=bool(req.environ.get(CACHE_FILTER_KEY)))
    if result.status == 204 or result.body is None:
        return no_content()
    response = webob.Response(status=result.status, charset=None)
    response.content_type = OCTET_STREAM
    body = result.body
    file_wrapper = req.environ.get("wsgi.file_wrapper")
    if isinstance(body, FileBody) and file_wrapper is not None:
        # The file is positioned at the first byte; with Content-Length set gunicorn
        # sends exactly that many bytes from there with sendfile(2).
        response.app_iter = file_wrapper(body.file, SENDFILE_BLOCK)
    else:
        response.app_iter = body.iter_chunks()
    # Setting app_iter clears these, so they come after it.
    if result.length is not None:
        response.content_length = result.length
    if result.checksum:
        response.headers["Content-MD5"] = result.checksum
    if result.span is not None:
        response.headers["Content-Range"] = result.span.content_range
    return response


def delete_from_store(req: ApiRequest) -> webob.Response:
    req.deps.data.delete_from_store(req.context, req.urlvars["store_id"],
                                    req.urlvars["image_id"])
    return no_content()
