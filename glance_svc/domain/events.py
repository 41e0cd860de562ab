"""Notifications: the event types and payloads consumers of ``image.*`` events read.

Billing, audit and search (Ceilometer and friends) read Glance's notifications off the
message bus, so the names, the payload keys and the moments follow Glance (spec part 2
§1). This module is the domain's side of it: the payload builders and ``emit``, which
every service calls in one line. Where the messages go is an adapter's business
(``glance_svc.messaging``); the domain only sees the ``Notifier`` port below, so no
service ever waits on, or fails because of, a broker.

``emit`` goes through one process-wide ``Events``: the composition root installs it
(``glance_svc.api.deps``); until then, and in tools that never install one (the
scrubber, glance-manage), events go nowhere. Services therefore need no extra
constructor argument, and emitting stays a single call wherever an event happens.

Payload builders take the entities duck-typed (attributes read with ``getattr``), so the
task and metadef services emit with the same one-line call as images and members do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import ACTIVE, OPERATION_OWNER, Image, Member, utcnow
from glance_svc.store.bodies import DataBody, FileBody, IterBody

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

LOG = logging.getLogger(__name__)

INFO = "INFO"
ERROR = "ERROR"

event_opts = [
    cfg.ListOpt("disabled_notifications", default=[],
                help="Event types not to send. An entry suppresses the event type it "
                     "names exactly, or every event whose type starts with it and a dot "
                     "when it is a single word: 'image' suppresses image.* (members "
                     "too), 'image.member.create' only that event. Glance matches no "
                     "other groups and no wildcards."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, event_opts)]


class Notifier(Protocol):
    """Where events go: the oslo.messaging adapter, or a recorder in tests.

    ``notify`` must return at once whatever the broker does (spec: a broker that is
    down never fails or slows an API call beyond a bounded delay).
    """

    def notify(self, priority: str, event_type: str, payload: Mapping[str, Any] | str
               ) -> None: ...


class Events:
    """A notifier with Glance's ``disabled_notifications`` filter in front of it."""

    def __init__(self, notifier: Notifier | None, disabled: list[str] | None = None) -> None:
        self.notifier = notifier
        self.disabled = frozenset(disabled or ())

    def enabled(self, event_type: str) -> bool:
        """Glance's rule (spec §1.3): an entry equal to the event type, or to the text
        before its first dot, suppresses it; nothing else does (no ``image.member``
        group, no wildcards)."""
        return not self.disabled.intersection({event_type, event_type.split(".", 1)[0]})

    def emit(self, event_type: str, payload: Mapping[str, Any] | str,
             priority: str = INFO) -> None:
        if self.notifier is None or not self.enabled(event_type):
            return
        try:
            self.notifier.notify(priority, event_type, payload)
        except Exception:  # an event is never worth failing the request for
            LOG.exception("Unable to send notification %s", event_type)


_events = Events(None)


def install(events: Events) -> None:
    """Make ``events`` the one every later ``emit`` of this process goes through."""
    global _events
    _events = events


def emit(event_type: str, payload: Mapping[str, Any] | str, priority: str = INFO) -> None:
    """Send one event through the installed ``Events`` (a no-op if none is installed)."""
    _events.emit(event_type, payload, priority)


# -- payloads ------------------------------------------------------------------------------
def timestamp(value: dt.datetime | None) -> str | None:
    """Glance's payload time format: ``2026-12-01T22:04:31Z`` (UTC, whole seconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _comma_list(value: str | None) -> list[str]:
    return [item for item in (value or "").split(",") if item]


def image_payload(image: Image) -> dict[str, Any]:
    """The image as every ``image.*`` event but ``image.send`` carries it (spec §1.5).

    Like Glance, all custom properties, the internal ``os_glance_*`` ones included, and
    no locations; only our own process-ownership bookkeeping is left out, as no Glance
    consumer knows it and it names hosts and pids.
    """
    properties = {k: v for k, v in image.properties.items() if k != OPERATION_OWNER}
    return {
        "id": image.id, "name": image.name, "status": image.status, "owner": image.owner,
        "checksum": image.checksum, "disk_format": image.disk_format,
        "container_format": image.container_format, "size": image.size,
        "virtual_size": image.virtual_size, "min_disk": image.min_disk,
        "min_ram": image.min_ram, "protected": image.protected,
        "visibility": image.visibility, "is_public": image.visibility == "public",
        "created_at": timestamp(image.created_at), "updated_at": timestamp(image.updated_at),
        "deleted": image.deleted, "deleted_at": timestamp(image.deleted_at),
        "properties": properties, "tags": sorted(image.tags),
    }


def data_payload(image: Image, backend: str | None = None) -> dict[str, Any]:
    """``image.prepare`` / ``image.upload``: the image plus the import progress as lists,
    and (prepare only) the target store when one is known."""
    payload = image_payload(image)
    for key in ("os_glance_importing_to_stores", "os_glance_failed_import"):
        payload[key] = _comma_list(image.properties.get(key))
    if backend is not None:
        payload["backend"] = backend
    return payload


def send_payload(image: Image, ctx: RequestContext, bytes_sent: int) -> dict[str, Any]:
    """``image.send``: who fetched how many bytes of whose image (the download audit)."""
    return {"bytes_sent": bytes_sent, "image_id": image.id, "owner_id": image.owner,
            "receiver_tenant_id": ctx.project_id, "receiver_user_id": ctx.user_id}


def member_payload(member: Member, *, deleted: bool = False) -> dict[str, Any]:
    """``image.member.*``; ``deleted`` for the event of its removal."""
    return {"image_id": member.image_id, "member_id": member.member_id,
            "status": member.status, "created_at": timestamp(member.created_at),
            "updated_at": timestamp(member.updated_at), "deleted": deleted,
            "deleted_at": timestamp(utcnow()) if deleted else None}


def task_payload(task: Any) -> dict[str, Any]:
    """``task.*`` (spec §1.5): never the input; ``result`` and ``message`` always null,
    as Glance sends them; ``expires_at`` is now while the task has none yet (Glance)."""
    expires = getattr(task, "expires_at", None) or utcnow()
    return {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
            "created_at": timestamp(task.created_at), "updated_at": timestamp(task.updated_at),
            "expires_at": timestamp(expires), "result": None, "message": None,
            "deleted": False, "deleted_at": None}


# The JSON-schema keys of a metadef property, flattened into property events and listed
# per property in object events.
PROPERTY_SCHEMA_KEYS = ("type", "title", "description", "default", "minimum", "maximum",
                        "enum", "pattern", "minLength", "maxLength", "confidential",
                        "items", "uniqueItems", "minItems", "maxItems", "additionalItems")


def _field(entity: Any, key: str) -> Any:
    return entity.get(key) if isinstance(entity, Mapping) else getattr(entity, key, None)


def _deletion(deleted: bool) -> dict[str, Any]:
    return {"deleted": deleted, "deleted_at": timestamp(utcnow()) if deleted else None}


def _times(entity: Any) -> dict[str, Any]:
    return {"created_at": timestamp(_field(entity, "created_at")),
            "updated_at": timestamp(_field(entity, "updated_at"))}


def _names(namespace: str, item: Any, old_name: str | None) -> dict[str, Any]:
    """Where a metadef item lives and what it was called before a rename (Searchlight
    re-keys its index by ``name_old``)."""
    name = _field(item, "name")
    return {"namespace": namespace, "name": name, "name_old": old_name or name}


def namespace_payload(ns: Any, *, old_name: str | None = None, deleted: bool = False
                      ) -> dict[str, Any]:
    """``metadef_namespace.*`` (also the ``delete_objects/properties/tags`` events)."""
    name = _field(ns, "namespace")
    return {"namespace": name, "namespace_old": old_name or name,
            **{k: _field(ns, k) for k in ("display_name", "protected", "visibility",
                                          "owner", "description")},
            **_times(ns), **_deletion(deleted)}


def object_payload(namespace: str, obj: Any, *, old_name: str | None = None,
                   deleted: bool = False) -> dict[str, Any]:
    """``metadef_object.*``: its properties as a list of schema dicts with their names,
    falsy values null (Glance writes ``value or None`` there, and only there)."""
    props = _field(obj, "properties") or {}
    return {**_names(namespace, obj, old_name),
            "properties": [{"name": n, **{k: _field(p, k) or None
                                          for k in PROPERTY_SCHEMA_KEYS}}
                           for n, p in props.items()],
            "required": _field(obj, "required"), "description": _field(obj, "description"),
            **_times(obj), **_deletion(deleted)}


def property_payload(namespace: str, prop: Any, *, old_name: str | None = None,
                     deleted: bool = False) -> dict[str, Any]:
    """``metadef_property.*``: the schema keys flattened as stored (a ``minimum`` of 0
    stays 0), no timestamps (Glance)."""
    return {**_names(namespace, prop, old_name),
            **{k: _field(prop, k) for k in PROPERTY_SCHEMA_KEYS}, **_deletion(deleted)}


def resource_type_payload(namespace: str, association: Any, *, old_name: str | None = None,
                          deleted: bool = False) -> dict[str, Any]:
    """``metadef_resource_type.*``: one namespace/resource-type association (never
    renamed; ``old_name`` only keeps the builders' signatures alike)."""
    return {**_names(namespace, association, old_name),
            "prefix": _field(association, "prefix"),
            "properties_target": _field(association, "properties_target"),
            **_times(association), **_deletion(deleted)}


def tag_payload(namespace: str, tag: Any, *, old_name: str | None = None,
                deleted: bool = False) -> dict[str, Any]:
    """``metadef_tag.*``."""
    return {**_names(namespace, tag, old_name), **_times(tag), **_deletion(deleted)}


# -- the image data events -----------------------------------------------------------------
def data_stored(image: Image, from_status: str) -> None:
    """``image.upload`` and, when this write made the image active (it was not before),
    ``image.activate``: after the store write, before the image is saved (Glance's
    order). ``image`` is the record about to be saved, ``from_status`` what it was."""
    emit("image.upload", data_payload(image))
    if image.status == ACTIVE != from_status:
        emit("image.activate", image_payload(image))


def upload_failed(image_id: str, exc: BaseException) -> None:
    """The ERROR ``image.upload``, whose payload is Glance's text, not a dict (§1.5)."""
    emit("image.upload", failure_text(image_id, exc), ERROR)


def failure_text(image_id: str, exc: BaseException) -> str:
    """Glance's words for why data could not be written.

    Store-full and write-denied errors already carry Glance's text as their message.
    """
    if isinstance(exc, errors.LimitExceeded | errors.ServiceUnavailable):
        return str(exc)
    vanished = (f"Image {image_id} could not be found after upload. The image may have "
                "been deleted during the upload")
    prefix = {
        errors.BadRequest: f"Cannot save data for image {image_id}",
        errors.Duplicate: f"Unable to upload duplicate image data for image {image_id}",
        errors.Forbidden: f"Not allowed to upload image data for image {image_id}",
        errors.NotFound: vanished,
        errors.Gone: vanished,
    }.get(type(exc), f"Failed to upload image data for image {image_id} due to internal "
                     "error")
    return f"{prefix}: {exc}"


def audited(body: DataBody, image: Image, ctx: RequestContext, expected: int | None
            ) -> DataBody:
    """``body`` that sends ``image.send`` once the server closes it: the audit trail of
    who fetched what.

    INFO when all ``expected`` bytes went out, ERROR (with the bytes that did) when the
    transfer stopped short: a client that hangs up still leaves a trace, which Glance's
    store path does not (it only reports exhausted iterators).
    """
    def sent(count: int) -> None:
        priority = INFO if expected is None or count == expected else ERROR
        emit("image.send", send_payload(image, ctx, count), priority)

    if isinstance(body, FileBody):
        return FileBody(file=_CountedFile(body.file, sent), length=body.length)  # type: ignore[arg-type]
    return IterBody(chunks=_counted(body, sent), length=body.length)


class _CountedFile:
    """A file that reports, when closed, how far past its first byte it got.

    The server may ``sendfile`` from it: nothing is read through Python then, and
    gunicorn puts the descriptor back where it started afterwards. What remains is the
    ``seek`` Python's ``socket.sendfile`` makes through this object to just after the
    last byte it sent (also when the client hung up midway), so the furthest position
    seen, by a read or that seek, is what was sent.
    """

    def __init__(self, file: BinaryIO, on_close: Callable[[int], None]) -> None:
        self._file = file
        self._start = self._reached = file.tell()
        self._on_close: Callable[[int], None] | None = on_close

    def __getattr__(self, name: str) -> Any:  # fileno, tell, read, mode ...
        return getattr(self._file, name)

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._file.seek(offset, whence)
        self._reached = max(self._reached, position)
        return position

    def close(self) -> None:
        report, self._on_close = self._on_close, None
        if not self._file.closed:
            self._reached = max(self._reached, self._file.tell())
        self._file.close()
        if report is not None:
            report(self._reached - self._start)


def _counted(body: IterBody, on_done: Callable[[int], None]) -> Iterator[bytes]:
    count = 0
    try:
        for chunk in body.iter_chunks():
            count += len(chunk)
            yield chunk
    finally:
        on_done(count)
