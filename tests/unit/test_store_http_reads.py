"""Reads from a store other than file, through glance_store's real http driver.

The driver ignores the offset and length it is given and sends the object from its first
byte, so the gateway cuts ranges itself; and it keeps a connection open until its
iterator is closed, so closing the body must close it.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator

import pytest

from glance_svc.domain.image import Location
from glance_svc.store import backends
from glance_svc.store.bodies import IterBody, byte_span
from tests.fixtures.origin import Origin, serving
from tests.unit.test_store_backends import single  # noqa: F401 - a fixture

MIB = 1024 * 1024
# Several chunks, and not a multiple of them.
DATA = os.urandom(9 * MIB + 123)


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    yield from serving(Origin(DATA))


@pytest.fixture
def gateway(request: pytest.FixtureRequest) -> backends.StoreGateway:
    """test_store_backends' single-store gateway, whose default stores are file and
    http."""
    return request.getfixturevalue("single")


def read(body: IterBody) -> bytes:
    return b"".join(body.iter_chunks())


def test_whole_object_streams_in_four_mib_chunks(gateway, origin):
    body = gateway.open(Location(url=origin.url))
    assert isinstance(body, IterBody)
    assert body.length == len(DATA)
    sizes = [len(chunk) for chunk in body.iter_chunks()]
    assert sizes == [4 * MIB, 4 * MIB, MIB + 123]


def test_the_driver_iterator_is_streamed_without_its_indexable(gateway, origin):
    body = gateway.open(Location(url=origin.url))
    assert inspect.isgenerator(body.chunks)  # the http driver's, not an Indexable
    body.close()


@pytest.mark.parametrize(("offset", "length"), [
    (0, 100),
    (100, 1000),
    (4 * MIB - 10, 20),           # across a chunk boundary
    (5 * MIB + 7, None),          # from inside a chunk to the end
    (len(DATA) - 1, 1),           # the last byte
    (9 * MIB, 123),               # exactly the last chunk
])
def test_a_range_is_cut_from_the_objects_bytes(gateway, origin, offset, length):
    body = gateway.open(Location(url=origin.url), offset, length)
    end = len(DATA) if length is None else offset + length
    assert body.length == end - offset
    assert read(body) == DATA[offset:end]


def test_closing_a_body_closes_the_store_connection(gateway, origin):
    body = gateway.open(Location(url=origin.url))
    chunks = body.iter_chunks()
    next(chunks)
    driver_iterator = body.chunks
    assert inspect.getgeneratorstate(driver_iterator) == inspect.GEN_SUSPENDED
    chunks.close()  # what the server does when the client hangs up
    assert inspect.getgeneratorstate(driver_iterator) == inspect.GEN_CLOSED


def test_a_range_stops_reading_the_store_at_its_end(gateway, origin):
    body = gateway.open(Location(url=origin.url), 0, 10)
    source = inspect.getgeneratorlocals(body.chunks)["chunks"]  # type: ignore[arg-type]
    assert read(body) == DATA[:10]
    assert inspect.getgeneratorstate(source) == inspect.GEN_CLOSED


def test_byte_span_passes_inner_chunks_on_uncopied():
    chunks = [b"a" * 10, b"b" * 10, b"c" * 10]
    out = list(byte_span(iter(chunks), 5, 20))
    assert out == [b"a" * 5, b"b" * 10, b"c" * 5]
    assert out[1] is chunks[1]


def test_byte_span_of_nothing_reads_nothing():
    assert list(byte_span(iter([b"abc"]), 1, 0)) == []
