"""openstacksdk 4.22.0 (the library under `openstack` and most automation) against glance_svc.

openstacksdk discovers the API through `GET /` (the 300 versions document), uploads with
Content-Length, finds images by name with `GET /v2/images/{name}` falling back to a name
filter on 404, and checks downloads against Content-MD5. Each test runs once per auth
flavor (see conftest); Connections are built from arguments, never from clouds.yaml.
"""

from __future__ import annotations

import pytest

from tests.clients.conftest import MEMBER, Cloud, ImageData

# openstacksdk warns about its own future API changes on nearly every call; they say
# nothing about glance_svc and would bury the warnings that do.
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")


def test_create_image_with_filename_makes_active_image_with_the_files_digests(
        cloud: Cloud, image_data: ImageData):
    name = cloud.new_name()
    created = cloud.sdk().image.create_image(
        name, filename=str(image_data.path), disk_format="raw", container_format="bare",
        wait=True,
    )
    cloud.assert_holds(created.id, name, image_data)


def test_images_lists_the_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    listed = {i.id: (i.name, i.status) for i in cloud.sdk().image.images()}
    assert listed[image["id"]] == (image["name"], "active")


def test_find_image_by_name_returns_it(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    found = cloud.sdk().image.find_image(image["name"], ignore_missing=False)
    assert found.id == image["id"]


def test_get_image_returns_the_stored_fields(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    got = cloud.sdk().image.get_image(image["id"])
    assert (got.name, got.status, got.size, got.checksum) == (
        image["name"], "active", len(image_data.data), image_data.md5)
    assert (got.hash_algo, got.hash_value) == ("sha512", image_data.sha512)
    assert (got.disk_format, got.container_format, got.visibility) == ("raw", "bare", "shared")


def test_update_image_stores_a_custom_property(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.sdk().image.update_image(image["id"], hw_color="blue")
    assert cloud.http().image(image["id"])["hw_color"] == "blue"


def test_add_tag_stores_the_tag(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.sdk().image.add_tag(image["id"], "golden")
    assert cloud.http().image(image["id"])["tags"] == ["golden"]


def test_download_image_to_a_file_writes_exactly_the_uploaded_bytes(cloud: Cloud,
                                                                    image_data: ImageData):
    image = cloud.active_image(image_data)
    saved = image_data.path.with_name("saved.raw")
    cloud.sdk().image.download_image(image["id"], output=str(saved))
    assert saved.read_bytes() == image_data.data


def test_deactivate_image_makes_it_deactivated(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.sdk().image.deactivate_image(image["id"])
    assert cloud.http().image(image["id"])["status"] == "deactivated"


def test_reactivate_image_makes_a_deactivated_image_active(cloud: Cloud,
                                                           image_data: ImageData):
    image = cloud.active_image(image_data)
    assert cloud.http().post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    cloud.sdk().image.reactivate_image(image["id"])
    assert cloud.http().image(image["id"])["status"] == "active"


def test_add_member_shares_the_image_as_pending(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    member = cloud.sdk().image.add_member(image["id"], member_id=cloud.member_project_id)
    assert (member.member_id, member.status) == (cloud.member_project_id, "pending")
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "pending"}


def test_update_member_accepts_the_share(cloud: Cloud, image_data: ImageData):
    """With Keystone the member project accepts with its own token; without auth, the
    unauthenticated admin context accepts on the member's behalf (nothing else exists)."""
    image = cloud.active_image(image_data)
    assert cloud.http().post(f"/v2/images/{image['id']}/members",
                             json={"member": cloud.member_project_id}).status_code == 200
    updated = cloud.sdk(MEMBER).image.update_member(
        cloud.member_project_id, image["id"], status="accepted")
    assert updated.status == "accepted"
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "accepted"}


def test_create_image_with_use_import_goes_through_glance_direct_to_active(
        cloud: Cloud, image_data: ImageData):
    created = cloud.sdk().image.create_image(
        cloud.new_name(), filename=str(image_data.path), disk_format="raw",
        container_format="bare", use_import=True,
    )
    stored = cloud.wait_for_status(created.id, "active")
    assert (stored["status"], stored["size"], stored["checksum"]) == (
        "active", len(image_data.data), image_data.md5)
    assert cloud.http().get(f"/v2/images/{created.id}/file").content == image_data.data


def test_delete_image_removes_it(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    connection = cloud.sdk()
    connection.image.delete_image(image["id"])
    assert connection.image.find_image(image["id"]) is None
    assert cloud.http().get(f"/v2/images/{image['id']}").status_code == 404
