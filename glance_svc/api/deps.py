"""The composition root: the services one API worker uses, built once per process.

This is the only place that knows which implementation backs which interface, and the
only place that builds a service: each one is handed just the collaborators it calls
(members, data and imports get the image *access* checks, not the whole image service;
data and imports share the transfer checks and the background pool rather than each
other). Built lazily so that a worker which never touches the stores (or the database)
does not open them, and so a test can build only what it needs or swap in a fake by
assigning the attribute before first use.
"""

from __future__ import annotations

import functools
import socket

from oslo_config import cfg

from glance_svc import messaging
from glance_svc.api import versions
from glance_svc.api.stage_proxy import HttpStageProxy
from glance_svc.cache.service import ImageCache
from glance_svc.db import api as db_api
from glance_svc.domain import events
from glance_svc.domain.background import BackgroundTasks
from glance_svc.domain.evented_repository import EventedRepository
from glance_svc.domain.image_data import ImageDataService
from glance_svc.domain.images import ImageService
from glance_svc.domain.imports import ImportService
from glance_svc.domain.legacy_import import LegacyImport
from glance_svc.domain.members import MemberService
from glance_svc.domain.metadefs import MetadefService
from glance_svc.domain.policy import Enforcer
from glance_svc.domain.repository import ImageRepository
from glance_svc.domain.stage_forwarding import StageForwarding
from glance_svc.domain.task_records import TaskRecords
from glance_svc.domain.tasks import TaskService
from glance_svc.domain.transfers import Transfers
from glance_svc.store.backends import StoreGateway


class AppDeps:
    """Config, repository, policy, stores and the domain services built over them."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    @classmethod
    def build(cls, conf: cfg.ConfigOpts) -> AppDeps:
        return cls(conf)

    @functools.cached_property
    def notifications(self) -> events.Events:
        return events.Events(messaging.notifier(self.conf), self.conf.disabled_notifications)

    @functools.cached_property
    def repo(self) -> ImageRepository:
        """Every stored change of an image or member sends its event (Glance's). Every
        service is built over the repository, so the events every service emits are
        installed here, before the first write can send one."""
        events.install(self.notifications)
        return EventedRepository(db_api.get_repository(self.conf))

    @functools.cached_property
    def policy(self) -> Enforcer:
        return Enforcer(self.conf)

    @functools.cached_property
    def stores(self) -> StoreGateway:
        return StoreGateway(self.conf)

    @functools.cached_property
    def images(self) -> ImageService:
        return ImageService(self.conf, self.repo, self.policy, self.stores,
                            forwarding=self.forwarding)

    @functools.cached_property
    def members(self) -> MemberService:
        return MemberService(self.conf, self.repo, self.policy, self.images)

    @functools.cached_property
    def metadefs(self) -> MetadefService:
        return MetadefService(self.conf, db_api.get_metadef_repository(self.conf, self.repo),
                              self.policy)

    @functools.cached_property
    def tasks(self) -> BackgroundTasks:
        return BackgroundTasks()

    @functools.cached_property
    def transfers(self) -> Transfers:
        return Transfers(self.conf, self.repo, self.stores)

    @functools.cached_property
    def data(self) -> ImageDataService:
        return ImageDataService(self.conf, self.repo, self.stores, self.images,
                                self.transfers, self.tasks, self.records,
                                stage_host=versions.node_url(self.conf), cache=self.cache)

    @functools.cached_property
    def cache(self) -> ImageCache:
        # The node's identity in the shared cache records: its own URL, else its host
        # name (the processes of one host share its cache directory). Not public_endpoint:
        # every node behind a load balancer has the same one.
        node = self.conf.worker_self_reference_url or f"host:{socket.getfqdn()}"
        return ImageCache(self.conf, self.repo, self.policy, self.stores, self.transfers,
                          self.tasks, node_url=node)

    @functools.cached_property
    def imports(self) -> ImportService:
        return ImportService(self.conf, self.repo, self.stores, self.images,
                             self.transfers, self.tasks, self.records,
                             forwarding=self.forwarding)

    @functools.cached_property
    def records(self) -> TaskRecords:
        return TaskRecords(self.conf, self.repo)

    @functools.cached_property
    def forwarding(self) -> StageForwarding:
        return StageForwarding(versions.node_url(self.conf),
                               HttpStageProxy(ca_file=self.conf.stage_host_ca_file))

    @functools.cached_property
    def legacy_import(self) -> LegacyImport:
        return LegacyImport(self.images, self.data, self.records, self.tasks)

    @functools.cached_property
    def task_api(self) -> TaskService:
        return TaskService(self.conf, self.repo, self.policy, self.images, self.records,
                           self.legacy_import.submit)
