"""Build the SQLAlchemy engine from ``[database]`` through oslo.db.

oslo.db gives us what a service needs from its engine: connect retries
(``max_retries``/``retry_interval``), the MySQL ``sql_mode``, pool sizing and recycling,
and exception translation (``DBDuplicateEntry``, ``DBDeadlock`` ...). Each repository owns
its engine; nothing here is global, so tests and tools can hold several side by side.
"""

from __future__ import annotations

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_db.sqlalchemy import engines


class DatabaseNotConfigured(RuntimeError):
    """``[database] connection`` is unset: there is nothing to connect to."""


def normalize_url(url: str) -> str:
    """Ask MySQL/MariaDB for utf8mb4 unless the URL chose a charset.

    oslo.db would default the connection to 3-byte ``utf8``, which cannot carry emoji or
    other 4-byte characters that image names and properties may contain.
    """
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "mysql" and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def create_engine(conf: cfg.ConfigOpts) -> sa.Engine:
    """An engine for ``conf.database.connection`` honouring every ``[database]`` option."""
    db_options.set_defaults(conf)
    db = conf.database
    if not db.connection:
        raise DatabaseNotConfigured("[database] connection is not set")
    return engines.create_engine(
        normalize_url(db.connection),
        sqlite_fk=True,
        mysql_sql_mode=db.mysql_sql_mode,
        mysql_wsrep_sync_wait=db.mysql_wsrep_sync_wait,
        connection_recycle_time=db.connection_recycle_time,
        connection_debug=db.connection_debug,
        max_pool_size=db.max_pool_size,
        max_overflow=db.max_overflow,
        pool_timeout=db.pool_timeout,
        sqlite_synchronous=db.sqlite_synchronous,
        connection_trace=db.connection_trace,
        max_retries=db.max_retries,
        retry_interval=db.retry_interval,
        connection_parameters=db.connection_parameters,
    )
