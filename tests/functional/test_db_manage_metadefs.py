"""``glance-manage db load_metadefs`` (its merge modes), ``unload_metadefs`` and
``export_metadefs`` on the tables the API serves.

The database is prepared in-process (schema, packaged catalog); only the command under
test runs as the real ``glance-manage``. Named ``test_db_*`` so the registry pass of the
suite, which repeats only the API tests, skips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from glance_svc.db import migrations
from glance_svc.db.sqlalchemy import metadefs
from glance_svc.db.sqlalchemy.metadef_catalog import SqlMetadefRepository
from glance_svc.domain.metadef_repository import full_namespace
from tests.fixtures.service import run_manage, write_ini

PACKAGED = ["OS::Compute::CPUPinning", "OS::Compute::Hypervisor", "OS::Compute::Watchdog"]


def catalog_db(url: str) -> SqlMetadefRepository:
    """A migrated database at ``url`` with the packaged catalog loaded."""
    engine = sa.create_engine(url)
    migrations.upgrade(engine, "heads")
    repo = SqlMetadefRepository(engine)
    metadefs.load_metadefs(repo)
    return repo


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[SqlMetadefRepository, Path]]:
    """The repository of a loaded SQLite database and a glance-manage.conf naming it."""
    url = f"sqlite:///{tmp_path / 'glance.sqlite'}"
    repo = catalog_db(url)
    conf = tmp_path / "glance-manage.conf"
    write_ini(conf, {"database": {"connection": url}})
    yield repo, conf
    repo.engine.dispose()


def documents(repo: SqlMetadefRepository) -> list[dict[str, object]]:
    return [metadefs.export_document(full_namespace(repo, ns["namespace"]))
            for ns in repo.list_namespaces()]


def test_unload_removes_every_namespace(loaded: tuple[SqlMetadefRepository, Path]) -> None:
    repo, conf = loaded
    result = run_manage(conf, "db", "unload_metadefs")
    assert (result.returncode, result.stdout, repo.list_namespaces()) == (
        0, "".join(f"Removed namespace {name}.\n" for name in PACKAGED), [])


def test_export_writes_files_that_load_back_the_same_catalog(
        loaded: tuple[SqlMetadefRepository, Path], tmp_path: Path) -> None:
    repo, conf = loaded
    out = tmp_path / "exported"
    result = run_manage(conf, "db", "export_metadefs", "--path", str(out))
    files = sorted(out.glob("*.json"))
    copy = SqlMetadefRepository(sa.create_engine(f"sqlite:///{tmp_path / 'copy.sqlite'}"))
    migrations.upgrade(copy.engine, "heads")
    metadefs.load_metadefs(copy, out)
    assert (result.returncode, [f.name for f in files]) == (
        0, ["OS-Compute-CPUPinning.json", "OS-Compute-Hypervisor.json",
            "OS-Compute-Watchdog.json"])
    assert documents(copy) == documents(repo)
    copy.engine.dispose()


WATCHDOG = "OS::Compute::Watchdog"


def tags_of(repo: SqlMetadefRepository, namespace: str) -> list[str]:
    return [tag["name"] for tag in repo.list_items(namespace, "tags")]


def test_load_with_merge_adds_what_the_database_lacks(
        loaded: tuple[SqlMetadefRepository, Path]) -> None:
    repo, conf = loaded
    repo.delete_items(WATCHDOG, "tags")
    result = run_manage(conf, "db", "load_metadefs", "--merge")
    assert (result.returncode, result.stdout, tags_of(repo, WATCHDOG)) == (
        0, "".join(f"Merged namespace {name}.\n" for name in PACKAGED), ["watchdog"])


def test_load_with_merge_keeps_what_an_operator_changed(
        loaded: tuple[SqlMetadefRepository, Path]) -> None:
    repo, _ = loaded
    changed = {"name": "hw_watchdog_action", "title": "Mine", "type": "string"}
    repo.update_item(WATCHDOG, "properties", "hw_watchdog_action", changed)
    metadefs.load_metadefs(repo, mode=metadefs.LoadMode(merge=True))
    assert repo.get_item(WATCHDOG, "properties", "hw_watchdog_action") == changed


def test_load_with_prefer_new_restores_the_file_values(
        loaded: tuple[SqlMetadefRepository, Path]) -> None:
    repo, _ = loaded
    repo.update_item(WATCHDOG, "properties", "hw_watchdog_action",
                     {"name": "hw_watchdog_action", "title": "Mine", "type": "string"})
    metadefs.load_metadefs(repo, mode=metadefs.LoadMode(merge=True, prefer_new=True))
    assert repo.get_item(WATCHDOG, "properties", "hw_watchdog_action")["title"] == (
        "Watchdog action")


def test_load_with_overwrite_drops_items_the_file_lacks(
        loaded: tuple[SqlMetadefRepository, Path]) -> None:
    repo, _ = loaded
    repo.create_items(WATCHDOG, "tags", [{"name": "extra"}])
    metadefs.load_metadefs(repo, mode=metadefs.LoadMode(merge=True, overwrite=True))
    assert tags_of(repo, WATCHDOG) == ["watchdog"]


def test_load_refuses_prefer_new_without_merge(
        loaded: tuple[SqlMetadefRepository, Path]) -> None:
    _, conf = loaded
    result = run_manage(conf, "db", "load_metadefs", "--prefer_new")
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", "glance-manage: --prefer_new and --overwrite only go with --merge\n")
