"""python-glanceclient 4.13.0 against glance_svc: its Python API in-process, plus the CLI.

glanceclient is the client that differs most from openstacksdk on the wire: it uploads
`PUT /file` and `PUT /stage` with `Transfer-Encoding: chunked` plus x-openstack-image-size,
builds its model from `/v2/schemas/image`, probes `/versions`, and verifies every download
against os_hash_value. Each test runs once per auth flavor (see conftest).
"""

from __future__ import annotations

import re

import pytest
from glanceclient import exc

from tests.clients.conftest import MEMBER, Cloud, ImageData

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_create_then_chunked_upload_makes_active_image_with_the_files_digests(
        cloud: Cloud, image_data: ImageData):
    client = cloud.glanceclient()
    name = cloud.new_name()
    created = client.images.create(name=name, disk_format="raw", container_format="bare")
    assert created.status == "queued"
    with image_data.path.open("rb") as stream:
        client.images.upload(created.id, stream, image_size=len(image_data.data))
    cloud.assert_holds(created.id, name, image_data)


def test_list_includes_the_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    listed = {i.id: (i.name, i.status) for i in cloud.glanceclient().images.list()}
    assert listed[image["id"]] == (image["name"], "active")


def test_list_filtered_by_name_returns_only_that_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    listed = list(cloud.glanceclient().images.list(filters={"name": image["name"]}))
    assert [i.id for i in listed] == [image["id"]]


def test_get_returns_the_stored_fields(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    got = cloud.glanceclient().images.get(image["id"])
    assert (got.name, got.status, got.size, got.checksum) == (
        image["name"], "active", len(image_data.data), image_data.md5)
    assert (got.disk_format, got.container_format, got.visibility) == ("raw", "bare", "shared")


def test_update_stores_a_custom_property(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    updated = cloud.glanceclient().images.update(image["id"], hw_color="blue")
    assert updated.hw_color == "blue"
    assert cloud.http().image(image["id"])["hw_color"] == "blue"


def test_tag_update_stores_the_tag(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.glanceclient().image_tags.update(image["id"], "golden")
    assert cloud.http().image(image["id"])["tags"] == ["golden"]


def test_data_returns_exactly_the_uploaded_bytes(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    saved = image_data.path.with_name("saved.raw")
    with saved.open("wb") as out:
        for chunk in cloud.glanceclient().images.data(image["id"]):
            out.write(chunk)
    assert saved.read_bytes() == image_data.data


def test_deactivate_makes_image_deactivated(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.glanceclient().images.deactivate(image["id"])
    assert cloud.http().image(image["id"])["status"] == "deactivated"


def test_reactivate_makes_a_deactivated_image_active(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    assert cloud.http().post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    cloud.glanceclient().images.reactivate(image["id"])
    assert cloud.http().image(image["id"])["status"] == "active"


def test_member_create_shares_the_image_as_pending(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    member = cloud.glanceclient().image_members.create(image["id"], cloud.member_project_id)
    assert (member["member_id"], member["status"]) == (cloud.member_project_id, "pending")
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "pending"}


def test_member_update_accepts_the_share(cloud: Cloud, image_data: ImageData):
    """With Keystone the member project accepts with its own token; without auth, the
    unauthenticated admin context accepts on the member's behalf (nothing else exists)."""
    image = cloud.active_image(image_data)
    assert cloud.http().post(f"/v2/images/{image['id']}/members",
                             json={"member": cloud.member_project_id}).status_code == 200
    accepted = cloud.glanceclient(MEMBER).image_members.update(
        image["id"], cloud.member_project_id, "accepted")
    assert accepted["status"] == "accepted"
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "accepted"}


def test_stage_then_glance_direct_import_makes_image_active(cloud: Cloud,
                                                            image_data: ImageData):
    client = cloud.glanceclient()
    image = cloud.create_image()
    with image_data.path.open("rb") as stream:
        client.images.stage(image["id"], stream, image_size=len(image_data.data))
    assert cloud.http().image(image["id"])["status"] == "uploading"
    client.images.image_import(image["id"], method="glance-direct")
    stored = cloud.wait_for_status(image["id"], "active")
    assert (stored["status"], stored["size"], stored["checksum"]) == (
        "active", len(image_data.data), image_data.md5)
    assert stored["os_hash_value"] == image_data.sha512


def test_delete_removes_the_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    client = cloud.glanceclient()
    client.images.delete(image["id"])
    with pytest.raises(exc.HTTPNotFound):
        client.images.get(image["id"])
    assert cloud.http().get(f"/v2/images/{image['id']}").status_code == 404


# -- the `glance` CLI --------------------------------------------------------------------


def test_cli_image_create_with_file_makes_active_image(cloud: Cloud, image_data: ImageData):
    name = cloud.new_name()
    result = cloud.cli("glance", "image-create", "--name", name, "--file", str(image_data.path),
                       "--disk-format", "raw", "--container-format", "bare")
    image_id = re.search(rf"\|\s+id\s+\|\s+({UUID})\s+\|", result.stdout)
    assert image_id, result.stdout
    stored = cloud.http().image(image_id.group(1))
    assert (stored["name"], stored["status"], stored["checksum"]) == (
        name, "active", image_data.md5)


def test_cli_image_download_writes_exactly_the_uploaded_bytes(cloud: Cloud,
                                                              image_data: ImageData):
    image = cloud.active_image(image_data)
    saved = image_data.path.with_name("saved.raw")
    cloud.cli("glance", "image-download", "--file", str(saved), image["id"])
    assert saved.read_bytes() == image_data.data
