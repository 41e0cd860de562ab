"""Every image-list query is answered from an index, so a page costs the same at any size.

A page of 100 out of 100,000 images must be as quick as out of 1,000 (issue 11). That
holds only if MariaDB neither reads a whole table (``type: ALL``) nor sorts the matches
itself (``Using filesort``) but walks an index in the requested order and stops after the
page. These tests fill a catalogue large enough that the optimizer prefers an index when
one fits, capture the SQL the repository's ``list`` really sends, and read its ``EXPLAIN``.

Only MariaDB is asserted: SQLite's planner ignores statistics it has not been given
(``ANALYZE``) and its plans say little about the production database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.models import image_properties, image_tags, images
from glance_svc.domain.query import SORT_KEYS, ImageQuery
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo

CATALOGUE = 4000
PROJECT = "project-07"
T0 = dt.datetime(2026, 1, 1)
# Tables whose full scan would make a page's cost grow with the catalogue.
LISTED_TABLES = {"images", "image_properties", "image_tags", "image_members"}


def _image_row(n: int) -> dict[str, Any]:
    return {
        "id": str(uuid.UUID(int=n)),
        "name": f"image-{n % 500:03d}",
        "size": n * 1024 if n % 7 else None,
        "status": ("active", "queued", "killed", "deleted")[n % 17 % 4],
        "disk_format": ("raw", "qcow2", "vmdk")[n % 3],
        "container_format": ("bare", "ovf")[n % 2],
        "owner": f"project-{n % 40:02d}",
        "visibility": ("private", "public", "shared", "community")[n % 4],
        "deleted": n % 50 == 0,
        "created_at": T0 + dt.timedelta(seconds=n // 3),
        "updated_at": T0 + dt.timedelta(seconds=n % 977),
    }


@pytest.fixture(scope="module")
def catalogue(module_repo: SqlImageRepository) -> Iterator[SqlImageRepository]:
    """``CATALOGUE`` images with a tag and a property each, inserted in bulk, analysed."""
    if module_repo.engine.dialect.name != "mysql":
        pytest.skip("query plans are asserted on MariaDB")
    repo = dbfix.empty(module_repo)
    rows = [_image_row(n) for n in range(CATALOGUE)]
    with repo.engine.begin() as conn:
        conn.execute(sa.insert(images), rows)
        conn.execute(sa.insert(image_tags), [
            {"image_id": row["id"], "value": f"tag-{n % 20}", "created_at": T0}
            for n, row in enumerate(rows)])
        conn.execute(sa.insert(image_properties), [
            {"image_id": row["id"], "name": "os_distro", "value": f"distro-{n % 10}",
             "created_at": T0}
            for n, row in enumerate(rows)])
        conn.exec_driver_sql("ANALYZE TABLE images, image_tags, image_properties, "
                             "image_members")
    yield repo
    dbfix.empty(repo)


def _plan(repo: SqlImageRepository, query: ImageQuery) -> list[dict[str, Any]]:
    """``EXPLAIN`` of the page query ``repo.list(query)`` sends (the last SELECT)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "ORDER BY" in statement:
            sent.append((statement, parameters))

    sa.event.listen(repo.engine, "before_cursor_execute", capture)
    try:
        repo.list(query)
    finally:
        sa.event.remove(repo.engine, "before_cursor_execute", capture)
    statement, parameters = sent[0]
    with repo.engine.connect() as conn:
        result = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return [dict(row._mapping) for row in result]


def _assert_indexed(plan: list[dict[str, Any]]) -> None:
    """No listed table read in full, and the page order read from an index."""
    scans = [step for step in plan
             if step["table"] in LISTED_TABLES and step["type"] == "ALL"]
    sorts = [step for step in plan if "filesort" in (step["Extra"] or "")]
    assert (scans, sorts) == ([], []), [
        (step["table"], step["type"], step["key"], step["Extra"]) for step in plan]


def _query(**kwargs: Any) -> ImageQuery:
    return ImageQuery(project_id=PROJECT, limit=100, **kwargs)


def test_unfiltered_list_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query()))


def test_admin_list_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, ImageQuery(project_id=PROJECT, is_admin=True,
                                                limit=100)))


def test_status_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query(columns={"status": ["queued"]})))


def test_visibility_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query(visibility="public")))


def test_tag_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query(tags=["tag-3"])))


def test_owner_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query(owner="project-11")))


def test_custom_property_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    _assert_indexed(_plan(catalogue, _query(properties={"os_distro": "distro-4"})))


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("key", SORT_KEYS)
def test_sorted_page_after_a_marker_reads_an_index(
        catalogue: SqlImageRepository, key: str, direction: str) -> None:
    marker = str(uuid.UUID(int=CATALOGUE // 2 + 1))
    _assert_indexed(_plan(catalogue, _query(sort_keys=[key], sort_dirs=[direction],
                                            marker=marker)))
