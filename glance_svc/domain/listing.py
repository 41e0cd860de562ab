"""``GET /v2/images``: from the query string to an ``ImageQuery``, and the paging links.

Every rule of spec §3.2 lives here, with Glance's messages, so that the repository only
ever sees a validated query. The query string arrives as the list of ``(key, value)``
pairs the client sent, in order, because some keys repeat (``tag``, ``sort_key``) and the
paging links must give them back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlencode

from oslo_utils import timeutils

from glance_svc import errors
from glance_svc.domain.query import DATE_OPERATORS, SORT_KEYS, DateFilter, ImageQuery

Params = Sequence[tuple[str, str]]

VISIBILITY_FILTERS = ("community", "public", "private", "shared", "all")
MEMBER_STATUS_FILTERS = ("pending", "accepted", "rejected", "all")
SORT_DIRS = ("asc", "desc")
DEFAULT_SORT_KEY = "created_at"
DEFAULT_SORT_DIR = "desc"
# Filters that accept an operator: ``in:a,b`` or ``eq:a``.
OPERATOR_COLUMNS = ("name", "id", "status", "container_format", "disk_format")
# Image columns that a plain ``key=value`` compares directly (the rest are properties).
EQUALITY_COLUMNS = ("checksum", "os_hash_value", "os_hash_algo", "min_ram", "min_disk",
                    "size", "virtual_size")
# The integer columns among them; a value the database cannot bind (SQLite takes at most
# 64 bits, and Glance answers 500 past that) is refused here, the same on every database.
INTEGER_COLUMNS = ("min_ram", "min_disk", "size", "virtual_size")
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Keys a client may not filter on: the repository's own bookkeeping (Glance overrides them).
IGNORED_KEYS = frozenset({"deleted", "deleted_at"})
# Keys with their own meaning, never custom-property filters.
CONTROL_KEYS = frozenset({
    "limit", "marker", "sort", "sort_key", "sort_dir", "member_status", "tag", "visibility",
    "owner", "size_min", "size_max", "created_at", "updated_at", "os_hidden", "protected",
    "changes-since",
})


def _last(params: Params, key: str) -> str | None:
    value = None
    for k, v in params:
        if k == key:
            value = v
    return value


def _all(params: Params, key: str) -> list[str]:
    return [v for k, v in params if k == key]


# -- operators and quoted lists (the API working group's filtering syntax) ----------------
def split_operator(expression: str) -> tuple[str, str]:
    """``"in:a,b"`` -> ``("in", "a,b")``; no operator means ``eq``.

    The value is split at its first colon, so ``ubuntu:22.04`` reads as operator
    ``ubuntu`` (refused later), exactly as Glance; an ISO 8601 time is left whole.
    """
    left, sep, right = expression.partition(":")
    if not sep:
        return "eq", expression
    try:
        timeutils.parse_isotime(expression)
    except ValueError:
        return left, right
    return "eq", expression


def _check_quotes(value: str) -> None:
    opened = False
    for i, char in enumerate(value):
        if char != '"' or (i and value[i - 1] == "\\"):
            continue
        if not opened and i and value[i - 1] != ",":
            raise errors.BadRequest(f"Invalid filter value {value}. There is no comma "
                                    "before opening quotation mark.")
        if opened and i + 1 != len(value) and value[i + 1] != ",":
            raise errors.BadRequest(f"Invalid filter value {value}. There is no comma "
                                    "after closing quotation mark.")
        opened = not opened
    if opened:
        raise errors.BadRequest(f"Invalid filter value {value}. The quote is not closed.")


_LIST_ITEM = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)",?|([^,]+),?|,')


def split_list(value: str) -> list[str]:
    """``a,"b,c",d`` -> ``["a", "b,c", "d"]``: commas inside double quotes are kept."""
    _check_quotes(value)
    return [quoted or plain for quoted, plain in _LIST_ITEM.findall(value)]


def _column_values(key: str, expression: str) -> list[str]:
    op, value = split_operator(expression)
    if op == "in":
        return split_list(value)
    if op == "eq":
        return [value]
    raise errors.BadRequest(f"Unable to filter by unknown operator '{op}'.")


def _date_filters(key: str, expressions: list[str]) -> list[DateFilter]:
    result = []
    for expression in expressions:
        op, value = split_operator(expression)
        try:
            when = timeutils.normalize_time(timeutils.parse_isotime(value))
        except (ValueError, OverflowError):  # year 9999 at -23:59 is past datetime.max
            raise errors.BadRequest(f'Bad "{key}" query filter format. '
                                    "Use ISO 8601 DateTime notation.") from None
        if op not in DATE_OPERATORS:
            raise errors.BadRequest("Unable to filter on a unknown operator.")
        result.append(DateFilter(op=op, value=when.replace(tzinfo=None)))
    return result


def _bool_filter(key: str, value: str) -> bool:
    if value not in ("true", "false"):
        raise errors.BadRequest(f"Invalid value '{value}' for '{key}' filter. "
                                "Valid values are 'true' or 'false'.")
    return value == "true"


def _within_bigint(key: str, value: str, number: int) -> int:
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise errors.BadRequest(f"Invalid value '{value}' for filter {key}: it must be "
                                f"between {BIGINT_MIN} and {BIGINT_MAX}.")
    return number


def _range(key: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise errors.BadRequest(
            "Unable to filter on a range with a non-numeric value.") from None
    return _within_bigint(key, value, number)


def _integer_column(key: str, value: str) -> str:
    """The value unchanged; 400 if it is an integer no column can hold.

    Anything else that is not an integer is the repository's to refuse, with its message.
    """
    try:
        number = int(value)
    except ValueError:
        return value
    _within_bigint(key, value, number)
    return value


# -- limit and sorting -------------------------------------------------------------------
def parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return min(default, maximum)
    try:
        limit = int(value)
    except ValueError:
        raise errors.BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise errors.BadRequest("limit param must be positive")
    return min(limit, maximum)


def sort_key(key: str, allowed: tuple[str, ...] = SORT_KEYS) -> str:
    """``key`` if it is one of ``allowed`` (the images' keys, or another list's), else 400
    with Glance's text, which every list of the API shares."""
    if key not in allowed:
        raise errors.BadRequest(f"Invalid sort key: {key}. It must be one of the "
                                f"following: {', '.join(allowed)}.")
    return key


def sort_dir(direction: str) -> str:
    if direction not in SORT_DIRS:
        raise errors.BadRequest(f"Invalid sort direction: {direction}")
    return direction


def parse_sorting(params: Params) -> tuple[list[str], list[str]]:
    """Both syntaxes: ``sort=name:asc,size`` or ``sort_key=name&sort_dir=asc`` (repeatable).

    One ``sort_dir`` applies to every key (the repository repeats it); several must
    match the keys one to one.
    """
    sort = _last(params, "sort")
    keys_given = _all(params, "sort_key")
    dirs_given = _all(params, "sort_dir")
    keys: list[str] = []
    dirs: list[str] = []
    if sort is not None:
        if keys_given or dirs_given:
            raise errors.BadRequest("Old and new sorting syntax cannot be combined")
        for item in sort.strip().split(","):
            key, _, direction = item.partition(":")
            keys.append(sort_key(key.strip()))
            dirs.append(sort_dir(direction.strip() or DEFAULT_SORT_DIR))
    else:
        keys = [sort_key(k.strip()) for k in keys_given]
        dirs = [sort_dir(d.strip()) for d in dirs_given]
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise errors.BadRequest(
                "Number of sort dirs does not match the number of sort keys")
    return keys or [DEFAULT_SORT_KEY], dirs or [DEFAULT_SORT_DIR]


# -- the whole query ------------------------------------------------------------------------
def parse_image_query(params: Params, *, project_id: str | None, is_admin: bool,
                      limit_default: int, limit_max: int) -> ImageQuery:
    """Validate the query string of ``GET /v2/images`` (400 on any bad value)."""
    if _last(params, "changes-since") is not None:
        raise errors.BadRequest('The "changes-since" filter is no longer available on v2.')
    visibility = _last(params, "visibility") or None
    if visibility is not None and visibility not in VISIBILITY_FILTERS:
        raise errors.BadRequest(f"Invalid visibility value: {visibility}")
    member_status = _last(params, "member_status") or "accepted"
    if member_status not in MEMBER_STATUS_FILTERS:
        raise errors.BadRequest(f"Invalid status: {member_status}")

    query = ImageQuery(project_id=project_id, is_admin=is_admin, visibility=visibility,
                       member_status=member_status)
    query.limit = parse_limit(_last(params, "limit"), limit_default, limit_max)
    query.marker = _last(params, "marker")
    query.sort_keys, query.sort_dirs = parse_sorting(params)
    query.tags = [t.strip() for t in _all(params, "tag")]
    query.owner = _last(params, "owner")
    query.size_min = _range("size_min", _last(params, "size_min"))
    query.size_max = _range("size_max", _last(params, "size_max"))
    query.created_at = _date_filters("created_at", _all(params, "created_at"))
    query.updated_at = _date_filters("updated_at", _all(params, "updated_at"))
    query.os_hidden = _bool_filter("os_hidden", (_last(params, "os_hidden") or "false").lower())
    protected = _last(params, "protected")
    query.protected = None if protected is None else _bool_filter("protected", protected)

    seen: set[str] = set()
    for key, _ in params:
        if key in seen or key in CONTROL_KEYS or key in IGNORED_KEYS:
            continue
        seen.add(key)
        value = _last(params, key) or ""
        if key in OPERATOR_COLUMNS:
            query.columns[key] = _column_values(key, value)
        elif key in INTEGER_COLUMNS:
            query.columns[key] = [_integer_column(key, value)]
        elif key in EQUALITY_COLUMNS:
            query.columns[key] = [value]
        else:
            query.properties[key] = value
    return query


def page_links(params: Params, next_marker: str | None, base: str = "/v2/images"
               ) -> dict[str, str]:
    """``first`` (the query minus ``marker``) and, for a full page, ``next``.

    The client's parameters come back in its order, re-encoded (``sort=name%3Aasc``);
    repeated keys such as ``tag`` are all kept, so following ``next`` keeps every filter.
    """
    kept = [(k, v) for k, v in params if k != "marker"]
    query = urlencode(kept)
    links = {"first": f"{base}?{query}" if query else base}
    if next_marker is not None:
        links["next"] = f"{base}?{urlencode([*kept, ('marker', next_marker)])}"
    return links
