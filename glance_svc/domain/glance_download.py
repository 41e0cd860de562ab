"""glance-download: import an image from the image service of another region.

A cloud with several regions shares one Keystone; a user who has an image in region A
asks region B to import it (spec part 2, §4.6). Everything is done with the caller's
own token and catalog, so the user can only copy what they could download themselves:

1. the remote image service is the ``image`` entry of the caller's service catalog (the
   ``X-Service-Catalog`` keystonemiddleware passes on) for ``glance_region`` and
   ``glance_service_interface`` (default ``public``);
2. the remote image record is read; it must be ``active``;
3. its ``disk_format``, ``container_format`` and the properties whose names start with
   one of ``[glance_download_properties] extra_properties`` are copied onto the local
   image (never ``os_glance*`` ones); if the import fails, they are put back as they were;
4. the data is fetched into staging, and must have exactly the remote ``size``, md5
   ``checksum`` and multihash, so a truncated or altered transfer fails the import.

Both requests go through web-download's URL filter (``[import_filtering_opts]``) and
its redirect handling, so the remote endpoint must be an address that filter allows.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import Image, is_uuid
from glance_svc.store import web_download
from glance_svc.store.hashing import MultiHasher

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

LOG = logging.getLogger(__name__)

download_opts = [
    cfg.ListOpt("extra_properties",
                default=["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"],
                help="glance-download copies the remote image's properties whose names "
                     "start with one of these."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("glance_download_properties", download_opts)]


DEFAULT_INTERFACE = "public"
RESERVED_PREFIX = "os_glance"
MAX_RECORD_BYTES = 1024 * 1024  # an image record is a few KiB; refuse to buffer more
# Image attributes are never copied as properties, whatever the prefixes say.
_BASE_ATTRIBUTES = frozenset(f.name for f in dataclasses.fields(Image)) | {
    "file", "schema", "self", "direct_url", "stores"}


def check_request(method: dict[str, Any]) -> dict[str, str]:
    """The request's glance-download parameters, checked in Glance's order and defaulted."""
    if "glance_region" not in method:
        raise errors.BadRequest("'glance_region' needs to be set for glance-download "
                                "import method")
    if "glance_image_id" not in method:
        raise errors.BadRequest("'glance_image_id' needs to be set for glance-download "
                                "import method")
    image_id = str(method["glance_image_id"])
    if not is_uuid(image_id):
        raise errors.BadRequest(f"Remote image id does not look like a UUID: {image_id}")
    return {"glance_region": str(method["glance_region"]), "glance_image_id": image_id,
            "glance_service_interface": str(method.get("glance_service_interface")
                                            or DEFAULT_INTERFACE)}



def find_endpoint(catalog: Any, region: str, interface: str) -> str:
    """The ``interface`` URL of the first ``image`` service with an endpoint in ``region``.

    Regions compare case-insensitively, as in Glance. Both catalog shapes are read: the
    v2 one keystonemiddleware passes on (``publicURL``...) and the v3 one (``interface``,
    ``url``).
    """
    for service in catalog if isinstance(catalog, list) else []:
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        for endpoint in service.get("endpoints") or []:
            if not isinstance(endpoint, dict):
                continue
            where = endpoint.get("region") or endpoint.get("region_id") or ""
            if str(where).lower() != region.lower():
                continue
            url = endpoint.get(f"{interface}URL")
            if url is None and endpoint.get("interface") == interface:
                url = endpoint.get("url")
            if isinstance(url, str) and url:
                return url.rstrip("/")
    raise errors.NotFound(f"{interface} glance endpoint not found for region {region}")


@dataclasses.dataclass
class RemoteImage:
    """An active image of another region's image service, as its owner's token sees it."""

    url: str  # <endpoint>/v2/images/<id>
    token: str | None
    record: dict[str, Any]

    @classmethod
    def find(cls, conf: cfg.ConfigOpts, caller: RequestContext | None,
             params: dict[str, str]) -> RemoteImage:
        """Look the image up through the caller's catalog; it must be active."""
        catalog = getattr(caller, "service_catalog", None)
        endpoint = find_endpoint(catalog, params["glance_region"],
                                 params["glance_service_interface"])
        token = getattr(caller, "auth_token", None)
        url = f"{endpoint}/v2/images/{params['glance_image_id']}"
        body = web_download.open_url(conf, url, _headers(token))
        try:
            raw = body.read(MAX_RECORD_BYTES + 1)
        finally:
            body.close()
        try:
            record = json.loads(raw) if len(raw) <= MAX_RECORD_BYTES else None
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise errors.BadRequest(f"The image service at {endpoint} answered no image "
                                    "record")
        if record.get("status") != "active":
            raise errors.Conflict("Source image status should be active instead of "
                                  f"{record.get('status')}")
        return cls(url=url, token=token, record=record)

    @property
    def size(self) -> int | None:
        size = self.record.get("size")
        return size if isinstance(size, int) else None

    def copy_metadata(self, image: Image, prefixes: list[str]) -> Callable[[Image], None]:
        """Copy formats and matching properties onto ``image``; return how to undo it."""
        before_formats = (image.disk_format, image.container_format)
        before = {}
        for key, value in self.record.items():
            if (not isinstance(value, str) or key in _BASE_ATTRIBUTES
                    or key.startswith(RESERVED_PREFIX)
                    or not any(key.startswith(p) for p in prefixes if p)):
                continue
            before[key] = image.properties.get(key)
            image.properties[key] = value
        image.disk_format = self.record.get("disk_format") or image.disk_format
        image.container_format = (self.record.get("container_format")
                                  or image.container_format)

        def undo(target: Image) -> None:
            target.disk_format, target.container_format = before_formats
            for key, old in before.items():
                if old is None:
                    target.properties.pop(key, None)
                else:
                    target.properties[key] = old
        return undo

    def open_data(self, conf: cfg.ConfigOpts) -> VerifiedBody:
        """The remote data, checked against the record's size and hashes as it is read."""
        body = web_download.open_url(conf, f"{self.url}/file", _headers(self.token))
        return VerifiedBody(body, self.record)


def _headers(token: str | None) -> dict[str, str]:
    return {"X-Auth-Token": token} if token else {}


class VerifiedBody:
    """A remote image's data that fails at its end unless size and hashes match the record.

    Raising from the last ``read`` makes the staging write fail and remove its file, so
    data that does not match never reaches a store.
    """

    def __init__(self, body: web_download.RemoteImage, record: dict[str, Any]) -> None:
        self._body = body
        self._size = record.get("size")
        self._expected = {"md5": record.get("checksum")}
        algo = record.get("os_hash_algo")
        if algo and record.get("os_hash_value"):
            self._expected[str(algo)] = record.get("os_hash_value")
        self._expected = {k: v for k, v in self._expected.items() if v}
        self._hasher = MultiHasher(list(self._expected))
        self.length = body.length
        self._read = 0

    def read(self, size: int) -> bytes:
        chunk = self._body.read(size)
        if chunk:
            self._read += len(chunk)
            self._hasher.update(chunk)
            return chunk
        if self._size is not None and self._read != self._size:
            raise errors.BadRequest(f"Downloaded {self._read} bytes, the remote image has "
                                    f"{self._size}")
        for name, digest in self._hasher.hexdigests().items():
            if digest != self._expected[name]:
                raise errors.BadRequest(f"The downloaded data's {name} does not match the "
                                        "remote image's")
        return b""

    def close(self) -> None:
        self._hasher.close()
        self._body.close()
