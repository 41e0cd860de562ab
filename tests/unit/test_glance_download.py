"""glance-download's pieces without a network: the catalog lookup, what is copied, the
checks on the downloaded bytes (spec part 2, §4.6)."""

from __future__ import annotations

import hashlib

import pytest

from glance_svc import errors
from glance_svc.domain import glance_download
from glance_svc.domain.glance_download import RemoteImage, VerifiedBody, find_endpoint
from glance_svc.domain.image import Image

CATALOG = [
    {"type": "identity", "name": "keystone",
     "endpoints": [{"region": "RegionTwo", "publicURL": "http://keystone:5000"}]},
    {"type": "image", "name": "glance", "endpoints": [
        {"region": "RegionOne", "publicURL": "http://one:9292",
         "internalURL": "http://one-internal:9292"},
        {"region": "RegionTwo", "publicURL": "http://two:9292/"}]},
]
PREFIXES = ["hw_", "trait:", "os_distro", "os_secure_boot", "os_type"]
REMOTE_ID = "4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11"


def test_the_endpoint_is_the_image_service_of_the_region():
    assert find_endpoint(CATALOG, "RegionTwo", "public") == "http://two:9292"


def test_regions_compare_case_insensitively_and_the_interface_is_chosen():
    assert find_endpoint(CATALOG, "regionone", "internal") == "http://one-internal:9292"


def test_a_v3_catalog_is_read_too():
    catalog = [{"type": "image", "endpoints": [
        {"region_id": "RegionOne", "interface": "public", "url": "http://v3:9292"}]}]
    assert find_endpoint(catalog, "RegionOne", "public") == "http://v3:9292"


@pytest.mark.parametrize(("catalog", "region", "interface"), [
    (CATALOG, "not a region", "public"),
    (CATALOG, "RegionTwo", "admin"),
    (None, "RegionOne", "public"),
])
def test_no_endpoint_is_not_found(catalog, region, interface):
    with pytest.raises(errors.NotFound) as caught:
        find_endpoint(catalog, region, interface)
    assert caught.value.message == f"{interface} glance endpoint not found for region {region}"


def test_the_request_defaults_to_the_public_interface():
    params = glance_download.check_request({"glance_region": "R", "glance_image_id": REMOTE_ID})
    assert params["glance_service_interface"] == "public"


def test_a_remote_id_that_is_not_a_uuid_is_400():
    with pytest.raises(errors.BadRequest, match="image id does not look like a UUID: x"):
        glance_download.check_request({"glance_region": "R", "glance_image_id": "x"})


def remote(**record: object) -> RemoteImage:
    base = {"status": "active", "disk_format": "qcow2", "container_format": "bare"}
    return RemoteImage(url="http://two/v2/images/x", token="t", record={**base, **record})


def test_formats_and_matching_properties_are_copied():
    local = Image(disk_format="iso", container_format="ovf",
                  properties={"hw_cpu_cores": "1", "os_distro": "windows", "mine": "kept"})
    remote(hw_cpu_cores="5", **{"trait:STORAGE_DISK_SSD": "required"}, os_distro="rhel",
           speed="88mph", os_glance_stage_host="http://x", name="remote name",
           min_disk=3).copy_metadata(local, PREFIXES)
    assert (local.disk_format, local.container_format) == ("qcow2", "bare")
    assert local.properties == {"hw_cpu_cores": "5", "trait:STORAGE_DISK_SSD": "required",
                                "os_distro": "rhel", "mine": "kept"}
    assert (local.name, local.min_disk) == (None, 0)


def test_undo_puts_the_previous_metadata_back():
    local = Image(disk_format="iso", container_format="ovf",
                  properties={"hw_cpu_cores": "1", "os_distro": "windows"})
    undo = remote(hw_cpu_cores="5", hw_new="x").copy_metadata(local, PREFIXES)
    undo(local)
    assert (local.disk_format, local.container_format) == ("iso", "ovf")
    assert local.properties == {"hw_cpu_cores": "1", "os_distro": "windows"}


class Body:
    def __init__(self, data: bytes) -> None:
        self.data, self.length = data, len(data)

    def read(self, size: int) -> bytes:
        out, self.data = self.data[:size], self.data[size:]
        return out

    def close(self) -> None:
        pass


def record_of(data: bytes) -> dict[str, object]:
    return {"size": len(data), "checksum": hashlib.md5(data).hexdigest(),
            "os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(data).hexdigest()}


def read_all(body: VerifiedBody) -> bytes:
    out = b""
    while chunk := body.read(7):
        out += chunk
    return out


def test_matching_data_reads_through():
    data = b"remote image data" * 10
    assert read_all(VerifiedBody(Body(data), record_of(data))) == data  # type: ignore[arg-type]


def test_short_data_fails_at_its_end():
    data = b"remote image data"
    with pytest.raises(errors.BadRequest, match="Downloaded 16 bytes"):
        read_all(VerifiedBody(Body(data[:-1]), record_of(data)))  # type: ignore[arg-type]


def test_altered_data_fails_at_its_end():
    data = b"remote image data"
    with pytest.raises(errors.BadRequest, match="does not match"):
        read_all(VerifiedBody(Body(data.upper()), record_of(data)))  # type: ignore[arg-type]
