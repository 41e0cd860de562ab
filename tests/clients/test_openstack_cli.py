"""`openstack image ...` (python-openstackclient 10.5.0 over openstacksdk) against glance_svc.

Each test runs the real CLI in a subprocess with a clean environment, once per auth
flavor, and checks over HTTP what glance_svc stored.

Sharing (`image add project`, `image set --accept`) is tested with Keystone only: the
CLI resolves the project argument, and the accepting project, through the identity
service, and in no-auth mode the only "identity service" is glance itself, so the CLI
stops before sending anything to glance (real Glance behaves the same). The no-auth
sharing path is covered by the glanceclient and openstacksdk tests, which take raw ids.
"""

from __future__ import annotations

import json
from typing import Any

from tests.clients.conftest import MEMBER, Cloud, ImageData


def openstack_json(cloud: Cloud, *args: str, who: str = "owner") -> Any:
    """Run `openstack <args> -f json` and parse what it printed."""
    return json.loads(cloud.cli("openstack", *args, "-f", "json", who=who).stdout)


def test_create_with_file_makes_active_image_with_the_files_digests(cloud: Cloud,
                                                                     image_data: ImageData):
    name = cloud.new_name()
    printed = openstack_json(
        cloud, "image", "create", "--file", str(image_data.path),
        "--disk-format", "raw", "--container-format", "bare", name,
    )
    cloud.assert_holds(printed["id"], name, image_data)


def test_list_shows_the_image_with_its_status(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    listed = openstack_json(cloud, "image", "list")
    assert {"ID": image["id"], "Name": image["name"], "Status": "active"} in listed


def test_show_by_name_prints_the_stored_fields(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    shown = openstack_json(cloud, "image", "show", image["name"])
    assert shown["id"] == image["id"]
    assert (shown["status"], shown["size"], shown["checksum"]) == (
        "active", len(image_data.data), image_data.md5)
    assert (shown["disk_format"], shown["container_format"], shown["visibility"]) == (
        "raw", "bare", "shared")


def test_set_property_stores_it(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.cli("openstack", "image", "set", "--property", "hw_color=blue", image["id"])
    assert cloud.http().image(image["id"])["hw_color"] == "blue"


def test_set_tag_stores_it(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.cli("openstack", "image", "set", "--tag", "golden", image["id"])
    assert cloud.http().image(image["id"])["tags"] == ["golden"]


def test_save_writes_exactly_the_uploaded_bytes(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    saved = image_data.path.with_name("saved.raw")
    cloud.cli("openstack", "image", "save", "--file", str(saved), image["id"])
    assert saved.read_bytes() == image_data.data


def test_set_deactivate_makes_image_deactivated(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.cli("openstack", "image", "set", "--deactivate", image["id"])
    assert cloud.http().image(image["id"])["status"] == "deactivated"


def test_set_activate_reactivates_a_deactivated_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    response = cloud.http().post(f"/v2/images/{image['id']}/actions/deactivate")
    assert response.status_code == 204, response.text
    cloud.cli("openstack", "image", "set", "--activate", image["id"])
    assert cloud.http().image(image["id"])["status"] == "active"


def test_member_list_shows_a_pending_member(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    response = cloud.http().post(f"/v2/images/{image['id']}/members",
                                 json={"member": cloud.member_project_id})
    assert response.status_code == 200, response.text
    listed = openstack_json(cloud, "image", "member", "list", image["id"])
    assert listed == [
        {"Image ID": image["id"], "Member ID": cloud.member_project_id, "Status": "pending"}
    ]


def test_add_project_shares_the_image_as_pending(keystone_cloud: Cloud, image_data: ImageData):
    cloud = keystone_cloud
    image = cloud.active_image(image_data)
    printed = openstack_json(cloud, "image", "add", "project", image["id"],
                             cloud.member_project_id)
    assert (printed["member_id"], printed["status"]) == (cloud.member_project_id, "pending")
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "pending"}


def test_member_project_accepts_with_its_own_credentials(keystone_cloud: Cloud,
                                                         image_data: ImageData):
    cloud = keystone_cloud
    image = cloud.active_image(image_data)
    response = cloud.http().post(f"/v2/images/{image['id']}/members",
                                 json={"member": cloud.member_project_id})
    assert response.status_code == 200, response.text
    cloud.cli("openstack", "image", "set", "--accept", image["id"], who=MEMBER)
    assert cloud.http().members(image["id"]) == {cloud.member_project_id: "accepted"}


def test_accepted_image_is_listed_for_the_member_project(keystone_cloud: Cloud,
                                                         image_data: ImageData):
    cloud = keystone_cloud
    image = cloud.active_image(image_data)
    member_path = f"/v2/images/{image['id']}/members"
    assert cloud.http().post(member_path, json={"member": cloud.member_project_id}
                             ).status_code == 200
    response = cloud.http(MEMBER).put(f"{member_path}/{cloud.member_project_id}",
                                      json={"status": "accepted"})
    assert response.status_code == 200, response.text
    listed = openstack_json(cloud, "image", "list", who=MEMBER)
    assert {"ID": image["id"], "Name": image["name"], "Status": "active"} in listed


def test_create_with_import_goes_through_glance_direct_to_active(cloud: Cloud,
                                                                 image_data: ImageData):
    printed = openstack_json(
        cloud, "image", "create", "--import", "--file", str(image_data.path),
        "--disk-format", "raw", "--container-format", "bare", cloud.new_name(),
    )
    stored = cloud.wait_for_status(printed["id"], "active")
    assert (stored["status"], stored["size"], stored["checksum"]) == (
        "active", len(image_data.data), image_data.md5)
    assert cloud.http().get(f"/v2/images/{printed['id']}/file").content == image_data.data


def test_delete_removes_the_image(cloud: Cloud, image_data: ImageData):
    image = cloud.active_image(image_data)
    cloud.cli("openstack", "image", "delete", image["id"])
    assert cloud.http().get(f"/v2/images/{image['id']}").status_code == 404
