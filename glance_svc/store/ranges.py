"""Partial downloads: which bytes a ``Range`` (or legacy ``Content-Range``) asks for.

Glance semantics (spec §3.6), kept exactly because clients resume downloads with them:
``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` give 206; a list of ranges is 400; an
unparsable range or a start at or past the end is 416; a suffix longer than the image
gives the whole image (still 206). A request ``Content-Range: bytes a-b/total`` is
honoured the same way for old clients.

Glance answers 500 where WebOb's parser trips on a value (``bytes=--1``, ``bytes=-``:
no digits after the dash) or accepts a span with no bytes (``Content-Range: bytes
*/1000``). Those are as unparsable as any other bad range, so they get the same 416 as
the rest. RFC 9110 would also allow ignoring an invalid ``Range`` (a 200 with the whole
image), but Glance refuses every other range it cannot parse, and one rule for all of
them is what clients resuming downloads can rely on.
"""

from __future__ import annotations

import dataclasses

import webob.byterange

from glance_svc import errors


@dataclasses.dataclass(frozen=True)
class ByteSpan:
    """``length`` bytes from ``offset`` of an image of ``total`` bytes."""

    offset: int
    length: int
    total: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.offset}-{self.offset + self.length - 1}/{self.total}"


def requested_span(range_header: str | None, content_range_header: str | None,
                   size: int) -> ByteSpan | None:
    """The span to send, or None for the whole image (a plain 200)."""
    if range_header is not None:
        return _from_range(range_header, size)
    if content_range_header is not None:
        return _from_content_range(content_range_header, size)
    return None


def _from_range(value: str, size: int) -> ByteSpan:
    if "," in value:
        raise errors.BadRequest(
            "Requests with multiple ranges are not supported in Glance. You may make "
            "multiple single-range requests instead.")
    try:
        parsed = webob.byterange.Range.parse(value)
    except ValueError:  # "bytes=--1": WebOb calls int("")
        parsed = None
    if parsed is None:
        raise errors.RangeNotSatisfiable("Invalid Range header.")
    start, end = parsed.start, parsed.end  # end is exclusive, None for "to the end"
    if start >= size:
        raise errors.RangeNotSatisfiable(
            "Invalid start position in Range header. Start position MUST be in the "
            f"inclusive range [0, {size - 1}].")
    if start < 0:  # suffix: the last -start bytes
        start = size + start if -start < size else 0
    stop = size if end is None or end > size else end
    return ByteSpan(start, stop - start, size)


def _from_content_range(value: str, size: int) -> ByteSpan:
    parsed = webob.byterange.ContentRange.parse(value)
    if parsed is None or parsed.start is None:  # "bytes */1000" names no bytes
        raise errors.RangeNotSatisfiable("Invalid Content-Range header.")
    if parsed.length is None and parsed.stop > size:
        raise errors.RangeNotSatisfiable(
            "Invalid stop position in Content-Range header. The stop position MUST be in "
            f"the inclusive range [0, {size - 1}].")
    if parsed.start >= size:
        raise errors.RangeNotSatisfiable(
            "Invalid start position in Content-Range header. Start position MUST be in the "
            f"inclusive range [0, {size - 1}].")
    stop = min(parsed.stop, size)
    return ByteSpan(parsed.start, stop - parsed.start, size)
