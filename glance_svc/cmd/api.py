"""glance-api: serve the Image API v2.

    glance-api --config-file /etc/glance/glance-api.conf

The paste file is found as described in ``glance_svc.api.app``; the server is gunicorn,
configured by ``bind_host``, ``bind_port``, ``workers`` and the TLS options. Every worker
starts the crash-recovery thread of ``glance_svc.recovery``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from oslo_config import cfg

from glance_svc import config, recovery
from glance_svc.api import server
from glance_svc.db import api as db_api
from glance_svc.store import backends

DEFAULT_PORT = 9292


def _check_property_protections(conf: object) -> None:
    """Read the protection file once in the parent: a bad one stops the start here."""
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.property_protections import PropertyProtections

    PropertyProtections.from_conf(conf, Enforcer(conf))  # type: ignore[arg-type]


def _preload(conf: cfg.ConfigOpts) -> None:
    """Import in the master what a worker would import on its first request.

    The SQL repository (SQLAlchemy, its dialects, the mapped models) and the configured
    store drivers: imported here, their pages are shared by every worker instead of
    copied into each. Nothing is opened: engines and drivers are built in the workers.
    """
    if not db_api.uses_registry(conf):
        from sqlalchemy import orm

        from glance_svc.db.sqlalchemy import api as _sql_api  # noqa: F401
        from glance_svc.db.sqlalchemy import metadef_catalog as _sql_metadefs  # noqa: F401

        orm.configure_mappers()
    for store_type in backends.configured_types(conf):
        try:
            backends.driver_class(store_type)
        except Exception:  # noqa: BLE001 - an unknown type is the gateway's to report
            continue


def main(argv: Sequence[str] | None = None) -> int:
    conf = config.parse_args(sys.argv[1:] if argv is None else argv, prog="glance-api")
    config.setup_logging(conf, prog="glance-api")
    try:
        _check_property_protections(conf)
    except ValueError as exc:
        print(f"glance-api: {exc}", file=sys.stderr)
        return 1
    # Each worker runs a crash-recovery thread; a lock lets one of them make the passes.
    return server.run_paste_service(conf, "glance-api", DEFAULT_PORT,
                                    on_worker_start=lambda: recovery.start(conf),
                                    preload=lambda: _preload(conf))


if __name__ == "__main__":
    sys.exit(main())
