"""glance-manage as an operator runs it: a real process, real config files, real databases."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from glance_svc.db import migrations
from glance_svc.db.sqlalchemy import api as sql_api
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.models import Base
from glance_svc.domain.image import Image, Location, Member
from tests.fixtures import mariadb as dbfix

GLANCE_MANAGE = str(Path(sys.executable).parent / "glance-manage")
HEAD = "0003_image_cache"
SYNCED = "Database is synced successfully.\n"
UP_TO_DATE = "Database is up to date. No migrations needed.\n"


@pytest.fixture(params=dbfix.BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'glance.sqlite'}"
        return
    server: dbfix.MariaDBServer = request.getfixturevalue("mariadb_server")
    name = f"glance_manage_{uuid.uuid4().hex[:12]}"
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """Stands in for /etc/glance (OS_GLANCE_CONFIG_DIR), empty until a test writes to it."""
    directory = tmp_path / "etc-glance"
    directory.mkdir()
    return directory


def write_conf(path: Path, url: str, **database: str) -> Path:
    lines = ["[database]", f"connection = {url}", *(f"{k} = {v}" for k, v in database.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def manage(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OS_GLANCE_CONFIG_DIR": str(config_dir)}
    return subprocess.run([GLANCE_MANAGE, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def is_migrated(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return migrations.current_revision(engine) == HEAD
    finally:
        engine.dispose()


# --- sync and version -----------------------------------------------------------------
def test_db_sync_migrates_then_reports_nothing_to_do(config_dir: Path, empty_url: str) -> None:
    write_conf(config_dir / "glance-manage.conf", empty_url)

    first = manage(config_dir, "db_sync")
    second = manage(config_dir, "db", "sync")

    assert (first.returncode, first.stdout) == (0, SYNCED)
    assert (second.returncode, second.stdout) == (0, UP_TO_DATE)
    assert is_migrated(empty_url)


def test_db_version_prints_the_revision_of_the_database(config_dir: Path,
                                                        empty_url: str) -> None:
    write_conf(config_dir / "glance-manage.conf", empty_url)
    manage(config_dir, "db", "sync")

    for args in (["db", "version"], ["db_version"]):
        result = manage(config_dir, *args)
        assert (result.returncode, result.stdout) == (0, f"{HEAD}\n")


def test_db_version_of_an_empty_database_says_to_sync(config_dir: Path, tmp_path: Path) -> None:
    write_conf(config_dir / "glance-manage.conf", f"sqlite:///{tmp_path / 'empty.sqlite'}")

    result = manage(config_dir, "db", "version")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("glance-manage: the database is not under migration control; "
                             "run 'glance-manage db sync' to create the schema\n")


def test_db_sync_to_an_unknown_revision_fails(config_dir: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    write_conf(config_dir / "glance-manage.conf", url)

    result = manage(config_dir, "db", "sync", "--version", "nope")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "glance-manage: Can't locate revision identified by 'nope'\n"
    assert not is_migrated(url)


def test_tables_made_outside_alembic_need_version_control_first(config_dir: Path,
                                                                tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    write_conf(config_dir / "glance-manage.conf", url)

    refused = manage(config_dir, "db", "sync")
    stamped = manage(config_dir, "db", "version_control")
    synced = manage(config_dir, "db", "sync")

    assert (refused.returncode, refused.stdout) == (1, "")
    assert "glance-manage db version_control" in refused.stderr
    assert (stamped.returncode, stamped.stdout) == (0, f"Database is now at revision {HEAD}.\n")
    assert (synced.returncode, synced.stdout) == (0, UP_TO_DATE)


# --- which config is read ---------------------------------------------------------------
@pytest.mark.parametrize(("present", "winner"), [
    (("glance-registry.conf", "glance-api.conf", "glance-manage.conf"), "glance-manage.conf"),
    (("glance-registry.conf", "glance-api.conf"), "glance-api.conf"),
    (("glance-registry.conf",), "glance-registry.conf"),
    (("glance-api.conf", "glance-manage.conf"), "glance-manage.conf"),
])
def test_the_last_of_registry_api_manage_conf_decides(config_dir: Path, tmp_path: Path,
                                                      present: tuple[str, ...],
                                                      winner: str) -> None:
    urls = {name: f"sqlite:///{tmp_path / (name + '.sqlite')}" for name in present}
    for name, url in urls.items():
        write_conf(config_dir / name, url)

    result = manage(config_dir, "db_sync")

    assert (result.returncode, result.stdout) == (0, SYNCED)
    assert {name: is_migrated(url) for name, url in urls.items()} == {
        name: name == winner for name in present}


def test_options_missing_from_a_later_file_come_from_an_earlier_one(config_dir: Path,
                                                                    tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'api.sqlite'}"
    write_conf(config_dir / "glance-api.conf", url)
    (config_dir / "glance-manage.conf").write_text("[DEFAULT]\ndebug = False\n")

    result = manage(config_dir, "db_sync")

    assert (result.returncode, result.stdout) == (0, SYNCED)
    assert is_migrated(url)


def test_config_file_on_the_command_line_replaces_the_search(config_dir: Path,
                                                             tmp_path: Path) -> None:
    searched = f"sqlite:///{tmp_path / 'searched.sqlite'}"
    named = f"sqlite:///{tmp_path / 'named.sqlite'}"
    write_conf(config_dir / "glance-manage.conf", searched)
    explicit = write_conf(tmp_path / "other.conf", named)

    result = manage(config_dir, "--config-file", str(explicit), "db", "sync")

    assert (result.returncode, result.stdout) == (0, SYNCED)
    assert (is_migrated(named), is_migrated(searched)) == (True, False)


def test_without_a_database_connection_it_says_where_it_looked(config_dir: Path) -> None:
    result = manage(config_dir, "db", "sync")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "glance-manage: no database to manage: set [database] connection (no config file "
        "found: looked for glance-registry.conf, glance-api.conf, glance-manage.conf in "
        f"{config_dir}; or pass --config-file)\n")


def test_an_unreachable_database_is_one_line_without_the_password(config_dir: Path) -> None:
    url = f"mysql+pymysql://glance:s3cret@127.0.0.1:{dbfix._free_port()}/glance"
    write_conf(config_dir / "glance-manage.conf", url, max_retries="1", retry_interval="1")

    result = manage(config_dir, "db", "sync")

    assert (result.returncode, result.stdout) == (1, "")
    errors = [line for line in result.stderr.splitlines() if line.startswith("glance-manage:")]
    assert len(errors) == 1
    assert errors[0].startswith("glance-manage: cannot connect to "
                                "mysql+pymysql://glance:***@127.0.0.1:")
    assert "Can't connect to MySQL server" in errors[0]
    assert "s3cret" not in result.stderr


# --- purge and metadefs ---------------------------------------------------------------
@pytest.fixture
def old_deletions(config_dir: Path, empty_url: str, monkeypatch: pytest.MonkeyPatch
                  ) -> SqlImageRepository:
    """A synced database with one image deleted 200 days ago and one deleted just now,
    each with a property, a tag, a location and a member."""
    write_conf(config_dir / "glance-manage.conf", empty_url)
    assert manage(config_dir, "db", "sync").returncode == 0
    repo = SqlImageRepository.from_conf(dbfix.db_conf(empty_url))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    for when in (now - dt.timedelta(days=200), now):
        monkeypatch.setattr(sql_api, "utcnow", lambda when=when: when)
        image = repo.create(Image(owner="p", properties={"k": "v"}, tags={"t"},
                                  locations=[Location("file:///x")]))
        repo.add_member(Member(image.id, "q"))
        repo.mark_deleted(image, status="deleted")
    monkeypatch.undo()
    yield repo
    repo.close()


def test_db_purge_removes_old_child_rows_and_reports_each_table(
        config_dir: Path, old_deletions: SqlImageRepository) -> None:
    result = manage(config_dir, "db", "purge", "--age_in_days", "30", "--max_rows", "-1")

    assert (result.returncode, result.stdout) == (0, (
        "image_properties: 1 rows purged\n"
        "image_locations: 1 rows purged\n"
        "image_members: 1 rows purged\n"
        "image_tags: 1 rows purged\n"
        "task_info: 0 rows purged\n"
        "tasks: 0 rows purged\n"))


def test_db_purge_images_table_removes_images_once_their_rows_are_gone(
        config_dir: Path, old_deletions: SqlImageRepository) -> None:
    before = manage(config_dir, "db", "purge_images_table")
    manage(config_dir, "db", "purge", "--max_rows", "-1")
    after = manage(config_dir, "db", "purge_images_table", "--age_in_days", "180")

    assert (before.returncode, before.stdout) == (0, "images: 0 rows purged\n")
    assert (after.returncode, after.stdout) == (0, "images: 1 rows purged\n")


def test_db_purge_refuses_a_negative_age(config_dir: Path, tmp_path: Path) -> None:
    write_conf(config_dir / "glance-manage.conf", f"sqlite:///{tmp_path / 'g.sqlite'}")
    manage(config_dir, "db", "sync")

    result = manage(config_dir, "db", "purge", "--age_in_days", "-1")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "glance-manage: age_in_days must be 0 or more.\n"


def test_db_load_metadefs_loads_the_packaged_catalog_once(config_dir: Path,
                                                          empty_url: str) -> None:
    write_conf(config_dir / "glance-manage.conf", empty_url)
    manage(config_dir, "db", "sync")
    namespaces = ["OS::Compute::CPUPinning", "OS::Compute::Hypervisor",
                  "OS::Compute::Watchdog"]

    first = manage(config_dir, "db", "load_metadefs")
    second = manage(config_dir, "db_load_metadefs")

    assert (first.returncode, first.stdout) == (
        0, "".join(f"Loaded namespace {n}.\n" for n in namespaces))
    assert (second.returncode, second.stdout) == (
        0, "".join(f"Skipped namespace {n}: it is already in the database.\n"
                   for n in namespaces))
    engine = sa.create_engine(empty_url)
    with engine.connect() as conn:
        counts = [conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in (
            "metadef_namespaces", "metadef_properties", "metadef_tags",
            "metadef_resource_types", "metadef_namespace_resource_types")]
    engine.dispose()
    assert counts == [3, 5, 1, 3, 7]


def test_db_load_metadefs_names_a_broken_file(config_dir: Path, tmp_path: Path) -> None:
    write_conf(config_dir / "glance-manage.conf", f"sqlite:///{tmp_path / 'g.sqlite'}")
    manage(config_dir, "db", "sync")
    catalog = tmp_path / "metadefs"
    catalog.mkdir()
    (catalog / "broken.json").write_text("{not json")

    result = manage(config_dir, "db", "load_metadefs", "--path", str(catalog))

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"glance-manage: {catalog / 'broken.json'}: Expecting")
