"""Import plugins over HTTP (spec part 2, §6): what an import stores when they are on.

One trusted-auth server runs all three, in the order the spec recommends: decompression
first, then conversion to raw, then injection (so the caller's roles matter).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OCTET, ApiClient, import_settled, trusted_server_with
from tests.fixtures.origin import ORIGIN_ALLOWED, Origin, serving
from tests.fixtures.service import GlanceServer, merge
from tests.unit.test_import_plugins import qemu_image, zipped

MIB = 1024 * 1024
PLUGINS = merge({
    "image_import_opts": {
        "image_import_plugins": "[image_decompression,image_conversion,inject_image_metadata]"},
    "inject_metadata_properties": {"inject": "injected_key:v1"},
}, ORIGIN_ALLOWED)
GZIPPED = os.urandom(42000)
PROJECT = "0b5ee1b4d2d54f7b9e1d3b8e2b1f0a11"


@pytest.fixture(scope="module")
def plugin_server(database_url, tmp_path_factory) -> Iterator[GlanceServer]:
    yield from trusted_server_with(PLUGINS, database_url, tmp_path_factory)


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    yield from serving(Origin(gzip.compress(GZIPPED)))


@pytest.fixture
def member(plugin_server) -> ApiClient:
    return ApiClient(plugin_server.url).as_user(PROJECT)


def direct_import(api: ApiClient, data: bytes, **fields: str) -> dict:
    """Create, stage and glance-direct import ``data``; the image once the import ends."""
    fields.setdefault("container_format", "bare")
    image = api.create_image(**fields)
    staged = api.put(f"/v2/images/{image['id']}/stage", data=data, headers=OCTET)
    assert staged.status_code == 204, staged.text
    response = api.post(f"/v2/images/{image['id']}/import",
                        json={"method": {"name": "glance-direct"}})
    assert response.status_code == 202, response.text
    return api.wait_for(image["id"], import_settled)


def test_qcow2_is_stored_as_raw(member, plugin_server, tmp_path: Path):
    done = direct_import(member, qemu_image(tmp_path, "qcow2"), disk_format="qcow2",
                         container_format="ovf")
    assert (done["status"], done["disk_format"], done["container_format"]) == (
        "active", "raw", "bare")
    assert done["size"] == done["virtual_size"] == 10 * MIB
    assert member.get(f"/v2/images/{done['id']}/file").content == b"\0" * (10 * MIB)
    assert not list(plugin_server.staging_dir.glob(f"{done['id']}*"))


def test_gzipped_raw_is_stored_decompressed(member):
    data = os.urandom(42000)
    done = direct_import(member, gzip.compress(data), disk_format="raw")
    assert (done["status"], done["size"]) == ("active", 42000)
    assert member.get(f"/v2/images/{done['id']}/file").content == data


def test_data_of_another_format_fails_the_import_and_drops_the_staged_data(
        member, plugin_server):
    done = direct_import(member, os.urandom(10_000), disk_format="qcow2")
    assert (done["status"], done["size"], done["checksum"]) == ("queued", None, None)
    assert done["os_glance_importing_to_stores"] == ""
    assert not list(plugin_server.staging_dir.glob(f"{done['id']}*"))


def test_an_archive_of_two_files_returns_the_image_to_queued(member):
    done = direct_import(member, zipped(("a", b"1"), ("b", b"2")), disk_format="raw")
    assert done["status"] == "queued"


def test_a_member_import_gets_the_injected_properties(member):
    done = direct_import(member, b"\1" * 4096, disk_format="raw")
    assert (done["status"], done.get("injected_key")) == ("active", "v1")


def test_an_admin_import_gets_no_injected_properties(plugin_server):
    admin = ApiClient(plugin_server.url).as_user(PROJECT, roles="admin,member,reader")
    done = direct_import(admin, b"\1" * 4096, disk_format="raw")
    assert done["status"] == "active"
    assert "injected_key" not in done


def test_plugins_do_not_run_on_a_plain_upload(member):
    image = member.create_image(disk_format="raw", container_format="bare")
    packed = gzip.compress(b"x" * 1000)
    assert member.upload(image["id"], packed).status_code == 204
    shown = member.get(f"/v2/images/{image['id']}").json()
    assert (shown["size"], shown.get("injected_key")) == (len(packed), None)


def test_plugins_run_on_web_download_data(member, origin):
    image = member.create_image(disk_format="raw", container_format="bare")
    response = member.post(f"/v2/images/{image['id']}/import",
                           json={"method": {"name": "web-download", "uri": origin.url}})
    assert response.status_code == 202, response.text
    done = member.wait_for(image["id"], import_settled)
    assert (done["status"], done["size"], done["injected_key"]) == ("active", 42000, "v1")
    assert member.get(f"/v2/images/{image['id']}/file").content == GZIPPED
