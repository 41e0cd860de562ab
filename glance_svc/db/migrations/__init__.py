"""Alembic migrations of the image database, and the few calls glance-manage needs.

The migrations ship inside the package (alembic.ini, env.py, versions/), so an installed
glance_svc can migrate its database without a source checkout.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = os.path.dirname(os.path.abspath(__file__))


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """The packaged alembic configuration, bound to ``connection`` when given."""
    config = Config(os.path.join(MIGRATIONS_DIR, "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS_DIR)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows (what ``db sync`` migrates to)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the packaged migrations have no head"
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The revision stamped in the database, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def has_unversioned_tables(engine: sa.Engine) -> bool:
    """True if the database has our tables but no alembic stamp (made outside alembic)."""
    names = set(sa.inspect(engine).get_table_names())
    return "images" in names and "alembic_version" not in names


def upgrade(engine: sa.Engine, revision: str = "heads") -> bool:
    """Migrate to ``revision``; return True if anything ran, False if already there."""
    before = current_revision(engine)
    target = _resolve(revision)
    if before == target:
        return False
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return current_revision(engine) != before


def stamp(engine: sa.Engine, revision: str = "heads") -> None:
    """Record ``revision`` as applied without running it (``db version_control``)."""
    with engine.begin() as conn:
        command.stamp(alembic_config(conn), revision)


def _resolve(revision: str) -> str | None:
    """Turn ``heads``/``head``/a prefix into the full revision id (errors name the choices)."""
    script = ScriptDirectory.from_config(alembic_config())
    if revision in ("head", "heads"):
        return script.get_current_head()
    return script.get_revision(revision).revision
