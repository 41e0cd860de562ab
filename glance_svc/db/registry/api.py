"""The module ``data_api = glance_svc.db.registry.api`` names.

Glance configs select the registry by naming a module; this is that module, so the
option names something real. ``glance_svc.db.api.get_repository`` does the choosing.
"""

from __future__ import annotations

from oslo_config import cfg

from glance_svc.registry.client import RegistryRepository

__all__ = ["RegistryRepository", "get_repository"]


def get_repository(conf: cfg.ConfigOpts) -> RegistryRepository:
    """A registry client configured by ``conf``'s registry_* options."""
    return RegistryRepository(conf)
