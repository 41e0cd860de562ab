"""Stores configured through glance_store, single-store or multi-store.

Single store (``enabled_backends`` unset): the drivers named in ``[glance_store] stores``
(default ``file, http``) read their options from ``[glance_store]``; new data goes to
``default_store``. Multi-store: every ``id:type`` of ``enabled_backends`` is a store with
its own section, ``[glance_store] default_backend`` names the default, and two reserved
file stores exist for internal use: ``os_glance_staging_store`` (data staged for import;
its directory is ``[os_glance_staging_store] filesystem_store_datadir`` when set, else the
path of ``node_staging_uri``) and ``os_glance_tasks_store`` (accepted for compatibility).

The gateway loads the drivers itself and keeps them, instead of glance_store's
module-level registry (``create_stores``/``create_multi_stores``), which reads the global
``cfg.CONF`` and is shared by the whole process: with our own instances, the gateway
serves exactly the config it was given, and a test can build several side by side.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import urllib.parse
from collections.abc import Iterable
from typing import Any

import glance_store.driver
import glance_store.exceptions as gs_exc
from glance_store import backend as gs_backend
from glance_store import capabilities
from glance_store import location as gs_location
from glance_store import multi_backend as gs_multi
from oslo_config import cfg
from stevedore import driver as stevedore_driver

from glance_svc import errors
from glance_svc.domain.image import Location
from glance_svc.store import filestore, web_download
from glance_svc.store.bodies import (
    STREAM_CHUNK,
    DataBody,
    FileBody,
    IterBody,
    Readable,
    byte_span,
    unwrapped,
)

LOG = logging.getLogger(__name__)

backend_opts = [
    cfg.DictOpt("enabled_backends",
                help="Multi-store: store id -> driver type (file, http, rbd, swift, s3, "
                     "cinder, vmware), e.g. 'fast:file, web:http'. Each id gets its own "
                     "config section; [glance_store] default_backend names the default."),
]

STAGING_STORE = "os_glance_staging_store"
TASKS_STORE = "os_glance_tasks_store"
RESERVED_STORES = {STAGING_STORE: "file", TASKS_STORE: "file"}
RESERVED_PREFIX = "os_glance_"
DRIVER_NAMESPACE = "glance_store.drivers"
# glance_store's driver.add() hashes what it writes whatever we ask; ask for a cheap one
# (our own stream computes md5 and the configured multihash).
_DRIVER_HASH = "sha256"
# Drivers whose get() honours ``offset`` and ``chunk_size`` (the length to read). The
# others (http, rbd, swift, s3, vmware) ignore both and send the object from its first
# byte, so ``open`` cuts a range out of their chunks itself.
_RANGED_DRIVERS = frozenset({"cinder"})
# The class constant each driver reads in, set to STREAM_CHUNK: glance_store's own are
# 64 KiB for s3 and swift, where Python's cost per chunk shows (4 MiB for http already).
# rbd's is its rbd_store_chunk_size option, kept.
_READ_CHUNK_ATTRIBUTE = {"http": "READ_CHUNKSIZE", "s3": "READ_CHUNKSIZE",
                         "swift": "CHUNKSIZE"}


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Our option plus glance_store's own ``[glance_store]`` options, without any driver's.

    What a service registers before parsing. A driver's options come with the driver: the
    gateway loads only the configured ones, and glance_store's ``Store.__init__``
    registers their options then (``register_backend_opts`` for multi-store sections).
    Importing every driver to list its options would put swiftclient, boto3, the cinder
    and vmware clients into every worker (about 25 MiB each) for stores nobody uses.
    """
    store_opts = list(gs_backend._STORE_OPTS)
    store_opts.extend(o for o in gs_multi._STORE_OPTS if o not in store_opts)
    return [(None, backend_opts), ("glance_store", store_opts)]


def list_driver_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every installed driver's ``[glance_store]`` options, for the config catalogue.

    Imports every driver (glance_store's ``oslo.config.opts`` hook does the same): for
    ``oslo-config-generator`` and the config check, never for a serving process.
    """
    return [(group, list(opts)) for group, opts in gs_backend._list_opts()
            if opts is not gs_backend._STORE_OPTS]


def driver_class(store_type: str) -> type[glance_store.driver.Store]:
    """The glance_store driver class for a type name (file, http, rbd, ...)."""
    manager = stevedore_driver.DriverManager(DRIVER_NAMESPACE, store_type,
                                             invoke_on_load=False)
    return manager.driver


def configured_types(conf: cfg.ConfigOpts) -> list[str]:
    """The driver types ``conf`` configures, each once (the reserved stores are files)."""
    if conf.enabled_backends:
        return list(dict.fromkeys([*conf.enabled_backends.values(), "file"]))
    return list(dict.fromkeys(conf.glance_store.stores or []))


def _reserved_opts() -> list[cfg.Opt]:
    """The file driver's options for a reserved section, with no default directory.

    No default, so the gateway can tell "set in the file" (use it) from "unset" (use
    ``node_staging_uri``), which the driver's /var/lib/glance/images default would hide.
    """
    opts = []
    for opt in driver_class("file").OPTIONS:
        if opt.dest == "filesystem_store_datadir":
            opt = copy.copy(opt)
            opt.default = None
        opts.append(opt)
    return opts


def register_backend_opts(conf: cfg.ConfigOpts) -> None:
    """Register the sections ``enabled_backends`` creates (call after parsing).

    For each store id: its driver's options plus ``store_description`` and ``weight``;
    also the reserved ``[os_glance_staging_store]`` and ``[os_glance_tasks_store]``.
    Idempotent, so the service and the config checker may both call it.
    """
    conf.register_opts(gs_multi._STORE_OPTS, group="glance_store")
    for store_id, store_type in (conf.enabled_backends or {}).items():
        if store_id.startswith(RESERVED_PREFIX):
            continue
        try:
            cls = driver_class(store_type)
        except Exception as exc:  # unknown type: reported when the gateway starts
            LOG.debug("No glance_store driver %r for store %s: %s", store_type, store_id, exc)
            continue
        conf.register_opts(glance_store.driver.Store.MULTI_BACKEND_OPTIONS, group=store_id)
        if cls.OPTIONS:
            conf.register_opts(cls.OPTIONS, group=store_id)
    for store_id in RESERVED_STORES:
        conf.register_opts(_reserved_opts(), group=store_id)


def _path_from_file_uri(uri: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file" or not parsed.path:
        raise ValueError(f"node_staging_uri must be a file:// URI, not {uri!r}")
    return parsed.path


@dataclasses.dataclass
class Backend:
    """One configured store: its id (None in single-store mode), type and driver."""

    id: str | None
    type: str
    driver: Any

    @property
    def writable(self) -> bool:
        return bool(self.driver.is_capable(capabilities.BitMasks.WRITE_ACCESS))

    @property
    def read_only(self) -> bool:
        return self.type == "http"

    @property
    def is_file(self) -> bool:
        return self.type in ("file", "filesystem") or (
            type(self.driver).__module__ == "glance_store._drivers.filesystem")

    def schemes(self) -> tuple[str, ...]:
        return tuple(self.driver.get_schemes())

    def location(self, url: str) -> gs_location.Location:
        """glance_store's parsed location for ``url`` (400 if the driver refuses it)."""
        scheme = urllib.parse.urlparse(url).scheme
        try:
            return gs_location.Location(scheme, self.driver.get_store_location_class(),
                                        self.driver.conf, uri=url, backend=self.id)
        except (gs_exc.BadStoreUri, ValueError) as exc:
            raise errors.BadRequest(f"Invalid location {url}: {exc}") from exc


@dataclasses.dataclass(frozen=True)
class StoredData:
    """Where ``add`` put the data."""

    url: str
    metadata: dict[str, Any]
    store_id: str | None
    size: int

    def as_location(self) -> Location:
        return Location(url=self.url, metadata=dict(self.metadata))


class StoreGateway:
    """The data side's one door to the stores; see the module docstring."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self.multi_store = bool(conf.enabled_backends)
        self._backends: dict[str, Backend] = {}
        self._broken: dict[str, str] = {}
        if self.multi_store:
            self._load_multi()
        else:
            self._load_single()
        self.staging = filestore.StagingArea(self._staging_dir())

    # -- loading ---------------------------------------------------------------------------
    def _load_multi(self) -> None:
        configured = dict(self.conf.enabled_backends)
        reserved = sorted(k for k in configured if k.startswith(RESERVED_PREFIX))
        if reserved:
            raise ValueError(f"'{RESERVED_PREFIX}' prefix should not be used in "
                             "enabled_backends config option. It is reserved for internal "
                             f"use only ({', '.join(reserved)}).")
        register_backend_opts(self.conf)
        default = self.conf.glance_store.default_backend
        if not default:
            raise ValueError("'default_backend' config option is not set.")
        if default not in configured:
            raise ValueError(f"[glance_store] default_backend {default!r} is not one of "
                             f"enabled_backends ({', '.join(configured)})")
        for store_id, store_type in configured.items():
            self._load(store_id, store_id, store_type)
        self.default_key = default

    def _load_single(self) -> None:
        stores = list(self.conf.glance_store.stores or [])
        for entry in dict.fromkeys(stores):
            self._load(entry, None, entry)
        scheme = self.conf.glance_store.default_store
        self.default_key = next(
            (key for key, b in self._backends.items() if scheme in b.schemes()), scheme)

    def _load(self, key: str, store_id: str | None, store_type: str) -> None:
        try:
            args = (self.conf, store_id) if store_id else (self.conf,)
            manager = stevedore_driver.DriverManager(
                DRIVER_NAMESPACE, store_type, invoke_on_load=True, invoke_args=args)
            driver = manager.driver
            driver.configure(re_raise_bsc=False)
            if store_type == "http":
                web_download.guard_redirects(driver, self.conf)
            if store_type in _READ_CHUNK_ATTRIBUTE:
                setattr(driver, _READ_CHUNK_ATTRIBUTE[store_type], STREAM_CHUNK)
        except Exception as exc:
            LOG.error("Store %s (%s) is disabled: %s", key, store_type, exc)
            self._broken[key] = str(exc)
            return
        self._backends[key] = Backend(store_id, store_type, driver)

    def _staging_dir(self) -> str:
        if self.multi_store:
            configured = self.conf[STAGING_STORE].filesystem_store_datadir
            if configured:
                return configured
        return _path_from_file_uri(self.conf.node_staging_uri)

    # -- what exists -----------------------------------------------------------------------
    def has_type(self, store_type: str) -> bool:
        """Whether a configured store is of ``store_type`` (file, http, rbd, ...)."""
        return store_type in configured_types(self.conf)

    def store_ids(self) -> list[str]:
        """The store ids clients may name (multi-store only; reserved ids hidden)."""
        if not self.multi_store:
            return []
        return [k for k in self.conf.enabled_backends if not k.startswith(RESERVED_PREFIX)]

    @property
    def default_store_id(self) -> str | None:
        return self.default_key if self.multi_store else None

    def backends(self) -> Iterable[Backend]:
        return self._backends.values()

    def resolve_store(self, store_id: str | None) -> str | None:
        """The store new data goes to: ``store_id`` (validated) or the default.

        400 for an unknown or reserved id (``X-Image-Meta-Store``); single-store mode
        ignores the header, as Glance does.
        """
        if not self.multi_store:
            return None
        if store_id is None or store_id == "":
            return self.default_key
        if store_id.startswith(RESERVED_PREFIX) or store_id not in self.conf.enabled_backends:
            raise errors.BadRequest(f"Store for identifier {store_id} not found")
        return store_id

    def is_known_store(self, store_id: str) -> bool:
        return self.multi_store and store_id in self.store_ids()

    def weight(self, store_id: str | None) -> int:
        if not store_id or not self.multi_store or store_id not in self.conf:
            return 0
        try:
            return int(self.conf[store_id].weight or 0)
        except (cfg.NoSuchOptError, AttributeError):
            return 0

    def describe(self, store_id: str) -> dict[str, Any]:
        """The /v2/info/stores entry of a store (strings "true", as Glance)."""
        entry: dict[str, Any] = {"id": store_id}
        description = self.conf[store_id].store_description
        if description:
            entry["description"] = description
        if store_id == self.default_key:
            entry["default"] = "true"
        if self.conf.enabled_backends[store_id] == "http":
            entry["read-only"] = "true"
        return entry

    def details(self, store_id: str) -> dict[str, Any]:
        """``type``, driver ``properties`` and ``weight`` for /v2/info/stores/detail."""
        store_type = self.conf.enabled_backends[store_id]
        backend = self._backends.get(store_id)
        return {"type": store_type,
                "properties": _driver_properties(store_type, backend.driver)
                if backend else {},
                "weight": self.weight(store_id)}

    # -- locations ---------------------------------------------------------------------------
    def _backend_for_url(self, url: str, store_id: str | None = None) -> Backend:
        if store_id and store_id in self._backends:
            return self._backends[store_id]
        if store_id and store_id in self._broken:
            raise errors.ServiceUnavailable(f"Store {store_id} is not available")
        scheme = urllib.parse.urlparse(url).scheme
        candidates = [b for b in self._backends.values() if scheme in b.schemes()]
        if not candidates:
            raise errors.BadRequest(f"Unknown scheme '{scheme}' found in URI")
        for backend in candidates:
            prefix = getattr(backend.driver, "url_prefix", None)
            if prefix and url.startswith(prefix):
                return backend
        return candidates[0]

    def backend_for(self, location: Location) -> Backend:
        return self._backend_for_url(location.url, (location.metadata or {}).get("store"))

    def store_for_url(self, url: str) -> str | None:
        """The multi-store id that owns ``url`` (None in single-store mode)."""
        if not self.multi_store:
            return None
        try:
            return self._backend_for_url(url).id
        except errors.GlanceError:
            return None

    def location_size(self, url: str, metadata: dict[str, Any] | None = None) -> int | None:
        """Check that a store can read ``url`` and return its size (400 if not)."""
        backend = self._backend_for_url(url, (metadata or {}).get("store"))
        loc = backend.location(url)
        try:
            size = backend.driver.get_size(loc)
        except gs_exc.NotFound as exc:
            raise errors.BadRequest(f"No image data found at {url}") from exc
        except (gs_exc.BadStoreUri, gs_exc.MaxRedirectsExceeded,
                gs_exc.RemoteServiceUnavailable) as exc:
            raise errors.BadRequest(f"Invalid location {url}: {exc}") from exc
        except NotImplementedError:
            return None
        return int(size) if size else None

    # -- writing -----------------------------------------------------------------------------
    def add(self, image_id: str, stream: Readable, *, store_id: str | None = None,
            size: int | None = None) -> StoredData:
        """Write everything ``stream`` yields as the data of ``image_id``.

        On failure nothing is left in the store: the file path removes its partial file;
        glance_store drivers remove theirs before re-raising.
        """
        key = store_id if self.multi_store and store_id else self.default_key
        backend = self._backends.get(key)
        if backend is None:
            raise errors.ServiceUnavailable(f"Store {key} is not available: "
                                            f"{self._broken.get(key, 'not configured')}")
        if not backend.writable:
            raise errors.ServiceUnavailable(
                "Error in store configuration. Adding images to store is disabled.")
        if backend.is_file:
            stored = self._add_file(backend, image_id, stream, size)
        else:
            stored = self._add_driver(backend, image_id, stream, size)
        return stored

    def _add_file(self, backend: Backend, image_id: str, stream: Readable,
                  size: int | None) -> StoredData:
        driver = backend.driver
        try:
            datadir = driver._find_best_datadir(size or 0)
        except gs_exc.StorageFull as exc:
            raise errors.LimitExceeded(f"Image storage media is full: {exc}") from exc
        path = os.path.join(datadir, str(image_id))
        written = filestore.write_file(
            path, stream, perm=driver.store_conf.filesystem_store_file_perm,
            thin=bool(getattr(driver, "thin_provisioning", False)),
            on_exists=lambda: errors.Conflict(f"Image {image_id} already has data in the "
                                              "store"))
        metadata = dict(driver._get_metadata(path) or {})
        if backend.id:
            metadata["store"] = backend.id
        return StoredData(f"file://{path}", metadata, backend.id, written)

    def _add_driver(self, backend: Backend, image_id: str, stream: Readable,
                    size: int | None) -> StoredData:
        try:
            url, written, _md5, _hash, metadata = backend.driver.add(
                image_id, stream, size or 0, _DRIVER_HASH)
        except gs_exc.StorageFull as exc:
            raise errors.LimitExceeded(f"Image storage media is full: {exc}") from exc
        except (gs_exc.StorageWriteDenied, gs_exc.TimeoutError) as exc:
            raise errors.ServiceUnavailable(
                f"Insufficient permissions on image storage media: {exc}") from exc
        except gs_exc.Duplicate as exc:
            raise errors.Conflict(f"Image {image_id} already has data in the store") from exc
        except gs_exc.StoreAddDisabled as exc:
            raise errors.ServiceUnavailable(
                "Error in store configuration. Adding images to store is disabled.") from exc
        except gs_exc.Invalid as exc:
            raise errors.BadRequest(str(exc)) from exc
        metadata = dict(metadata or {})
        if backend.id:
            metadata["store"] = backend.id
        return StoredData(url, metadata, backend.id, int(written))

    # -- reading ---------------------------------------------------------------------------
    def open(self, location: Location, offset: int = 0, length: int | None = None
             ) -> DataBody:
        """The data at ``location`` from ``offset``: a positioned file for file stores."""
        backend = self.backend_for(location)
        loc = backend.location(location.url)
        if backend.is_file:
            path = loc.store_location.path
            try:
                handle = open(path, "rb")  # noqa: SIM115 - the body owns and closes it
            except FileNotFoundError:
                raise errors.NotFound(f"Image data not found at {location.url}") from None
            size = os.fstat(handle.fileno()).st_size
            if offset:
                handle.seek(offset)
            available = max(size - offset, 0)
            return FileBody(handle, available if length is None else min(length, available))
        ranged = backend.type in _RANGED_DRIVERS
        try:
            chunks, size = backend.driver.get(loc, offset=offset if ranged else 0,
                                              chunk_size=length if ranged else None)
        except gs_exc.NotFound as exc:
            raise errors.NotFound(f"Image data not found at {location.url}") from exc
        except gs_exc.RemoteServiceUnavailable as exc:
            raise errors.ServiceUnavailable(str(exc)) from exc
        except gs_exc.StoreGetNotSupported as exc:
            raise errors.BadRequest(str(exc)) from exc
        chunks = unwrapped(chunks)
        if not ranged and (offset or length is not None):
            chunks = byte_span(chunks, offset, length)
        if length is None and size:
            length = max(int(size) - offset, 0)
        return IterBody(chunks, length)

    # -- deleting --------------------------------------------------------------------------
    def delete(self, location: Location) -> None:
        """Remove the data at ``location``; data already gone counts as deleted."""
        try:
            backend = self.backend_for(location)
            loc = backend.location(location.url)
        except errors.BadRequest as exc:
            LOG.warning("Cannot delete %s, no store handles it: %s", location.url, exc)
            return
        try:
            backend.driver.delete(loc)
        except gs_exc.NotFound:
            LOG.debug("Image data at %s was already gone", location.url)
        except gs_exc.StoreDeleteNotSupported:
            LOG.warning("Store %s cannot delete %s; left in place", backend.type,
                        location.url)
        except (gs_exc.InUseByStore, gs_exc.HasSnapshot) as exc:
            raise errors.Conflict(f"Image data at {location.url} is in use: {exc}") from exc
        except gs_exc.TimeoutError as exc:
            raise errors.ServiceUnavailable(
                f"Timed out deleting image data at {location.url}") from exc
        except gs_exc.Forbidden as exc:
            raise errors.Forbidden(str(exc)) from exc

    def file_data_dirs(self) -> list[str]:
        """Every directory a file store writes image data to (crash recovery sweeps them).

        Data in other drivers (rbd, swift, s3 ...) is not listed: their drivers remove
        what a failed write left, but a killed process leaves it for the operator.
        """
        dirs: list[str] = []
        for backend in self._backends.values():
            if not backend.is_file:
                continue
            driver = backend.driver
            if getattr(driver, "multiple_datadirs", False):
                for paths in driver.priority_data_map.values():
                    dirs.extend(p for p in paths if p not in dirs)
            elif driver.datadir not in dirs:
                dirs.append(driver.datadir)
        return dirs

    def discard_leftover_files(self, image_id: str) -> list[str]:
        """Remove files named ``image_id`` from every file store; the paths removed.

        Only for an image that has just moved from ``queued`` to ``saving``: a queued
        image has no data, so such a file is what a killed upload left, which crash
        recovery removes only after it has given the image back. A retry that comes in
        between would otherwise find the path taken and fail.
        """
        removed = []
        for directory in self.file_data_dirs():
            path = os.path.join(directory, image_id)
            if filestore.remove_quietly(path):
                removed.append(path)
        return removed

    def delete_staged(self, image_id: str) -> None:
        """Remove the staged data of ``image_id`` (none is fine)."""
        self.staging.delete(image_id)


def _driver_properties(store_type: str, driver: Any) -> dict[str, Any]:
    """The per-driver ``properties`` Glance shows in /v2/info/stores/detail."""
    if store_type == "file":
        return {"data_dir": getattr(driver, "datadir", None),
                "chunk_size": getattr(driver, "chunk_size", None),
                "thin_provisioning": getattr(driver, "thin_provisioning", False)}
    if store_type == "rbd":
        prefix = getattr(driver, "url_prefix", None) or ""
        pieces = prefix[len("rbd://"):].rstrip("/").split("/") if prefix.startswith(
            "rbd://") else []
        return {"chunk_size": getattr(driver, "chunk_size", None),
                "pool": getattr(driver, "pool", None),
                "thin_provisioning": getattr(driver, "thin_provisioning", False),
                "fsid": pieces[0] if len(pieces) == 2 else None}
    if store_type == "cinder":
        store_conf = getattr(driver, "store_conf", None)
        return {"volume_type": getattr(store_conf, "cinder_volume_type", None),
                "use_multipath": getattr(store_conf, "cinder_use_multipath", None)}
    if store_type == "swift":
        return {"container": getattr(driver, "container", None),
                "large_object_size": getattr(driver, "large_object_size", None),
                "large_object_chunk_size": getattr(driver, "large_object_chunk_size", None)}
    if store_type == "s3":
        return {name: getattr(driver, name, None) for name in (
            "s3_store_large_object_size", "s3_store_large_object_chunk_size",
            "s3_store_thread_pools")}
    return {}
