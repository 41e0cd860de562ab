"""glance-download over HTTP (spec part 2, §4.6): import an image from another region.

A second glance-api plays the remote region (no authentication: it serves whoever asks).
The local one trusts identity headers, so a test hands it the service catalog and token
keystonemiddleware would: the catalog names the remote server as region ``RegionTwo``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ApiClient, error_text, import_settled, trusted_server_with
from tests.fixtures.keystone import keystone  # noqa: F401 (the session fixture)
from tests.fixtures.origin import ORIGIN_ALLOWED
from tests.fixtures.service import GlanceServer, merge

DATA = os.urandom(50_000)
PROJECT = "6f1c2b7a9d0e4c3f8a5b4e2d1c0b9a87"
MISSING = "4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11"
SOURCE_PROPERTIES = {"hw_cpu_cores": "5", "trait:STORAGE_DISK_SSD": "required",
                     "os_distro": "rhel", "speed": "88mph"}
DOWNLOAD = merge({"DEFAULT": {
    "enabled_import_methods": "glance-direct,web-download,copy-image,glance-download"}},
    ORIGIN_ALLOWED)


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Iterator[GlanceServer]:
    # It takes data of any format, so a test can give this region data it refuses.
    conf = {"image_format": {"require_image_format_match": False}}
    with GlanceServer(tmp_path_factory.mktemp("glance-region-two"), conf) as srv:
        yield srv


@pytest.fixture(scope="module")
def source(remote) -> dict[str, Any]:
    """An active raw image in the remote region, with properties to copy (or not)."""
    return ApiClient(remote.url).active_image(DATA, **SOURCE_PROPERTIES)


@pytest.fixture(scope="module")
def local(database_url, tmp_path_factory) -> Iterator[GlanceServer]:
    yield from trusted_server_with(DOWNLOAD, database_url, tmp_path_factory)


def caller(server: GlanceServer, remote: GlanceServer) -> ApiClient:
    """A member of PROJECT whose catalog has the remote server as RegionTwo's image service."""
    catalog = [{"type": "image", "name": "glance", "endpoints": [
        {"region": "RegionTwo", "publicURL": remote.url, "internalURL": remote.url}]}]
    client = ApiClient(server.url).as_user(PROJECT)
    client.headers.update({"X-Service-Catalog": json.dumps(catalog),
                           "X-Auth-Token": "token-of-the-caller"})
    return client


@pytest.fixture
def api(local, remote) -> ApiClient:
    return caller(local, remote)


def target(api: ApiClient) -> dict[str, Any]:
    """The local image to import into: other formats, properties of its own."""
    return api.create_image(disk_format="iso", container_format="ovf", hw_cpu_cores="1",
                            os_distro="windows", kept="yes")


def download(api: ApiClient, image_id: str, **method: str):
    method = {"name": "glance-download", "glance_region": "RegionTwo", **method}
    return api.post(f"/v2/images/{image_id}/import", json={"method": method})


def test_import_info_lists_glance_download_when_enabled(api):
    methods = api.get("/v2/info/import").json()["import-methods"]["value"]
    assert methods == ["glance-direct", "web-download", "copy-image", "glance-download"]


def test_the_remote_image_is_imported_with_its_formats_and_chosen_properties(api, source):
    image = target(api)
    response = download(api, image["id"], glance_image_id=source["id"])
    assert response.status_code == 202, response.text
    done = api.wait_for(image["id"], import_settled)
    assert done["status"] == "active"
    assert (done["disk_format"], done["container_format"]) == ("raw", "bare")
    assert (done["hw_cpu_cores"], done["trait:STORAGE_DISK_SSD"], done["os_distro"]) == (
        "5", "required", "rhel")
    assert "speed" not in done
    assert (done["name"], done["kept"]) == (image["name"], "yes")
    assert (done["size"], done["checksum"]) == (len(DATA), hashlib.md5(DATA).hexdigest())
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA


def test_the_internal_interface_can_be_chosen(api, source):
    image = target(api)
    download(api, image["id"], glance_image_id=source["id"],
             glance_service_interface="internal")
    assert api.wait_for(image["id"], import_settled)["status"] == "active"


def test_an_unknown_region_fails_the_import_and_keeps_the_image(api, source):
    image = target(api)
    response = download(api, image["id"], glance_image_id=source["id"],
                        glance_region="not a region", glance_service_interface="not an interface")
    assert response.status_code == 202
    done = api.wait_for(image["id"], import_settled)
    assert done["status"] == "queued"
    assert (done["disk_format"], done["hw_cpu_cores"], done["os_distro"]) == (
        "iso", "1", "windows")


def test_a_missing_remote_image_fails_the_import(api):
    image = target(api)
    assert download(api, image["id"], glance_image_id=MISSING).status_code == 202
    assert api.wait_for(image["id"], import_settled)["status"] == "queued"


def test_a_remote_id_that_is_not_a_uuid_is_400(api):
    image = target(api)
    response = download(api, image["id"], glance_image_id="not-a-uuid")
    assert response.status_code == 400
    assert "image id does not look like a UUID" in error_text(response)


def test_the_region_is_required(api, source):
    image = target(api)
    response = api.post(f"/v2/images/{image['id']}/import", json={"method": {
        "name": "glance-download", "glance_image_id": source["id"]}})
    assert response.status_code == 400
    assert ("'glance_region' needs to be set for glance-download import method"
            in error_text(response))


def test_a_failed_import_puts_the_previous_metadata_back(api, remote):
    # The remote region took random bytes as qcow2; this one refuses them when storing.
    bad = ApiClient(remote.url).active_image(os.urandom(5000), disk_format="qcow2",
                                             hw_firmware_type="uefi")
    image = target(api)
    assert download(api, image["id"], glance_image_id=bad["id"]).status_code == 202
    done = api.wait_for(image["id"], import_settled)
    assert done["status"] == "queued"
    assert (done["disk_format"], done["container_format"]) == ("iso", "ovf")
    assert (done["hw_cpu_cores"], done["os_distro"]) == ("1", "windows")
    assert "hw_firmware_type" not in done


# -- with a real Keystone: the catalog and token keystonemiddleware really passes on -------
@pytest.fixture(scope="module")
def keystone_regions(keystone, tmp_path_factory) -> Iterator[tuple[GlanceServer, GlanceServer]]:  # noqa: F811
    """(local, remote): both validate tokens; the catalog has remote as RegionTwo's."""
    auth = {"keystone_authtoken": keystone.authtoken_options()}
    with GlanceServer(tmp_path_factory.mktemp("ks-region-two"), auth,
                      paste_flavor="keystone") as remote_server, \
            GlanceServer(tmp_path_factory.mktemp("ks-region-one"), merge(DOWNLOAD, auth),
                         paste_flavor="keystone") as local_server, \
            keystone.image_endpoint_in("RegionTwo", remote_server.url):
        yield local_server, remote_server


def test_a_private_image_of_another_region_is_imported_with_the_callers_token(
        keystone, keystone_regions):  # noqa: F811
    local_server, remote_server = keystone_regions
    token = {"X-Auth-Token": keystone.token(keystone.users["demo-a-member"])}
    source = ApiClient(remote_server.url, token).active_image(DATA, visibility="private",
                                                              hw_disk_bus="scsi")
    api = ApiClient(local_server.url, token)
    image = api.create_image(disk_format="iso", container_format="ovf")
    assert download(api, image["id"], glance_image_id=source["id"]).status_code == 202
    done = api.wait_for(image["id"], import_settled)
    assert (done["status"], done["disk_format"], done["hw_disk_bus"]) == (
        "active", "raw", "scsi")
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA
