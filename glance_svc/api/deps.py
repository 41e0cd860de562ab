"""The services one API worker uses, built once per process from the config.

Built lazily so that a worker which never touches the stores (or the database) does not
open them, and so a test can build only what it needs. This is the only place that knows
which implementation backs which interface.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from oslo_config import cfg

if TYPE_CHECKING:
    from glance_svc.domain.image_data import ImageDataService
    from glance_svc.domain.images import ImageService
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.store.backends import StoreGateway


class AppDeps:
    """Config, repository, policy, stores and the two domain services."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    @classmethod
    def build(cls, conf: cfg.ConfigOpts) -> AppDeps:
        return cls(conf)

    @functools.cached_property
    def repo(self) -> ImageRepository:
        from glance_svc.db import api as db_api

        return db_api.get_repository(self.conf)

    @functools.cached_property
    def policy(self) -> Enforcer:
        from glance_svc.domain.policy import Enforcer

        return Enforcer(self.conf)

    @functools.cached_property
    def stores(self) -> StoreGateway:
        from glance_svc.store.backends import StoreGateway

        return StoreGateway(self.conf)

    @functools.cached_property
    def images(self) -> ImageService:
        from glance_svc.domain.images import ImageService

        return ImageService(self.conf, self.repo, self.policy, self.stores)

    @functools.cached_property
    def data(self) -> ImageDataService:
        from glance_svc.domain.image_data import ImageDataService

        return ImageDataService(self.conf, self.repo, self.policy, self.stores, self.images)
