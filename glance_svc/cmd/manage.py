"""glance-manage: migrate, inspect and clean the image database.

    glance-manage [--config-file F ...] db sync [--version V]     (also: db_sync [V])
    glance-manage db version | db upgrade [--version V] | db version_control [--version V]
    glance-manage db purge [--age_in_days 30] [--max_rows 100]
    glance-manage db purge_images_table [--age_in_days 180] [--max_rows 100]
    glance-manage db load_metadefs [--path DIR] [--merge [--prefer_new] [--overwrite]]
    glance-manage db unload_metadefs
    glance-manage db export_metadefs [--path DIR]

Without ``--config-file`` it reads, when present and in this order, glance-registry.conf,
glance-api.conf and glance-manage.conf from /etc/glance (or ``$OS_GLANCE_CONFIG_DIR``);
later files override earlier ones, so glance-manage.conf has the last word. That lets an
operator run it on any controller without naming a file, as with Glance.

Output is for a person at a terminal and for Ansible: results on stdout (``db sync``
prints one of the two sentences an Ansible task can match for ``changed_when``),
problems on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic.util import CommandError
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_db import options as db_options
from oslo_log import log

from glance_svc import config, errors
from glance_svc.db import migrations
from glance_svc.db.sqlalchemy import engine as engine_mod
from glance_svc.db.sqlalchemy import metadefs
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.metadef_catalog import SqlMetadefRepository

PROG = "glance-manage"
CONFIG_FILES = ("glance-registry.conf", "glance-api.conf", "glance-manage.conf")
SYNCED = "Database is synced successfully."
UP_TO_DATE = "Database is up to date. No migrations needed."
# Legacy one-word commands of Glance, and the ``db`` action each one is.
LEGACY = {
    "db_sync": "sync",
    "db_upgrade": "upgrade",
    "db_version": "version",
    "db_version_control": "version_control",
    "db_load_metadefs": "load_metadefs",
    "db_unload_metadefs": "unload_metadefs",
    "db_export_metadefs": "export_metadefs",
}


class ManageError(Exception):
    """A problem to report in one line, without a traceback."""


def default_config_files(environ: os._Environ[str] | dict[str, str] = os.environ) -> list[str]:
    """The config files read when none is named on the command line, in override order."""
    directory = environ.get("OS_GLANCE_CONFIG_DIR") or config.DEFAULT_CONFIG_DIR
    return config.existing_files(directory, CONFIG_FILES)


# --- command line ---------------------------------------------------------------------
def _versioned(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--version", dest="db_version", metavar="VERSION", help=help_text)


def _aged(parser: argparse.ArgumentParser, days: int) -> None:
    parser.add_argument("--age_in_days", type=int, default=days,
                        help=f"purge rows deleted more than this many days ago ({days})")
    parser.add_argument("--max_rows", type=int, default=100,
                        help="at most this many rows per table; -1 for no limit (100)")


def _add_actions(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``db`` actions; called for ``db`` and again for the legacy one-word commands."""
    _versioned(subparsers.add_parser("sync", help="migrate the schema to the newest version"),
               "migrate to this revision instead of the newest")
    _versioned(subparsers.add_parser("upgrade", help="same as sync"),
               "migrate to this revision instead of the newest")
    subparsers.add_parser("version", help="print the schema revision of the database")
    _versioned(subparsers.add_parser(
        "version_control", help="record a revision as applied without running it"),
        "the revision to record (default: the newest)")
    _aged(subparsers.add_parser(
        "purge", help="remove old soft-deleted rows from every table but images"), 30)
    _aged(subparsers.add_parser(
        "purge_images_table", help="remove old deleted images nothing refers to"), 180)
    load = subparsers.add_parser("load_metadefs", help="load metadata definition files")
    load.add_argument(
        "--path", help="directory of *.json namespace files (default: the packaged catalog)")
    load.add_argument("--merge", action="store_true",
                      help="add what a file has to a namespace already in the database")
    load.add_argument("--prefer_new", action="store_true",
                      help="with --merge: the file's values win over the database's")
    load.add_argument("--overwrite", action="store_true",
                      help="with --merge: drop the namespace's objects, properties and "
                           "tags first")
    subparsers.add_parser("unload_metadefs", help="remove every metadata definition")
    subparsers.add_parser(
        "export_metadefs", help="write each namespace to a file load_metadefs reads"
    ).add_argument("--path", help="directory to write into (default: the packaged catalog)")


def add_command_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = subparsers.add_parser("db", help="database commands")
    actions = db.add_subparsers(dest="action", metavar="<action>", title="actions")
    actions.required = True
    _add_actions(actions)
    for legacy, action in LEGACY.items():
        parser = subparsers.add_parser(legacy, help=f"same as 'db {action}'")
        parser.set_defaults(action=action)
        if action in ("sync", "upgrade", "version_control"):
            parser.add_argument("legacy_version", nargs="?", metavar="VERSION")
        elif action in ("load_metadefs", "export_metadefs"):
            parser.add_argument("legacy_path", nargs="?", metavar="PATH")


def parse_args(argv: Sequence[str], conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    log.register_options(conf)
    log.set_defaults(default_log_levels=[*log.get_default_log_levels(), "alembic=WARN"])
    # stdout carries only results (Ansible matches the sync sentences); logs go to stderr
    # unless a config file names a log file.
    conf.set_default("use_stderr", True)
    db_options.set_defaults(conf)
    conf.register_cli_opt(cfg.SubCommandOpt(
        "command", title="Commands", handler=add_command_parsers))
    conf(list(argv), project="glance", prog=PROG,
         default_config_files=default_config_files(), default_config_dirs=[])
    return conf


# --- actions ----------------------------------------------------------------------------
def do_sync(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    if migrations.has_unversioned_tables(repo.engine):
        raise ManageError(
            "the database has glance tables but no migration history; if its schema is "
            "current, record that with 'glance-manage db version_control'")
    revision = _version_arg(conf) or "heads"
    print(SYNCED if migrations.upgrade(repo.engine, revision) else UP_TO_DATE)


def do_version(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    print(migrations.current_revision(repo.engine))


def do_version_control(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    revision = _version_arg(conf) or "heads"
    migrations.stamp(repo.engine, revision)
    print(f"Database is now at revision {migrations.current_revision(repo.engine)}.")


def do_purge(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    days, rows = conf.command.age_in_days, conf.command.max_rows
    for table, count in repo.purge(days, rows).items():
        print(f"{table}: {count} rows purged")


def do_purge_images(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    count = repo.purge_images(conf.command.age_in_days, conf.command.max_rows)
    print(f"images: {count} rows purged")


def do_load_metadefs(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    path = _arg(conf, "path") or _arg(conf, "legacy_path")
    mode = metadefs.LoadMode(merge=bool(_arg(conf, "merge")),
                             prefer_new=bool(_arg(conf, "prefer_new")),
                             overwrite=bool(_arg(conf, "overwrite")))
    report = metadefs.load_metadefs(SqlMetadefRepository(repo.engine), path,  # type: ignore[arg-type]
                                    mode)
    for name in report.loaded:
        print(f"Loaded namespace {name}.")
    for name in report.merged:
        print(f"Merged namespace {name}.")
    for name in report.skipped:
        print(f"Skipped namespace {name}: it is already in the database.")


def do_unload_metadefs(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    for name in metadefs.unload_metadefs(SqlMetadefRepository(repo.engine)):
        print(f"Removed namespace {name}.")


def do_export_metadefs(conf: cfg.ConfigOpts, repo: SqlImageRepository) -> None:
    _require_schema(repo)
    path = _arg(conf, "path") or _arg(conf, "legacy_path")
    for file in metadefs.export_metadefs(SqlMetadefRepository(repo.engine), path):  # type: ignore[arg-type]
        print(f"Wrote {file}.")


ACTIONS: dict[str, Callable[[cfg.ConfigOpts, SqlImageRepository], None]] = {
    "sync": do_sync,
    "upgrade": do_sync,
    "version": do_version,
    "version_control": do_version_control,
    "purge": do_purge,
    "purge_images_table": do_purge_images,
    "load_metadefs": do_load_metadefs,
    "unload_metadefs": do_unload_metadefs,
    "export_metadefs": do_export_metadefs,
}


def _arg(conf: cfg.ConfigOpts, name: str) -> object:
    """A sub-command argument, or None when this sub-command does not define it."""
    try:
        return getattr(conf.command, name)
    except cfg.NoSuchOptError:
        return None


def _version_arg(conf: cfg.ConfigOpts) -> str | None:
    return _arg(conf, "db_version") or _arg(conf, "legacy_version")  # type: ignore[return-value]


def _require_schema(repo: SqlImageRepository) -> None:
    if migrations.current_revision(repo.engine) is None:
        raise ManageError("the database is not under migration control; run "
                          "'glance-manage db sync' to create the schema")


def _where(conf: cfg.ConfigOpts) -> str:
    files = list(conf.config_file or [])
    if files:
        return "read " + ", ".join(files)
    directory = os.environ.get("OS_GLANCE_CONFIG_DIR") or config.DEFAULT_CONFIG_DIR
    return (f"no config file found: looked for {', '.join(CONFIG_FILES)} in {directory}; "
            "or pass --config-file")


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable URL>"


def _reason(exc: db_exc.DBError) -> str:
    """The driver's own message, without SQLAlchemy's statement dump and doc link."""
    inner = exc.inner_exception or exc
    return str(getattr(inner, "orig", None) or inner)


def run(conf: cfg.ConfigOpts) -> None:
    action = ACTIONS[conf.command.action]
    try:
        repo = SqlImageRepository.from_conf(conf)
    except engine_mod.DatabaseNotConfigured:
        raise ManageError(f"no database to manage: set [database] connection ({_where(conf)})"
                          ) from None
    except sa.exc.ArgumentError as exc:
        raise ManageError(f"[database] connection is not a valid database URL: {exc}"
                          ) from None
    except db_exc.DBError as exc:
        raise ManageError(f"cannot connect to {_safe_url(conf.database.connection)}: "
                          f"{_reason(exc)}") from None
    try:
        action(conf, repo)
    except db_exc.DBConnectionError as exc:
        raise ManageError(f"cannot connect to {_safe_url(conf.database.connection)}: "
                          f"{_reason(exc)}") from None
    finally:
        repo.close()


def main(argv: Sequence[str] | None = None, conf: cfg.ConfigOpts | None = None) -> int:
    conf = conf or cfg.ConfigOpts()
    try:
        parse_args(sys.argv[1:] if argv is None else argv, conf)
    except cfg.Error as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    config.setup_logging(conf, prog=PROG)
    try:
        run(conf)
    except ManageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except (errors.GlanceError, metadefs.MetadefError, CommandError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except db_exc.DBError as exc:
        print(f"{PROG}: database error: {_reason(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
