"""Interoperable import: glance-direct, web-download and copy-image (spec §3.9).

``POST /v2/images/{id}/import`` is checked completely while the client waits (each
check in Glance's order, so clients see the same status for the same mistake), then
answered 202 and carried out on a worker thread of this API process:

- the image is locked (``os_glance_import_task`` = the task id) and, except for
  copy-image, moved to ``importing`` with compare-and-set;
- web-download first streams the URL into the staging area (size cap and quota apply),
  glance-download the image of another region (``glance_svc.domain.glance_download``);
- the configured import plugins then work on the staged data
  (``glance_svc.domain.import_plugins``);
- the data is written to each target store in turn, hashed and inspected on the way to
  the first one; ``os_glance_importing_to_stores`` lists the stores still to do and
  ``os_glance_failed_import`` the ones that failed;
- the image becomes active after the first store (``all_stores_must_succeed = false``)
  or after the last; if a required store fails, the data already written by this import
  is removed and the image returns to ``queued``;
- the staged data is removed and the lock released at the end, whatever happened.

A background thread is enough here: each worker imports what it accepted, the staging
directory is shared by the workers of a node. The lock records its owner process
(``glance_svc.domain.ownership``), so a worker killed mid-import is noticed and its
import undone by crash recovery (``glance_svc.recovery``); a lock with no recorded owner
still expires after an hour, as in Glance.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import events, glance_download, import_plugins, ownership
from glance_svc.domain.image import (
    ACTIVE,
    IMPORT_LOCK,
    IMPORTING,
    QUEUED,
    STAGE_HOST,
    UPLOADING,
    Image,
    Location,
)
from glance_svc.domain.task import API_IMAGE_IMPORT, INTERNAL_ERROR
from glance_svc.domain.transfers import DataPathService, record_measured
from glance_svc.store import web_download
from glance_svc.store.bodies import FileBody
from glance_svc.store.upload import UploadStream

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.access import ImageAccess
    from glance_svc.domain.background import BackgroundTasks
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.domain.stage_forwarding import StageForwarding
    from glance_svc.domain.task_records import TaskRecords
    from glance_svc.domain.transfers import Transfers
    from glance_svc.store.backends import StoreGateway


LOG = logging.getLogger(__name__)

import_opts = [
    cfg.ListOpt("enabled_import_methods",
                default=["glance-direct", "web-download", "copy-image"],
                help="Import methods offered by /v2/info/import; empty disables import."),
    cfg.StrOpt("node_staging_uri", default="file:///tmp/staging/",
               help="file:// URI of the directory where glance-direct stages data."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, import_opts)]


IMPORTING_TO = "os_glance_importing_to_stores"
FAILED = "os_glance_failed_import"
LOCK_EXPIRY = dt.timedelta(minutes=60)
METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
MIB = 1024 * 1024


@dataclasses.dataclass
class ImportTask:
    """One accepted import, as the worker thread carries it out."""

    id: str
    image_id: str
    method: str
    stores: list[str | None]
    all_stores_must_succeed: bool
    uri: str | None = None
    source: Location | None = None  # copy-image: the copy to read from
    failed: bool = False  # what its task record reports at the end
    caller: RequestContext | None = None  # plugins and glance-download act for the caller
    options: dict[str, str] = dataclasses.field(default_factory=dict)  # glance-download's
    undo: Callable[[Image], None] | None = None  # puts back what a failed import changed


class _Abort(Exception):
    """The image was deleted or changed under the import: stop, clean up, report."""


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise errors.BadRequest(f"'{key}' must be boolean value only")
    return value


def _csv(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class ImportService(DataPathService):
    """Accepts imports (all checks while the client waits) and runs them in the back.

    Each accepted import is recorded as an ``api_image_import`` task whose id is the
    import lock. A glance-direct import of data staged on another worker is sent there
    (``forwarding``) once the local checks passed; that worker records the task.
    """

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, stores: StoreGateway,
                 images: ImageAccess, transfers: Transfers, tasks: BackgroundTasks,
                 records: TaskRecords, *, forwarding: StageForwarding | None = None
                 ) -> None:
        super().__init__(conf, repo, stores, images, transfers, tasks, records)
        self.forwarding = forwarding

    # -- accepting an import ---------------------------------------------------------------
    def import_image(self, ctx: RequestContext, image_id: str, body: dict[str, Any],
                     header_store: str | None) -> concurrent.futures.Future[Any] | None:
        """POST /v2/images/{id}/import: validate in Glance's order, lock, start the task."""
        method = body.get("method")
        if not isinstance(method, dict):
            raise errors.BadRequest("Import request requires a 'method' field.")
        name = method.get("name")
        if name is None:
            raise errors.BadRequest("Import request requires a 'name' field.")
        if name not in self.conf.enabled_import_methods or name not in METHODS:
            raise errors.BadRequest(f"Unknown import method name '{name}'.")
        must_succeed = _bool(body, "all_stores_must_succeed", True)
        all_stores = _bool(body, "all_stores", False)

        image = self.images.get(ctx, image_id)
        self._check_status(image, name)
        if not image.container_format:
            raise errors.Conflict("'container_format' needs to be set before import")
        if not image.disk_format:
            raise errors.Conflict("'disk_format' needs to be set before import")
        options = glance_download.check_request(method) if name == "glance-download" else {}
        self.images.enforce(ctx, "copy_image" if name == "copy-image" else "modify_image",
                            image)
        self._check_lock(image)
        stores = self._target_stores(body, header_store, all_stores)
        if name == "copy-image":
            held = {loc.metadata.get("store") for loc in image.active_locations}
            if all_stores:
                stores = [s for s in stores if s not in held]
                if not stores:
                    LOG.info("Image %s is already in every store", image_id)
                    return None
            else:
                for store in stores:
                    if store in held:
                        raise errors.BadRequest(f"Image is already present at store '{store}'")
        if not must_succeed and not self.stores.multi_store:
            raise errors.BadRequest("All_stores_must_succeed can only be set with "
                                    f"enabled_backends {method.get('uri')}")
        uri = method.get("uri")
        if name == "web-download" and not web_download.uri_allowed(self.conf, uri):
            raise errors.BadRequest(f"URI for web-download does not pass filtering: {uri}")
        if name == "copy-image":
            self.transfers.check_location_quota(image, len(stores))
        if name == "glance-direct" and self._forwarded(ctx, image, body, header_store):
            return None

        task = ImportTask(id=str(uuid.uuid4()), image_id=image_id, method=name,
                          stores=stores, all_stores_must_succeed=must_succeed, uri=uri,
                          caller=ctx, options=options)
        if name == "copy-image":
            sources = self.transfers.ordered_locations(image)
            if not sources:
                raise errors.Conflict(f"Image {image_id} has no data to copy")
            task.source = sources[0]
        stale_lock = image.properties.get(IMPORT_LOCK)  # _check_lock found it stale
        self._lock(image, task)
        if stale_lock:
            self.records.preempt(stale_lock)
        try:
            self.records.create(ctx, task.id, API_IMAGE_IMPORT,
                                {"image_id": image_id, "import_req": body, "backend": stores},
                                image_id)
        except Exception:
            self._release(task)
            raise
        return self.tasks.submit(self._run, task)

    def _forwarded(self, ctx: RequestContext, image: Image, body: dict[str, Any],
                   header_store: str | None) -> bool:
        """Send the import to the worker that staged the data, if that is another one."""
        if self.forwarding is None:
            return False
        if header_store and "stores" not in body:
            body = {**body, "stores": [header_store]}
        return self.forwarding.import_elsewhere(ctx, image, body)

    @staticmethod
    def _check_status(image: Image, name: str) -> None:
        if image.status == ACTIVE and name != "copy-image":
            raise errors.Conflict("Image with status active cannot be target for import")
        if image.status != ACTIVE and name == "copy-image":
            raise errors.Conflict("Only images with status active can be targeted for "
                                  "copying")
        if image.status != QUEUED and name in ("web-download", "glance-download"):
            raise errors.Conflict(f"Image needs to be in 'queued' state to use '{name}' "
                                  "method")
        if image.status != UPLOADING and name == "glance-direct":
            raise errors.Conflict("Image needs to be staged before 'glance-direct' method "
                                  "can be used")

    def _check_lock(self, image: Image) -> None:
        """409 while another import holds the lock; a lock older than an hour is stale."""
        if not image.properties.get(IMPORT_LOCK):
            return
        age = dt.datetime.now(dt.UTC).replace(tzinfo=None) - image.updated_at
        if age < LOCK_EXPIRY:
            raise errors.Conflict("Image has active task")
        LOG.warning("Image %s: import lock %s is stale, taking it over", image.id,
                    image.properties[IMPORT_LOCK])

    def _target_stores(self, body: dict[str, Any], header_store: str | None,
                       all_stores: bool) -> list[str | None]:
        """The stores to import into (``[None]``: the single store)."""
        if not self.stores.multi_store:
            return [None]
        if all_stores:
            if "stores" in body or header_store:
                raise errors.BadRequest("All_stores parameter can't be used with "
                                        "x-image-meta-store header or stores parameter")
            return [s for s in self.stores.store_ids()
                    if self.conf.enabled_backends[s] != "http"]
        if "stores" in body:
            if header_store:
                raise errors.BadRequest("Stores parameter and x-image-meta-store header "
                                        "can't be both specified")
            stores = body["stores"]
            if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
                raise errors.BadRequest("'stores' must be a list of store identifiers")
        else:
            stores = [header_store or self.stores.default_store_id]
        for store in stores:
            if not self.stores.is_known_store(store):
                raise errors.Conflict(f"Store for identifier {store} not found")
            if self.conf.enabled_backends[store] == "http":
                raise errors.Conflict(f"Store {store} is read-only")
        return list(dict.fromkeys(stores))

    def _lock(self, image: Image, task: ImportTask) -> None:
        """Take the lock and record progress markers in the same compare-and-set save.

        A copy does not move the status, so a status compare-and-set cannot stop two copies
        from both taking the lock: for copy-image the lock itself is compared and set first.
        """
        busy = (f"New operation on image '{image.id}' is not permitted as prior operation "
                "is still in progress")
        if task.method == "copy-image":
            try:
                image = self.repo.set_property_if(image.id, IMPORT_LOCK, task.id,
                                                  expected=image.properties.get(IMPORT_LOCK))
            except errors.StaleStatus as exc:
                raise errors.Conflict(busy) from exc
        previous = image.status
        image.properties[IMPORT_LOCK] = task.id
        image.properties[IMPORTING_TO] = ",".join(s for s in task.stores if s)
        failed = [s for s in _csv(image.properties.get(FAILED)) if s not in task.stores]
        image.properties[FAILED] = ",".join(failed)
        image.properties.pop(STAGE_HOST, None)
        ownership.claim(image)
        if task.method != "copy-image":
            image.transition(IMPORTING)
        try:
            self.repo.save(image, from_status=previous)
        except errors.StaleStatus as exc:
            if task.method == "copy-image":  # give back the lock taken above
                self.repo.set_property_if(image.id, IMPORT_LOCK, None, expected=task.id)
            raise errors.Conflict(busy) from exc

    # -- carrying it out ---------------------------------------------------------------------
    def _run(self, task: ImportTask) -> None:
        LOG.info("Import %s of image %s (%s) into %s", task.id, task.image_id, task.method,
                 task.stores)
        self.records.processing(task.id)
        try:
            if task.method == "web-download":
                self._download_to_staging(task, web_download.open_url(self.conf,
                                                                      task.uri or ""))
            elif task.method == "glance-download":
                self._download_from_glance(task)
            if task.method != "copy-image":
                self._run_plugins(task)
            self._import_to_stores(task)
        except _Abort as exc:
            LOG.warning("Import %s of image %s stopped: %s", task.id, task.image_id, exc)
            task.failed = True
        except Exception as exc:
            LOG.warning("Import %s of image %s failed: %s", task.id, task.image_id, exc)
            self._fail(task, task.stores)
        finally:
            if task.method != "copy-image":
                self.stores.delete_staged(task.image_id)
            self._release(task)
        self._report(task)

    def _report(self, task: ImportTask) -> None:
        """Finish the task record: Glance's progress text on success, its generic error
        text on failure (the log has the cause)."""
        if task.failed:
            self.records.fail(task.id, INTERNAL_ERROR)
            return
        try:
            size = self.repo.get(task.image_id).size or 0
        except errors.NotFound:
            size = 0
        self.records.succeed(task.id, {"image_id": task.image_id},
                             f"Copied {size // MIB} MiB")

    def _download_to_staging(self, task: ImportTask, remote: Any) -> None:
        """Stream ``remote`` (``read``, ``close``, ``length``) into the staging area."""
        try:
            limits = self.transfers.limits(self._fresh(task))
            self.transfers.check_announced(remote.length, limits)
            stream = UploadStream(remote, body_length=remote.length, limits=limits,
                                  watch=self.transfers.watcher(task.image_id, IMPORTING))
            try:
                self.stores.delete_staged(task.image_id)
                self.stores.staging.write(task.image_id, stream)
                stream.finish()
            finally:
                stream.close()
        finally:
            remote.close()

    def _download_from_glance(self, task: ImportTask) -> None:
        """Copy the remote image's metadata, then stage its data (undone on failure)."""
        remote = glance_download.RemoteImage.find(self.conf, task.caller, task.options)
        prefixes = self.conf.glance_download_properties.extra_properties

        def copy(image: Image) -> None:
            task.undo = remote.copy_metadata(image, prefixes)
        self._save(task, IMPORTING, copy)
        self._download_to_staging(task, remote.open_data(self.conf))

    def _run_plugins(self, task: ImportTask) -> None:
        """The pipeline between data staged and data stored: each plugin, then a save."""
        path = self.stores.staging.path(task.image_id)
        roles = list(getattr(task.caller, "roles", None) or [])
        for plugin in import_plugins.configured(self.conf):
            LOG.info("Import %s: running plugin %s", task.id, plugin.name)

            def apply(image: Image, plugin: import_plugins.ImportPlugin = plugin) -> None:
                limit = min(lim.bytes for lim in self.transfers.limits(image))
                plugin.apply(image, import_plugins.StagedImport(path, roles, limit))
            self._save(task, IMPORTING, apply)

    def _open_source(self, task: ImportTask) -> Any:
        if task.source is not None:
            body = self.stores.open(task.source)
            if isinstance(body, FileBody):
                return body.file  # positioned at 0: read it directly
            return _ChunkReader(body.iter_chunks())
        return self.stores.staging.open(task.image_id)

    def _import_to_stores(self, task: ImportTask) -> None:
        copying = task.method == "copy-image"
        written: list[Location] = []
        done: list[str | None] = []
        failed: list[str | None] = []
        status = ACTIVE if copying else IMPORTING
        for index, store in enumerate(task.stores):
            first = not copying and not done
            image = self._fresh(task, status)
            source = self._open_source(task)
            stream = UploadStream(
                source, expected_size=image.size if not copying else None,
                limits=self.transfers.limits(image) if first else None,
                hash_algo=self.conf.hashing_algorithm if first else None,
                inspection=self.transfers.inspection(image) if first else None,
                watch=self.transfers.watcher(task.image_id, status))
            stored = None
            events.emit("image.prepare", events.data_payload(image, store))
            try:
                stored = self.stores.add(task.image_id, stream, store_id=store,
                                         size=image.size)
                result = stream.finish() if first else None
            except _Abort:
                raise
            except Exception as exc:
                events.upload_failed(task.image_id, exc)
                stream.close()
                if stored is not None:
                    self.transfers.discard([stored.as_location()])
                LOG.warning("Import %s: store %s failed: %s", task.id, store, exc)
                failed.append(store)
                if task.all_stores_must_succeed or (first and _data_refused(exc)):
                    self.transfers.discard(written)
                    self._fail(task, failed + [s for s in task.stores[index + 1:]],
                               revert=written)
                    return
                self._mark(task, status, remaining=task.stores[index + 1:], failed=failed)
                continue
            finally:
                with contextlib.suppress(Exception):
                    source.close()
            location = stored.as_location()
            activate = not copying and (not task.all_stores_must_succeed
                                        or index == len(task.stores) - 1)
            try:
                self._record(task, status, result, location, activate,
                             remaining=task.stores[index + 1:], failed=failed)
            except _Abort:
                self.transfers.discard(written + [location])
                raise
            written.append(location)
            done.append(store)
            if activate:
                status = ACTIVE
        if not done and not copying:
            self._fail(task, failed)

    # -- image updates (re-read, change, compare-and-set) ------------------------------
    def _fresh(self, task: ImportTask, status: str | None = None) -> Image:
        try:
            image = self.repo.get(task.image_id)
        except errors.NotFound as exc:
            raise _Abort("the image was deleted") from exc
        if image.properties.get(IMPORT_LOCK) != task.id:
            raise _Abort("the import lock was taken over")
        if status is not None and image.status != status:
            raise _Abort(f"the image is now {image.status}")
        return image

    def _save(self, task: ImportTask, status: str, change: Callable[[Image], None]) -> None:
        image = self._fresh(task, status)
        change(image)
        try:
            self.repo.save(image, from_status=status)
        except (errors.NotFound, errors.StaleStatus) as exc:
            raise _Abort(str(exc)) from exc

    def _record(self, task: ImportTask, status: str, result: Any, location: Location,
                activate: bool, *, remaining: list[str | None],
                failed: list[str | None]) -> None:
        def change(image: Image) -> None:
            if result is not None:
                record_measured(image, result)
            image.locations.append(location)
            image.properties[IMPORTING_TO] = ",".join(s for s in remaining if s)
            image.properties[FAILED] = _merge(image.properties.get(FAILED), failed)
            if activate and image.status != ACTIVE:
                image.transition(ACTIVE)
            events.data_stored(image, status)
        self._save(task, status, change)

    def _mark(self, task: ImportTask, status: str, *, remaining: list[str | None],
              failed: list[str | None]) -> None:
        def change(image: Image) -> None:
            image.properties[IMPORTING_TO] = ",".join(s for s in remaining if s)
            image.properties[FAILED] = _merge(image.properties.get(FAILED), failed)
        self._save(task, status, change)

    def _fail(self, task: ImportTask, failed: list[str | None],
              revert: list[Location] | None = None) -> None:
        """Record the failure; a non-copy import goes back to queued with no data."""
        task.failed = True
        try:
            image = self._fresh(task)
        except _Abort:
            return
        previous = image.status
        drop = {loc.url for loc in revert or []}
        image.locations = [loc for loc in image.locations if loc.url not in drop]
        image.properties[IMPORTING_TO] = ""
        image.properties[FAILED] = _merge(image.properties.get(FAILED), failed)
        if task.undo is not None:
            task.undo(image)
        if task.method != "copy-image" and image.status == IMPORTING:
            image.clear_data()
            image.transition(QUEUED)
        try:
            self.repo.save(image, from_status=previous)
        except (errors.NotFound, errors.StaleStatus):
            LOG.info("Image %s changed while its failed import was reverted", task.image_id)

    def _release(self, task: ImportTask) -> None:
        try:
            image = self.repo.get(task.image_id)
        except errors.NotFound:
            return
        if image.properties.get(IMPORT_LOCK) != task.id:
            return
        image.properties.pop(IMPORT_LOCK, None)
        ownership.release(image)
        image.properties[IMPORTING_TO] = ""
        image.properties.setdefault(FAILED, "")
        try:
            self.repo.save(image, from_status=image.status)
        except (errors.NotFound, errors.StaleStatus):
            LOG.info("Image %s changed before import lock %s was released", task.image_id,
                     task.id)


def _merge(existing: str | None, failed: list[str | None]) -> str:
    names = _csv(existing)
    names.extend(s for s in failed if s and s not in names)
    return ",".join(names)


def _data_refused(exc: Exception) -> bool:
    """Errors about the data itself: no other store would accept it either."""
    return isinstance(exc, (errors.UnsupportedMediaType, errors.LimitExceeded,
                            errors.BadRequest))


class _ChunkReader:
    """A ``read(size)`` view of a chunk iterator (a store driver's download)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
