"""Read an image PATCH body (spec §3.4) into checked ``Change`` values.

Two media types exist: v2.1 is a JSON-Patch subset (``{"op": "replace", "path": "/name",
"value": ...}``), v2.0 the older draft (``{"replace": "/name", "value": ...}``). Both
only address top-level attributes, except ``/locations/N``. Everything that can be
decided without the stored image is decided here (400 and 403), so the service only
applies changes that are well formed.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from glance_svc import errors
from glance_svc.domain.image import API_VIEWS, RESERVED, RESERVED_PREFIX, SERVICE_SET
from glance_svc.domain.schemas import Schemas

V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"
MEDIA_TYPES = {V20: 4, V21: 10}
ACCEPT_PATCH = ", ".join(sorted(MEDIA_TYPES))
OPERATIONS = ("add", "remove", "replace")

# What PATCH may never touch (403 read-only): spec §3.4; the id is fixed once created.
READ_ONLY = frozenset({*API_VIEWS, *SERVICE_SET, "id"})
# Path depth allowed per operation; only locations has an index.
_DEPTH = {"locations": {"add": 2, "remove": 2, "replace": 1}}


@dataclasses.dataclass(frozen=True)
class Change:
    """One operation: ``path`` is the decoded JSON pointer (``("name",)``,
    ``("locations", "0")``); ``draft`` 4 for the v2.0 media type, 10 for v2.1."""

    op: str
    path: tuple[str, ...]
    value: Any = None
    draft: int = 10

    @property
    def name(self) -> str:
        return self.path[0]


def draft_for(content_type: str | None) -> int:
    """The JSON-patch draft of a request media type; anything else is 415."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise errors.UnsupportedMediaType(
            f"Image PATCH expects Content-Type one of: {ACCEPT_PATCH}",
            Accept_Patch=ACCEPT_PATCH,
        )
    return MEDIA_TYPES[media_type]


def _pointer(pointer: Any) -> tuple[str, ...]:
    """Decode a JSON pointer, accepting only the simple forms Glance accepts."""
    if not isinstance(pointer, str):
        raise errors.BadRequest(f"Pointer `{pointer}` does not start with \"/\".")
    if not pointer.startswith("/"):
        raise errors.BadRequest(f"Pointer `{pointer}` does not start with \"/\".")
    if re.search(r"/\s*?/", pointer[1:]):
        raise errors.BadRequest(f"Pointer `{pointer}` contains adjacent \"/\".")
    if len(pointer) > 1 and pointer.endswith("/"):
        raise errors.BadRequest(f"Pointer `{pointer}` end with \"/\".")
    if pointer[1:].strip() == "/":
        raise errors.BadRequest(f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise errors.BadRequest(f"Pointer `{pointer}` contains \"~\" not part of a "
                                "recognized escape sequence.")
    return tuple(part.replace("~1", "/").replace("~0", "~").strip()
                 for part in pointer.lstrip("/").split("/"))


def _operation(raw: dict[str, Any], draft: int) -> tuple[str, Any]:
    if draft == 10:
        op = raw.get("op")
        if op is None:
            raise errors.BadRequest("Unable to find `op` in JSON Schema change. It must be "
                                    f"one of the following: {', '.join(OPERATIONS)}.")
        if op not in OPERATIONS:
            raise errors.BadRequest(f"Invalid operation: `{op}`. It must be one of the "
                                    f"following: {', '.join(OPERATIONS)}.")
        if "path" not in raw:
            raise errors.BadRequest("Unable to find 'path' in JSON Schema change")
        return op, raw["path"]
    found = [key for key in OPERATIONS if key in raw]
    if len(found) != 1:
        raise errors.BadRequest('Operation objects must contain exactly one member named '
                                '"add", "remove", or "replace".')
    return found[0], raw[found[0]]


def _check_attribute(name: str) -> None:
    if name in READ_ONLY:
        raise errors.Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise errors.Forbidden(f"Attribute '{name}' is reserved.")


def _check_value(change: Change, schemas: Schemas) -> None:
    if change.op == "remove":
        return
    if len(change.path) == 1:
        schemas.validate_image({change.name: change.value})
    else:  # /locations/N: the value is one element of the array
        schemas.validate_image({change.name: [change.value]})


def parse_changes(body: Any, draft: int, schemas: Schemas) -> list[Change]:
    """The operations of a PATCH body, each checked (400 malformed, 403 forbidden path)."""
    if not isinstance(body, list):
        raise errors.BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise errors.BadRequest("Operations must be JSON objects.")
        op, pointer = _operation(raw, draft)
        path = _pointer(pointer)
        if len(path) != _DEPTH.get(path[0], {}).get(op, 1):
            raise errors.BadRequest(
                f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        if op != "remove" and "value" not in raw:
            raise errors.BadRequest(f'Operation "{op}" requires a member named "value".')
        change = Change(op=op, path=path, value=raw.get("value"), draft=draft)
        _check_attribute(change.name)
        _check_value(change, schemas)
        changes.append(change)
    return changes
