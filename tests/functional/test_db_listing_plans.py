"""Every image-list query is answered from an index, so a page costs the same at any size.

A page of 100 out of 100,000 images must be as quick as out of 1,000 (issue 11). That
holds only if the database neither reads a whole table nor sorts the matches itself, but
walks an index in the requested order and stops after the page. These tests fill a
catalogue large enough that the planner prefers an index when one fits, capture the SQL
the repository's ``list`` really sends, and read its plan: on MariaDB ``EXPLAIN`` must
show no ``type: ALL`` and no ``Using filesort``; on SQLite ``EXPLAIN QUERY PLAN`` no
plain ``SCAN`` of a table and no ``TEMP B-TREE`` for the order.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.models import image_members, image_properties, image_tags, images
from glance_svc.domain.query import SORT_KEYS, ImageQuery
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo

CATALOGUE = 4000
PROJECT = "project-07"
T0 = dt.datetime(2026, 1, 1)
# Tables whose full scan would make a page's cost grow with the catalogue.
LISTED_TABLES = {"images", "image_properties", "image_tags", "image_members"}
# SQLite's plain full-table read ("SCAN images"; "SCAN images USING INDEX" walks an index).
TABLE_SCAN = re.compile(rf"SCAN ({'|'.join(sorted(LISTED_TABLES))})$")


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
    """``CATALOGUE`` images with a tag and a property each, inserted in bulk, analysed.

    Shared images have three members each: with an empty ``image_members`` the planners
    pick its ``deleted`` index for the membership test, which real data would not.
    """
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
        conn.execute(sa.insert(image_members), [
            {"image_id": row["id"], "member": f"project-{(n + k) % 40:02d}",
             "status": ("accepted", "pending")[k % 2], "created_at": T0}
            for n, row in enumerate(rows) if row["visibility"] == "shared"
            for k in range(1, 4)])
        if repo.engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE images, image_tags, image_properties, "
                                 "image_members")
        else:
            conn.exec_driver_sql("ANALYZE")
    yield repo
    dbfix.empty(repo)


def _page_sql(repo: SqlImageRepository, query: ImageQuery) -> tuple[str, Any]:
    """The statement and parameters of the page query ``repo.list(query)`` sends."""
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
    return sent[0]  # the page; the SELECTs after it load the page's tags and properties


def _unindexed_steps(repo: SqlImageRepository, query: ImageQuery) -> list[Any]:
    """The steps of the page query's plan that read a listed table in full or sort."""
    statement, parameters = _page_sql(repo, query)
    with repo.engine.connect() as conn:
        if repo.engine.dialect.name == "mysql":
            plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).mappings().all()
            return [(step["table"], step["type"], step["key"], step["Extra"]) for step in plan
                    if (step["table"] in LISTED_TABLES and step["type"] == "ALL")
                    or "filesort" in (step["Extra"] or "")]
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return [step.detail for step in plan
                if TABLE_SCAN.match(step.detail) or "TEMP B-TREE" in step.detail]


def _query(**kwargs: Any) -> ImageQuery:
    return ImageQuery(project_id=PROJECT, limit=100, **kwargs)


def test_unfiltered_list_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query()) == []


def test_admin_list_reads_an_index(catalogue: SqlImageRepository) -> None:
    admin = ImageQuery(project_id=PROJECT, is_admin=True, limit=100)
    assert _unindexed_steps(catalogue, admin) == []


def test_status_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query(columns={"status": ["queued"]})) == []


def test_visibility_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query(visibility="public")) == []


def test_tag_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query(tags=["tag-3"])) == []


def test_owner_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query(owner="project-11")) == []


def test_custom_property_filter_reads_an_index(catalogue: SqlImageRepository) -> None:
    assert _unindexed_steps(catalogue, _query(properties={"os_distro": "distro-4"})) == []


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("key", SORT_KEYS)
def test_sorted_page_after_a_marker_reads_an_index(
        catalogue: SqlImageRepository, key: str, direction: str) -> None:
    marker = str(uuid.UUID(int=CATALOGUE // 2 + 1))
    query = _query(sort_keys=[key], sort_dirs=[direction], marker=marker)
    assert _unindexed_steps(catalogue, query) == []
