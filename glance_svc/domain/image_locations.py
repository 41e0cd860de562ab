"""PATCH on ``/locations`` (spec §3.4, API 2.4 rules): add, replace and remove locations.

Only possible with ``show_multiple_locations = True``. A new location must point at data
a store can reach (the store gateway tells its size); a queued image that gains a location
becomes active. A removed location's data is deleted from its store, but only after the
image was saved, so a failed save never loses data that is still referenced.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from glance_svc import errors
from glance_svc.domain.image import ACTIVE, DELETED, QUEUED, Image, Location
from glance_svc.domain.quotas import check_location_quota
from glance_svc.store.web_download import uri_allowed

if TYPE_CHECKING:
    from oslo_config import cfg

    from glance_svc.domain.image_patch import Change

# Schemes a user may never point an image at: they would expose the API node's own files.
RESTRICTED_SCHEMES = frozenset({"file", "filesystem", "swift+config"})
HASH_FIELDS = ("checksum", "os_hash_algo", "os_hash_value")
# Schemes whose URLs the API server itself would fetch (size probe, hashing, download).
FETCHED_SCHEMES = frozenset({"http", "https"})


def passes_import_filtering(conf: cfg.ConfigOpts, url: str) -> bool:
    """Whether a new location may point at ``url``, whoever adds it (Glance 33).

    The server reads an http(s) location itself, so it must pass the same
    ``[import_filtering_opts]`` as web-download: otherwise any project member could aim
    it at 127.0.0.1 or the metadata service and download what it fetched. Checked
    before anything is fetched. Other schemes are left to their stores; a URL that
    cannot even be parsed (``http://[::1``) passes nothing.
    """
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme not in FETCHED_SCHEMES or uri_allowed(conf, url)


class LocationEditor:
    """Applies the location operations of one PATCH to one image.

    ``enforce(rule)`` checks a policy rule for the caller on this image (403 or 404);
    ``stores`` is the store gateway that sizes, places and deletes location data.
    """

    def __init__(self, conf: cfg.ConfigOpts, stores: Any, enforce: Callable[[str], None],
                 image: Image) -> None:
        self.conf = conf
        self.stores = stores
        self.enforce = enforce
        self.image = image
        self.removed: list[Location] = []

    def apply(self, change: Change) -> None:
        if change.op == "replace":
            if not change.value:
                raise errors.Forbidden("Cannot set locations to empty list.")
            self.enforce("set_image_location")
            self._replace(change.value)
        elif change.op == "add":
            self.enforce("set_image_location")
            self._add(change.path[1], change.value)
        else:
            self.enforce("delete_image_location")
            self._remove(change.path[1])

    def after_save(self) -> None:
        """Delete the data of the locations this PATCH removed."""
        for location in self.removed:
            self.stores.delete(location)

    # -- the three operations ------------------------------------------------------------
    def _visible_or_403(self, verb: str) -> None:
        if not self.conf.show_multiple_locations:
            raise errors.Forbidden(
                f"It's not allowed to {verb} locations if locations are invisible.")

    def _replace(self, value: list[dict[str, Any]]) -> None:
        self._visible_or_403("update")
        if self.image.status not in (ACTIVE, QUEUED):
            raise errors.Conflict("It's not allowed to replace locations if image status "
                                  f"is {self.image.status}.")
        hashes = self._validation_data(value)
        current = self.image.active_locations
        new_urls = sorted(loc["url"] for loc in value)
        if current and new_urls != sorted(loc.url for loc in current):
            raise errors.BadRequest("Original locations is not empty: "
                                    f"{[loc.url for loc in current]}")
        check_location_quota(self.conf, len(value))
        if current:  # same URLs: only the metadata changes
            for loc in current:
                loc.metadata = next(v.get("metadata", {}) for v in value if v["url"] == loc.url)
            return
        new = [self._checked(loc, value) for loc in value]
        self.image.locations = [*self.image.locations, *new]
        self._became_reachable(new, hashes)

    def _add(self, position: str, value: dict[str, Any]) -> None:
        self._visible_or_403("add")
        if self.image.status not in (ACTIVE, QUEUED):
            raise errors.Conflict("It's not allowed to add locations if image status is "
                                  f"{self.image.status}.")
        hashes = self._validation_data([value])
        current = self.image.active_locations
        index = _position(position, len(current), allow_end=True)
        if index is None:
            raise errors.BadRequest("Invalid position for adding a location.")
        location = self._checked(value, [])
        if any(loc.url == location.url and loc.metadata == location.metadata
               for loc in current):
            raise errors.BadRequest(f"The location {location.url} already exists")
        check_location_quota(self.conf, len(current) + 1)
        current.insert(index, location)
        inactive = [loc for loc in self.image.locations if loc.status != ACTIVE]
        self.image.locations = [*current, *inactive]
        self._became_reachable([location], hashes)

    def _remove(self, position: str) -> None:
        self._visible_or_403("remove")
        if self.image.status != ACTIVE:
            raise errors.Conflict("It's not allowed to remove locations if image status is "
                                  f"{self.image.status}.")
        current = self.image.active_locations
        if len(current) == 1:
            raise errors.Forbidden("Cannot remove last location in the image.")
        index = _position(position, len(current), allow_end=False)
        if index is None:
            raise errors.BadRequest("Invalid position for removing a location.")
        location = current[index]
        location.status = DELETED
        self.removed.append(location)

    # -- helpers --------------------------------------------------------------------------
    def _checked(self, raw: dict[str, Any], siblings: list[dict[str, Any]]) -> Location:
        """A Location for ``raw`` once a store confirmed it holds data there."""
        url = raw["url"]
        metadata = dict(raw.get("metadata") or {})
        if sum(1 for s in siblings if s["url"] == url and s.get("metadata") == raw.get(
                "metadata")) > 1:
            raise errors.BadRequest(f"The location {url} already exists")
        if not passes_import_filtering(self.conf, url):
            raise errors.BadRequest("Invalid location")
        scheme = urlsplit(url).scheme.lower()
        size_of = getattr(self.stores, "location_size", None)
        size = None
        if scheme and scheme not in RESTRICTED_SCHEMES and size_of is not None:
            size = size_of(url, metadata)
        if not size or size <= 0:
            raise errors.BadRequest("Invalid location")
        store_for = getattr(self.stores, "store_for_url", None)
        if getattr(self.stores, "multi_store", False) and store_for is not None \
                and "store" not in metadata:
            store = store_for(url)
            if store:
                metadata["store"] = store
        if self.image.size is None:
            self.image.size = size
        return Location(url=url, metadata=metadata, status=ACTIVE)

    def _became_reachable(self, new: list[Location], hashes: dict[str, str]) -> None:
        if self.image.status != QUEUED or not new:
            return
        for key, value in hashes.items():
            setattr(self.image, key, value)
        self.image.transition(ACTIVE)

    def _validation_data(self, locations: list[dict[str, Any]]) -> dict[str, str]:
        """Hashes a client vouches for with a new location (Glance's rules, 409 on conflict)."""
        given: dict[str, str] = {}
        for loc in locations:
            for key, value in (loc.get("validation_data") or {}).items():
                if given.get(key, value) != value:
                    raise errors.Conflict(f"Conflicting values for {key}")
                given[key] = value
        new: dict[str, str] = {}
        for key, value in given.items():
            current = getattr(self.image, key)
            if value == current:
                continue
            if current:
                raise errors.Conflict(f"{key} is already set with a different value")
            new[key] = value
        if not new:
            return {}
        if self.image.status != QUEUED:
            raise errors.Conflict(f"New value(s) for {', '.join(new)} may only be provided "
                                  "when image status is 'queued'")
        if "checksum" in new and not _hex_of_size(new["checksum"], 16):
            raise errors.Conflict(f"checksum ({new['checksum']}) is not the correct size "
                                  "for md5 (should be 16 bytes)")
        want = self.conf.hashing_algorithm
        algo = new.get("os_hash_algo")
        if algo != want:
            raise errors.Conflict(f"os_hash_algo must be {want}, not {algo}")
        size = hashlib.new(algo).digest_size
        if not _hex_of_size(new.get("os_hash_value", ""), size):
            raise errors.Conflict(f"os_hash_value ({new.get('os_hash_value')}) is not the "
                                  f"correct size for {algo} (should be {size} bytes)")
        return new


def _hex_of_size(value: str, size: int) -> bool:
    try:
        return len(bytes.fromhex(value)) == size
    except ValueError:
        return False


def _position(raw: str, length: int, *, allow_end: bool) -> int | None:
    """Index from a ``/locations/<N|->`` pointer: ``-`` is the end (add) or last (remove)."""
    if raw == "-":
        return length if allow_end else (length - 1 if length else None)
    if not raw.isdigit():
        return None
    index = int(raw)
    limit = length if allow_end else length - 1
    return index if 0 <= index <= limit else None
