"""Choosing and configuring the data layer: data_api, the engine URL, glance-manage's files."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_db import options as db_options

from glance_svc.cmd import manage
from glance_svc.db import api as db_api
from glance_svc.db.sqlalchemy import engine as engine_mod
from glance_svc.db.sqlalchemy.api import SqlImageRepository


def conf_with(**defaults: object) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_opts(db_api.list_opts()[0][1])
    db_options.set_defaults(conf)
    conf([], project="glance", default_config_files=[], default_config_dirs=[])
    for name, value in defaults.items():
        group = "database" if name == "connection" else None
        conf.set_override(name, value, group=group)
    return conf


def test_data_api_defaults_to_the_sql_backend() -> None:
    assert conf_with().data_api == "glance_svc.db.sqlalchemy.api"


@pytest.mark.parametrize("value", ["glance.db.sqlalchemy.api", "glance_svc.db.sqlalchemy.api"])
def test_both_sql_names_give_the_sql_repository(value: str) -> None:
    repo = db_api.get_repository(conf_with(data_api=value, connection="sqlite://"))

    assert isinstance(repo, SqlImageRepository)
    repo.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["glance.db.registry.api", "glance_svc.db.registry.api"])
def test_both_registry_names_give_the_registry_client_and_no_database(
        value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[cfg.ConfigOpts] = []
    fake = types.ModuleType("glance_svc.registry.client")
    fake.RegistryRepository = made.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "glance_svc.registry.client", fake)
    conf = conf_with(data_api=value)  # no [database] connection at all

    db_api.get_repository(conf)

    assert made == [conf]


def test_an_unknown_data_api_is_refused(tmp_path: Path) -> None:
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text("[DEFAULT]\ndata_api = glance.db.simple.api\n")
    conf = cfg.ConfigOpts()
    conf.register_opts(db_api.list_opts()[0][1])
    conf(["--config-file", str(conf_file)], project="glance", default_config_dirs=[])

    with pytest.raises(cfg.ConfigFileValueError):
        _ = conf.data_api


def test_without_a_connection_the_sql_backend_refuses_to_start() -> None:
    with pytest.raises(engine_mod.DatabaseNotConfigured):
        db_api.get_repository(conf_with())


def test_list_opts_offers_data_api_and_the_database_section() -> None:
    names = {(group, opt.name) for group, opts in db_api.list_opts() for opt in opts}

    assert {(None, "data_api"), ("database", "connection"), ("database", "max_pool_size"),
            ("database", "mysql_sql_mode")} <= names


@pytest.mark.parametrize(("url", "expected"), [
    ("mysql+pymysql://u:p@db/glance", "mysql+pymysql://u:p@db/glance?charset=utf8mb4"),
    ("mysql+pymysql://u:p@db/glance?charset=latin1",
     "mysql+pymysql://u:p@db/glance?charset=latin1"),
    ("sqlite:////var/lib/glance/glance.sqlite", "sqlite:////var/lib/glance/glance.sqlite"),
])
def test_mysql_urls_get_utf8mb4_unless_they_chose_a_charset(url: str, expected: str) -> None:
    assert engine_mod.normalize_url(url) == expected


def test_the_engine_honours_the_pool_options(tmp_path: Path) -> None:
    conf = conf_with(connection=f"sqlite:///{tmp_path / 'g.sqlite'}")
    conf.set_override("max_pool_size", 7, group="database")
    conf.set_override("max_overflow", 3, group="database")

    engine = engine_mod.create_engine(conf)

    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 3)  # type: ignore[attr-defined]
    engine.dispose()


def test_manage_reads_registry_then_api_then_manage_conf(tmp_path: Path) -> None:
    for name in ("glance-manage.conf", "glance-registry.conf", "glance-api.conf",
                 "glance-scrubber.conf"):
        (tmp_path / name).write_text("")

    files = manage.default_config_files({"OS_GLANCE_CONFIG_DIR": str(tmp_path)})

    assert files == [str(tmp_path / "glance-registry.conf"), str(tmp_path / "glance-api.conf"),
                     str(tmp_path / "glance-manage.conf")]


def test_manage_skips_absent_files_and_defaults_to_etc_glance(tmp_path: Path) -> None:
    (tmp_path / "glance-api.conf").write_text("")

    assert manage.default_config_files({"OS_GLANCE_CONFIG_DIR": str(tmp_path)}) == [
        str(tmp_path / "glance-api.conf")]
    assert all(f.startswith("/etc/glance/") for f in manage.default_config_files({}))
