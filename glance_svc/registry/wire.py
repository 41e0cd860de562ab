"""The registry's wire format: repository calls and their answers as JSON.

The shape is Glance's v2 registry RPC (spec §6.7): ``POST /rpc`` with a list of
``{"command": <method>, "kwargs": {...}}``, answered by a list of results in order. JSON
has no datetimes, sets or dataclasses, so those travel tagged:
``{"_type": "datetime", "_value": "<iso>"}``, ``{"_type": "image", "_value": {...}}`` ...
A plain dict that happens to carry a ``_type`` or ``_error`` key (an image property
named ``_type``, say) is wrapped as ``{"_type": "dict", "_value": {...}}``, so user data
can never be mistaken for a tag.

An image carries what it was read as (``Image.loaded``), which tells the registry's
``save`` what changed. An image equal to that travels without it (every answer, most
listings: half the bytes), and the receiver takes it as read as it is.

Errors travel as ``{"_error": {"cls": "glance_svc.errors.NotFound", "val": "<message>"}}``.
Only the classes of ``glance_svc.errors`` cross the wire; the client looks the name up in
that fixed table (never an import of what the server names), so a registry cannot make
its client instantiate arbitrary classes.

Both sides import this module, so the format has one definition.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from typing import Any

from glance_svc import errors
from glance_svc.domain.image import Image, Location, Member
from glance_svc.domain.metadef_repository import MetadefRepository
from glance_svc.domain.query import DateFilter, ImageQuery
from glance_svc.domain.quotas import Limits
from glance_svc.domain.repository import ImageRepository
from glance_svc.domain.task import Task, TaskQuery


def _commands(port: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(port).items()
            if not name.startswith("_") and inspect.isfunction(member)}


# The commands are exactly the public methods of the two repository interfaces: the
# registry serves nothing the API could not do through a local repository.
IMAGE_COMMANDS = _commands(ImageRepository)
METADEF_COMMANDS = _commands(MetadefRepository)
COMMANDS: dict[str, inspect.Signature] = {**IMAGE_COMMANDS, **METADEF_COMMANDS}

_RECORDS: dict[str, type[Any]] = {
    "image": Image,
    "location": Location,
    "member": Member,
    "image_query": ImageQuery,
    "date_filter": DateFilter,
    "limits": Limits,
    "task": Task,
    "task_query": TaskQuery,
}
_RECORD_TAGS = {cls: tag for tag, cls in _RECORDS.items()}
_RESERVED_KEYS = frozenset({"_type", "_error"})

ERROR_PREFIX = "glance_svc.errors."


class RegistryError(errors.GlanceError):
    """The registry failed in a way that has no class of its own (a bug, a DB outage).

    The message is the registry's; the API answers 500 as it would for a local failure.
    """


class WireError(ValueError):
    """A request or answer that does not follow this format (400 on the registry)."""


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data, tagging what JSON cannot say by itself."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        return {"_type": "datetime", "_value": value.isoformat()}
    tag = _RECORD_TAGS.get(type(value))
    if tag is not None:
        unchanged = isinstance(value, Image) and value.loaded == value
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
                  if not (unchanged and f.name == "loaded")}
        return {"_type": tag, "_value": fields}
    if isinstance(value, set | frozenset):
        return {"_type": "set", "_value": sorted(encode(v) for v in value)}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise WireError("only string keys can cross the wire")
        plain = {k: encode(v) for k, v in value.items()}
        if _RESERVED_KEYS.intersection(value):
            return {"_type": "dict", "_value": plain}
        return plain
    raise WireError(f"cannot send a {type(value).__name__} to the registry")


def decode(value: Any) -> Any:
    """The inverse of ``encode``; ``WireError`` for anything it would not produce."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "_type" not in value:
        if "_error" in value:
            raise WireError("an error object is only allowed as a whole result")
        return {k: decode(v) for k, v in value.items()}
    if set(value) != {"_type", "_value"}:
        raise WireError(f"a tagged value has exactly _type and _value, not {sorted(value)}")
    tag, inner = value["_type"], value["_value"]
    if tag == "datetime":
        if not isinstance(inner, str):
            raise WireError("a datetime is an ISO 8601 string")
        try:
            return dt.datetime.fromisoformat(inner)
        except ValueError as exc:
            raise WireError(f"bad datetime {inner!r}") from exc
    if tag == "set":
        if not isinstance(inner, list):
            raise WireError("a set is sent as a list")
        return {decode(v) for v in inner}
    if tag == "dict":
        if not isinstance(inner, dict):
            raise WireError("a wrapped dict holds a dict")
        return {k: decode(v) for k, v in inner.items()}
    cls = _RECORDS.get(tag)
    if cls is None:
        raise WireError(f"unknown type {tag!r}")
    if not isinstance(inner, dict):
        raise WireError(f"a {tag} is sent as an object")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(inner) - known
    if unknown:
        raise WireError(f"unknown {tag} fields: {', '.join(sorted(unknown))}")
    record = cls(**{k: decode(v) for k, v in inner.items()})
    if cls is Image and "loaded" not in inner:
        record.remember()  # sent unchanged since it was read (see the module docstring)
    return record


# --- errors ---------------------------------------------------------------------------

def _error_classes() -> dict[str, type[errors.GlanceError]]:
    return {
        name: obj for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, errors.GlanceError)
    }


ERROR_CLASSES = _error_classes()


def encode_error(exc: errors.GlanceError) -> dict[str, Any]:
    """``{"_error": {...}}`` for a domain error; subclasses outside ``errors`` travel
    as their nearest ``errors`` ancestor so the client can still rebuild them."""
    cls: type[errors.GlanceError] = type(exc)
    while ERROR_CLASSES.get(cls.__name__) is not cls:
        cls = cls.__mro__[1]
    body: dict[str, Any] = {"cls": ERROR_PREFIX + cls.__name__, "val": exc.message}
    if isinstance(exc, errors.InvalidStatusTransition):
        body["from_status"] = exc.from_status
        body["to_status"] = exc.to_status
    return {"_error": body}


def is_error(result: Any) -> bool:
    return isinstance(result, dict) and set(result) == {"_error"}


def decode_error(result: dict[str, Any]) -> errors.GlanceError:
    """The exception an ``{"_error": ...}`` result stands for (``RegistryError`` when the
    class is not one of ``glance_svc.errors``)."""
    body = result["_error"]
    if not isinstance(body, dict):
        return RegistryError(f"glance-registry sent a malformed error: {body!r}")
    name = str(body.get("cls", ""))
    message = str(body.get("val", ""))
    cls = ERROR_CLASSES.get(name[len(ERROR_PREFIX):]) if name.startswith(ERROR_PREFIX) else None
    if cls is None:
        return RegistryError(message or f"glance-registry failed ({name})")
    if cls is errors.InvalidStatusTransition:
        return errors.InvalidStatusTransition(str(body.get("from_status")),
                                              str(body.get("to_status")))
    return cls(message)
