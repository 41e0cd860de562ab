"""Choose where image records live: the database directly, or glance-registry.

``[DEFAULT] data_api`` names the backend the way Glance did, so existing configs keep
working: ``glance.db.sqlalchemy.api`` and ``glance.db.registry.api`` are accepted beside
our own ``glance_svc.db.*`` names. Anything else is refused when the config is parsed.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_db import options as db_options

from glance_svc.domain.metadef_repository import MetadefRepository
from glance_svc.domain.repository import ImageRepository

SQL_APIS = ("glance_svc.db.sqlalchemy.api", "glance.db.sqlalchemy.api")
REGISTRY_APIS = ("glance_svc.db.registry.api", "glance.db.registry.api")

data_api_opt = cfg.StrOpt(
    "data_api",
    default=SQL_APIS[0],
    choices=SQL_APIS + REGISTRY_APIS,
    help="Where image metadata is read and written: the SQL database named in "
         "[database] connection (glance_svc.db.sqlalchemy.api), or a glance-registry "
         "service at registry_host:registry_port (glance_svc.db.registry.api). The "
         "glance.db.* names of Glance are accepted as aliases.",
)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """``data_api`` and oslo.db's ``[database]`` options, which the SQL backend reads."""
    return [(None, [data_api_opt]), ("database", list(db_options.database_opts))]


def uses_registry(conf: cfg.ConfigOpts) -> bool:
    conf.register_opt(data_api_opt)
    return conf.data_api in REGISTRY_APIS


def get_repository(conf: cfg.ConfigOpts) -> ImageRepository:
    """A new repository for ``conf``; the caller keeps it (it owns an engine or a client).

    With the registry selected no database connection is opened at all.
    """
    if uses_registry(conf):
        from glance_svc.registry.client import RegistryRepository

        return RegistryRepository(conf)  # type: ignore[no-any-return]
    from glance_svc.db.sqlalchemy.api import SqlImageRepository

    return SqlImageRepository.from_conf(conf)


def get_metadef_repository(conf: cfg.ConfigOpts, images: ImageRepository
                           ) -> MetadefRepository:
    """The catalog's repository, sharing ``images``' engine or registry connection, so a
    worker opens one pool (or one session) for both."""
    if uses_registry(conf):
        from glance_svc.registry.client import RegistryMetadefRepository

        return RegistryMetadefRepository(images)  # type: ignore[arg-type]
    from glance_svc.db.sqlalchemy.metadef_catalog import SqlMetadefRepository

    return SqlMetadefRepository(images.engine)  # type: ignore[attr-defined]
