"""Range and legacy Content-Range parsing for downloads (spec §3.6)."""

from __future__ import annotations

import pytest

from glance_svc import errors
from glance_svc.store.ranges import ByteSpan, requested_span


def test_no_range_is_the_whole_image():
    assert requested_span(None, None, 10) is None


@pytest.mark.parametrize(("header", "span"), [
    ("bytes=0-4", ByteSpan(0, 5, 10)),
    ("bytes=2-", ByteSpan(2, 8, 10)),
    ("bytes=-3", ByteSpan(7, 3, 10)),
    ("bytes=5-100", ByteSpan(5, 5, 10)),
    ("bytes=9-9", ByteSpan(9, 1, 10)),
    ("bytes=-20", ByteSpan(0, 10, 10)),
])
def test_single_ranges(header, span):
    assert requested_span(header, None, 10) == span


def test_content_range_header_text():
    assert ByteSpan(2, 3, 10).content_range == "bytes 2-4/10"


def test_multiple_ranges_are_400():
    with pytest.raises(errors.BadRequest):
        requested_span("bytes=0-1,3-4", None, 10)


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=12-15", "bytes=5-2", "pages=1-2",
                                    "bytes=x-y"])
def test_unsatisfiable_or_unparsable_is_416(header):
    with pytest.raises(errors.RangeNotSatisfiable):
        requested_span(header, None, 10)


def test_any_range_of_an_empty_image_is_416():
    with pytest.raises(errors.RangeNotSatisfiable):
        requested_span("bytes=0-", None, 0)


def test_legacy_content_range_is_honoured():
    assert requested_span(None, "bytes 1-4/10", 10) == ByteSpan(1, 4, 10)
    assert requested_span(None, "bytes 1-4/*", 10) == ByteSpan(1, 4, 10)


@pytest.mark.parametrize("header", ["bytes 1-40/*", "bytes 10-11/12", "nonsense"])
def test_bad_legacy_content_range_is_416(header):
    with pytest.raises(errors.RangeNotSatisfiable):
        requested_span(None, header, 10)


def test_range_wins_over_content_range():
    assert requested_span("bytes=0-0", "bytes 1-4/10", 10) == ByteSpan(0, 1, 10)
