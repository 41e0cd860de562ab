"""The alembic migrations create exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from glance_svc.db import migrations
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.models import Base
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo


def test_migrated_schema_matches_the_models(module_repo: SqlImageRepository) -> None:
    with module_repo.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_database_is_at_the_packaged_head(module_repo: SqlImageRepository) -> None:
    assert migrations.current_revision(module_repo.engine) == migrations.head_revision()
    assert migrations.head_revision() == "0003_image_cache"


def test_upgrading_an_up_to_date_database_does_nothing(module_repo: SqlImageRepository) -> None:
    assert migrations.upgrade(module_repo.engine) is False


def test_mariadb_tables_are_innodb_utf8mb4_binary(module_repo: SqlImageRepository) -> None:
    if module_repo.engine.dialect.name != "mysql":
        pytest.skip("table engine and collation exist only on MySQL/MariaDB")
    with module_repo.engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name != 'alembic_version'")).all()
    assert {(engine, collation) for _, engine, collation in tables} == {
        ("InnoDB", "utf8mb4_bin")}
    assert len(tables) == len(Base.metadata.tables)
