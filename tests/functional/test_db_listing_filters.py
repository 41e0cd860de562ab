"""Every list filter of spec §3.2 selects exactly the matching images (SQLite and MariaDB).

Read-only tests over three images that differ in every filterable attribute.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from glance_svc import errors
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.domain.image import Image
from glance_svc.domain.query import DateFilter, ImageQuery
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo

A, B, C = "project-a", "project-b", "project-c"
T0 = dt.datetime(2026, 3, 1, 12, 0, 0)


def _at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@pytest.fixture(scope="module")
def three(module_repo: SqlImageRepository) -> SqlImageRepository:
    repo = dbfix.empty(module_repo)
    repo.create(Image(
        name="one", owner=A, status="active", container_format="bare", disk_format="raw",
        size=10, checksum="1" * 32, os_hash_value="a" * 128, protected=True, min_ram=512,
        created_at=_at(0), updated_at=_at(0), tags={"x", "y"},
        properties={"os_distro": "debian"}))
    repo.create(Image(
        name="two", owner=B, status="queued", container_format="ovf", disk_format="qcow2",
        size=20, checksum="2" * 32, os_hash_value="b" * 128, created_at=_at(1),
        updated_at=_at(1), tags={"x"}, properties={"os_distro": "ubuntu"}))
    repo.create(Image(
        name="three,with comma", owner=C, status="deactivated", container_format="bare",
        disk_format="iso", size=None, created_at=_at(2), updated_at=_at(2)))
    return repo


def names(repo: SqlImageRepository, **query: Any) -> set[str]:
    return {i.name or "" for i in repo.list(ImageQuery(is_admin=True, limit=100, **query))}


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param({"columns": {"name": ["one"]}}, {"one"}, id="name"),
    pytest.param({"columns": {"name": ["one", "three,with comma"]}},
                 {"one", "three,with comma"}, id="name-in"),
    pytest.param({"columns": {"name": ["ONE"]}}, set(), id="name-is-case-sensitive"),
    pytest.param({"columns": {"id": []}}, set(), id="empty-in-list-matches-nothing"),
    pytest.param({"columns": {"status": ["queued", "deactivated"]}},
                 {"two", "three,with comma"}, id="status-in"),
    pytest.param({"columns": {"container_format": ["bare"]}}, {"one", "three,with comma"},
                 id="container-format"),
    pytest.param({"columns": {"disk_format": ["qcow2"]}}, {"two"}, id="disk-format"),
    pytest.param({"columns": {"checksum": ["2" * 32]}}, {"two"}, id="checksum"),
    pytest.param({"columns": {"os_hash_value": ["a" * 128]}}, {"one"}, id="os-hash-value"),
    pytest.param({"owner": B}, {"two"}, id="owner"),
    pytest.param({"tags": ["x"]}, {"one", "two"}, id="one-tag"),
    pytest.param({"tags": ["x", "y"]}, {"one"}, id="all-tags-required"),
    pytest.param({"size_min": 10, "size_max": 19}, {"one"}, id="size-range-inclusive"),
    pytest.param({"size_min": 20}, {"two"}, id="size-min-excludes-unknown-size"),
    pytest.param({"protected": True}, {"one"}, id="protected-true"),
    pytest.param({"protected": False}, {"two", "three,with comma"}, id="protected-false"),
    pytest.param({"properties": {"os_distro": "ubuntu"}}, {"two"}, id="custom-property"),
    pytest.param({"properties": {"os_distro": "arch"}}, set(), id="custom-property-no-match"),
    pytest.param({"properties": {"min_ram": "512"}}, {"one"}, id="column-given-as-property"),
    pytest.param({"columns": {"os_distro": ["debian", "ubuntu"]}}, {"one", "two"},
                 id="property-given-as-column"),
    pytest.param({"created_at": [DateFilter("gt", _at(0))]}, {"two", "three,with comma"},
                 id="created-gt"),
    pytest.param({"created_at": [DateFilter("gte", _at(1))]}, {"two", "three,with comma"},
                 id="created-gte"),
    pytest.param({"created_at": [DateFilter("lt", _at(1))]}, {"one"}, id="created-lt"),
    pytest.param({"created_at": [DateFilter("lte", _at(1))]}, {"one", "two"},
                 id="created-lte"),
    pytest.param({"created_at": [DateFilter("eq", _at(1))]}, {"two"}, id="created-eq"),
    pytest.param({"created_at": [DateFilter("neq", _at(1))]}, {"one", "three,with comma"},
                 id="created-neq"),
    pytest.param({"created_at": [DateFilter("gte", _at(1)), DateFilter("lt", _at(2))]},
                 {"two"}, id="created-range"),
    pytest.param({"updated_at": [DateFilter("gt", _at(1))]}, {"three,with comma"},
                 id="updated-gt"),
    pytest.param({"created_at": [DateFilter("eq", _at(1).replace(tzinfo=dt.UTC).astimezone(
        dt.timezone(dt.timedelta(hours=2))))]}, {"two"}, id="aware-time-compared-in-utc"),
])
def test_each_filter_selects_exactly_the_matching_images(three: SqlImageRepository,
                                                         query: dict[str, Any],
                                                         expected: set[str]) -> None:
    assert names(three, **query) == expected


@pytest.mark.parametrize("query", [
    pytest.param({"properties": {"min_ram": "lots"}}, id="integer-column"),
    pytest.param({"columns": {"protected": ["maybe"]}}, id="boolean-column"),
    pytest.param({"columns": {"created_at": ["2026-01-01"]}}, id="time-column-without-op"),
    pytest.param({"created_at": [DateFilter("after", T0)]}, id="unknown-time-operator"),
    pytest.param({"sort_keys": ["owner"]}, id="unsortable-key"),
    pytest.param({"sort_dirs": ["up"]}, id="unknown-direction"),
    pytest.param({"sort_keys": ["name", "size", "id"], "sort_dirs": ["asc", "desc"]},
                 id="direction-count-mismatch"),
])
def test_a_malformed_query_is_bad_request(three: SqlImageRepository,
                                          query: dict[str, Any]) -> None:
    with pytest.raises(errors.BadRequest):
        three.list(ImageQuery(is_admin=True, **query))
