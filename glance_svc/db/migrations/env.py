"""Alembic environment: run the migrations on the connection glance-manage hands over.

glance-manage builds the engine from ``[database]`` (oslo.db, with its retries and MySQL
sql_mode) and passes a connection in ``config.attributes["connection"]``. Run by hand,
``-x url=...`` names the database instead. Online mode only: an offline SQL script would
skip the checks glance-manage makes before migrating.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from glance_svc.db.sqlalchemy.models import Base

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("No database URL: pass -x url=<sqlalchemy url>")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
