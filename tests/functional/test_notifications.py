"""Notifications on a real RabbitMQ (spec part 2 §1), read back the way Ceilometer reads
them: an oslo.messaging listener on exchange ``glance``, topic ``notifications``.

One broker and one trusted-auth glance-api (``driver = messagingv2``) per module; each
test looks only at the events of the images it made. The last test kills the broker and
starts it again (one broker start is a good part of this module's time).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import (
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    import_settled,
    trusted_server_with,
)
from tests.fixtures import rabbitmq
from tests.fixtures.rabbitmq import EventListener, RabbitMQServer, about, sequence
from tests.fixtures.service import GlanceServer
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import ADMIN_ROLES, IMAGE_TYPE, NAMESPACES, unique

catalog = fx.catalog  # the packaged resource types, for associations
pytestmark = pytest.mark.skipif(not rabbitmq.available(),
                                reason="Debian's rabbitmq-server is not installed")

IMAGE_KEYS = sorted([
    "id", "name", "status", "owner", "checksum", "disk_format", "container_format", "size",
    "virtual_size", "min_disk", "min_ram", "protected", "visibility", "is_public",
    "created_at", "updated_at", "deleted", "deleted_at", "properties", "tags"])
STAMPS = ["created_at", "updated_at"]
DELETION = ["deleted", "deleted_at"]
NAMESPACE_KEYS = sorted(["namespace", "namespace_old", "display_name", "protected",
                         "visibility", "owner", "description", *STAMPS, *DELETION])
ITEM_NAMES = ["namespace", "name", "name_old", *DELETION]
OBJECT_KEYS = sorted([*ITEM_NAMES, "properties", "required", "description", *STAMPS])
PROPERTY_KEYS = sorted([*ITEM_NAMES, "type", "title", "description", "default", "minimum",
                        "maximum", "enum", "pattern", "minLength", "maxLength",
                        "confidential", "items", "uniqueItems", "minItems", "maxItems",
                        "additionalItems"])
RESOURCE_TYPE_KEYS = sorted([*ITEM_NAMES, "prefix", "properties_target", *STAMPS])
TAG_KEYS = sorted([*ITEM_NAMES, *STAMPS])
ZULU = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
DATA = b"\x01" * 2048
# Generous: with the broker down an API call takes milliseconds here; Glance's would hang
# until the broker returns (its default retry = -1 blocks the request).
BROKER_DOWN_BOUND_SECONDS = 5.0


def notification_conf(url: str) -> dict[str, dict[str, Any]]:
    """What a deployment sets to send to ``url``; reconnects kept short for the tests."""
    return {"oslo_messaging_notifications": {"driver": "messagingv2", "transport_url": url},
            "oslo_messaging_rabbit": {"rabbit_retry_interval": 1, "rabbit_retry_backoff": 1,
                                      "rabbit_interval_max": 2}}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    yield from rabbitmq.broker(tmp_path_factory.mktemp("rabbitmq"))


@pytest.fixture(scope="module")
def listener(broker: RabbitMQServer) -> Iterator[EventListener]:
    with EventListener(broker.url) as events:
        yield events


@pytest.fixture(scope="module")
def notifying_server(broker: RabbitMQServer, database_url: str,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    yield from trusted_server_with(notification_conf(broker.url), database_url,
                                   tmp_path_factory)


@pytest.fixture
def owner(notifying_server: GlanceServer, listener: EventListener) -> ApiClient:
    return ApiClient(notifying_server.url).as_user(PROJECT_A, user_id="alice")


def active(owner: ApiClient, **fields: Any) -> dict[str, Any]:
    image = owner.create_image(disk_format="raw", container_format="bare", **fields)
    assert owner.upload(image["id"], DATA).status_code == 204
    return image


def test_create_sends_image_create_with_glance_envelope_and_payload(
        owner: ApiClient, listener: EventListener) -> None:
    image = owner.create_image(name="notified", tags=["t1"], visibility="private",
                               foo="bar")
    [event] = listener.wait_for(lambda e: about(image["id"])(e)
                                and e["event_type"] == "image.create")
    payload = event["payload"]
    assert (event["priority"], event["publisher_id"], sorted(payload)) == (
        "INFO", "image.localhost", IMAGE_KEYS)
    assert {k: payload[k] for k in ("name", "status", "owner", "visibility", "is_public",
                                    "tags", "properties", "deleted", "deleted_at", "size")} == {
        "name": "notified", "status": "queued", "owner": PROJECT_A, "visibility": "private",
        "is_public": False, "tags": ["t1"], "properties": {"foo": "bar"}, "deleted": False,
        "deleted_at": None, "size": None}
    assert ZULU.match(payload["created_at"]) and ZULU.match(payload["updated_at"])
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", event["timestamp"])


def test_upload_sends_update_prepare_upload_activate_update_in_order(
        owner: ApiClient, listener: EventListener) -> None:
    image = active(owner)
    events = listener.wait_for(about(image["id"]), count=6)
    assert [e["event_type"] for e in events] == [
        "image.create", "image.update", "image.prepare", "image.upload", "image.activate",
        "image.update"]
    update, prepare, upload, activate, final = events[1:]
    assert (update["payload"]["status"], prepare["payload"]["status"],
            upload["payload"]["status"], activate["payload"]["status"],
            final["payload"]["status"]) == ("saving", "saving", "active", "active", "active")
    assert (upload["payload"]["size"], upload["payload"]["os_glance_importing_to_stores"],
            upload["payload"]["os_glance_failed_import"]) == (len(DATA), [], [])
    assert "backend" not in prepare["payload"]  # single store: no target named


def test_failed_upload_sends_error_upload_with_glance_text(
        owner: ApiClient, listener: EventListener) -> None:
    image = owner.create_image(disk_format="qcow2", container_format="bare")
    assert owner.upload(image["id"], DATA).status_code == 415
    [error] = listener.wait_for(lambda e: e["priority"] == "ERROR"
                                and image["id"] in str(e["payload"]))
    assert error["event_type"] == "image.upload"
    assert error["payload"].startswith(
        f"Failed to upload image data for image {image['id']} due to internal error: ")
    final = listener.wait_for(about(image["id"]), count=4)[-1]
    assert (final["event_type"], final["payload"]["status"]) == ("image.update", "queued")


def test_download_sends_image_send_naming_owner_and_receiver(
        owner: ApiClient, notifying_server: GlanceServer, listener: EventListener) -> None:
    image = active(owner, visibility="community")
    reader = ApiClient(notifying_server.url).as_user(PROJECT_B, user_id="bob")
    assert reader.get(f"/v2/images/{image['id']}/file").content == DATA
    [send] = listener.wait_for(lambda e: e["event_type"] == "image.send"
                               and about(image["id"])(e))
    assert (send["priority"], send["payload"]) == ("INFO", {
        "bytes_sent": len(DATA), "image_id": image["id"], "owner_id": PROJECT_A,
        "receiver_tenant_id": PROJECT_B, "receiver_user_id": "bob"})


def test_range_download_sends_the_bytes_of_the_range(
        owner: ApiClient, listener: EventListener) -> None:
    image = active(owner)
    response = owner.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    [send] = listener.wait_for(lambda e: e["event_type"] == "image.send"
                               and about(image["id"])(e))
    assert (send["priority"], send["payload"]["bytes_sent"]) == ("INFO", 100)


def test_glance_direct_import_sends_task_create_processing_success_run(
        owner: ApiClient, listener: EventListener) -> None:
    image = owner.create_image(disk_format="raw", container_format="bare")
    staged = owner.put(f"/v2/images/{image['id']}/stage", data=DATA,
                       headers={"Content-Type": "application/octet-stream"})
    assert staged.status_code == 204
    imported = owner.post(f"/v2/images/{image['id']}/import",
                          json={"method": {"name": "glance-direct"}})
    assert imported.status_code == 202
    assert owner.wait_for(image["id"], import_settled)["status"] == "active"
    [task] = owner.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
    events = listener.wait_for(lambda e: e["event_type"].startswith("task.")
                               and e["payload"]["id"] == task["id"], count=4)
    assert [e["event_type"] for e in events] == [
        "task.create", "task.processing", "task.success", "task.run"]
    assert (events[0]["payload"]["type"], events[0]["payload"]["status"],
            events[2]["payload"]["status"]) == ("api_image_import", "pending", "success")


def test_member_create_update_delete_each_send_their_event(
        owner: ApiClient, notifying_server: GlanceServer, listener: EventListener) -> None:
    image = owner.create_image()
    base = f"/v2/images/{image['id']}/members"
    assert owner.post(base, json={"member": PROJECT_B}).status_code == 200
    member = ApiClient(notifying_server.url).as_user(PROJECT_B)
    assert member.put(f"{base}/{PROJECT_B}", json={"status": "accepted"}).status_code == 200
    assert owner.delete(f"{base}/{PROJECT_B}").status_code == 204
    events = listener.wait_for(lambda e: about(image["id"])(e)
                               and e["event_type"].startswith("image.member."), count=3)
    assert [(e["event_type"], e["payload"]["member_id"], e["payload"]["status"],
             e["payload"]["deleted"]) for e in events] == [
        ("image.member.create", PROJECT_B, "pending", False),
        ("image.member.update", PROJECT_B, "accepted", False),
        ("image.member.delete", PROJECT_B, "accepted", True)]
    assert sorted(events[2]["payload"]) == ["created_at", "deleted", "deleted_at",
                                            "image_id", "member_id", "status", "updated_at"]
    assert ZULU.match(events[2]["payload"]["deleted_at"])


def test_deactivate_twice_then_reactivate_sends_two_updates(
        owner: ApiClient, notifying_server: GlanceServer, listener: EventListener) -> None:
    image = active(owner)
    admin = ApiClient(notifying_server.url).as_user(PROJECT_A, roles="admin")
    actions = f"/v2/images/{image['id']}/actions"
    for action in ("deactivate", "deactivate", "reactivate"):
        assert admin.post(f"{actions}/{action}").status_code == 204
    marker = owner.create_image()  # events of one server arrive in order: a fence
    listener.wait_for(about(marker["id"]))
    updates = [e["payload"]["status"] for e in listener.matching(about(image["id"]))
               if e["event_type"] == "image.update"]
    assert updates[-2:] == ["deactivated", "active"] and len(updates) == 4


def test_empty_patch_sends_nothing_and_delete_sends_image_delete(
        owner: ApiClient, listener: EventListener) -> None:
    image = owner.create_image()
    response = owner.patch(f"/v2/images/{image['id']}", json=[],
                           headers={"Content-Type":
                                    "application/openstack-images-v2.1-json-patch"})
    assert response.status_code == 200
    assert owner.delete(f"/v2/images/{image['id']}").status_code == 204
    events = listener.wait_for(about(image["id"]), count=2)
    assert [e["event_type"] for e in events] == ["image.create", "image.delete"]
    assert (events[1]["payload"]["status"], events[1]["payload"]["deleted"]) == (
        "deleted", True)
    assert ZULU.match(events[1]["payload"]["deleted_at"])
    assert sequence(listener, image["id"]) == ["image.create", "image.delete"]


# -- metadefs ------------------------------------------------------------------------------
@pytest.fixture
def metadef_admin(notifying_server: GlanceServer, listener: EventListener, catalog: str
                  ) -> ApiClient:
    """The only caller the default policy lets write metadefs."""
    return ApiClient(notifying_server.url, {"Accept": "application/json"}).as_user(
        PROJECT_A, roles=ADMIN_ROLES)


@pytest.fixture
def ns_name(metadef_admin: ApiClient) -> Iterator[str]:
    """A name for the test's namespace; whatever bears it afterwards is removed."""
    name = unique("ns")
    yield name
    metadef_admin.delete(f"{NAMESPACES}/{name}")


def metadef_events(listener: EventListener, owner: ApiClient, namespace: str
                   ) -> list[tuple[str, dict[str, Any]]]:
    """Every ``metadef_*`` event about ``namespace`` so far: an image made last is the
    fence, as the events of one server arrive in order."""
    marker = owner.create_image()
    listener.wait_for(about(marker["id"]))
    return [(e["event_type"], e["payload"]) for e in listener.matching(
        lambda e: e["event_type"].startswith("metadef_")
        and namespace in (e["payload"]["namespace"], e["payload"].get("namespace_old")))]


def test_namespace_create_sends_one_create_per_embedded_item_in_glance_order(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    body = {"namespace": ns_name, "display_name": "Shown", "visibility": "public",
            "resource_type_associations": [{"name": IMAGE_TYPE, "prefix": "hw_"}],
            "objects": [{"name": "cpu", "required": ["cores"],
                         "properties": {"cores": {"type": "integer", "title": "Cores"}}}],
            "tags": [{"name": "t1"}, {"name": "t2"}],
            "properties": {"ram": {"type": "integer", "title": "RAM", "minimum": 0}}}
    assert metadef_admin.post(NAMESPACES, json=body).status_code == 201
    sent = metadef_events(listener, owner, ns_name)
    assert [(event, sorted(payload)) for event, payload in sent] == [
        ("metadef_namespace.create", NAMESPACE_KEYS),
        ("metadef_resource_type.create", RESOURCE_TYPE_KEYS),
        ("metadef_object.create", OBJECT_KEYS),
        ("metadef_tag.create", TAG_KEYS), ("metadef_tag.create", TAG_KEYS),
        ("metadef_property.create", PROPERTY_KEYS)]
    namespace, association, obj, tag1, tag2, prop = (payload for _, payload in sent)
    assert {k: namespace[k] for k in ("namespace", "namespace_old", "display_name",
                                      "owner", "protected", "deleted")} == {
        "namespace": ns_name, "namespace_old": ns_name, "display_name": "Shown",
        "owner": PROJECT_A, "protected": False, "deleted": False}
    assert (association["name"], association["prefix"], obj["name"], obj["required"],
            [(p["name"], p["title"]) for p in obj["properties"]], tag1["name"],
            tag2["name"], prop["name"], prop["minimum"]) == (
        IMAGE_TYPE, "hw_", "cpu", ["cores"], [("cores", "Cores")], "t1", "t2", "ram", 0)
    assert ZULU.match(namespace["created_at"]) and ZULU.match(tag1["updated_at"])


def test_bulk_tag_create_sends_one_create_per_tag(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    assert metadef_admin.post(NAMESPACES, json={"namespace": ns_name}).status_code == 201
    response = metadef_admin.post(f"{NAMESPACES}/{ns_name}/tags",
                                  json={"tags": [{"name": "a"}, {"name": "b"}]})
    assert response.status_code == 201
    sent = metadef_events(listener, owner, ns_name)
    assert [(event, payload.get("name")) for event, payload in sent] == [
        ("metadef_namespace.create", None), ("metadef_tag.create", "a"),
        ("metadef_tag.create", "b")]


def test_object_rename_sends_update_naming_the_old_name_then_delete(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    objects = f"{NAMESPACES}/{ns_name}/objects"
    assert metadef_admin.post(NAMESPACES, json={"namespace": ns_name}).status_code == 201
    assert metadef_admin.post(objects, json={"name": "before"}).status_code == 201
    renamed = metadef_admin.put(f"{objects}/before",
                                json={"name": "after", "description": "moved"})
    assert renamed.status_code == 200
    assert metadef_admin.delete(f"{objects}/after").status_code == 204
    sent = metadef_events(listener, owner, ns_name)[1:]
    assert [(event, payload["name"], payload["name_old"], payload["description"],
             payload["deleted"]) for event, payload in sent] == [
        ("metadef_object.create", "before", "before", None, False),
        ("metadef_object.update", "after", "before", "moved", False),
        ("metadef_object.delete", "after", "after", "moved", True)]
    assert ZULU.match(sent[2][1]["deleted_at"])


def test_delete_all_objects_sends_namespace_delete_objects(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    objects = f"{NAMESPACES}/{ns_name}/objects"
    assert metadef_admin.post(NAMESPACES, json={"namespace": ns_name}).status_code == 201
    for name in ("o1", "o2"):
        assert metadef_admin.post(objects, json={"name": name}).status_code == 201
    assert metadef_admin.delete(objects).status_code == 204
    event, payload = metadef_events(listener, owner, ns_name)[-1]
    assert (event, sorted(payload), payload["namespace"], payload["deleted"]) == (
        "metadef_namespace.delete_objects", NAMESPACE_KEYS, ns_name, False)


def test_resource_type_association_sends_create_and_delete(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    associations = f"{NAMESPACES}/{ns_name}/resource_types"
    assert metadef_admin.post(NAMESPACES, json={"namespace": ns_name}).status_code == 201
    added = metadef_admin.post(associations, json={"name": IMAGE_TYPE, "prefix": "hw_",
                                                   "properties_target": "image"})
    assert added.status_code == 201
    assert metadef_admin.delete(f"{associations}/{IMAGE_TYPE}").status_code == 204
    sent = metadef_events(listener, owner, ns_name)[1:]
    assert [(event, payload["name"], payload["prefix"], payload["properties_target"],
             payload["deleted"]) for event, payload in sent] == [
        ("metadef_resource_type.create", IMAGE_TYPE, "hw_", "image", False),
        ("metadef_resource_type.delete", IMAGE_TYPE, "hw_", "image", True)]


def test_namespace_rename_sends_update_with_old_name_and_delete_marks_deleted(
        metadef_admin: ApiClient, owner: ApiClient, listener: EventListener,
        ns_name: str) -> None:
    first = unique("ns")
    assert metadef_admin.post(NAMESPACES, json={"namespace": first}).status_code == 201
    renamed = metadef_admin.put(f"{NAMESPACES}/{first}", json={"namespace": ns_name})
    assert renamed.status_code == 200
    assert metadef_admin.delete(f"{NAMESPACES}/{ns_name}").status_code == 204
    sent = metadef_events(listener, owner, ns_name)
    assert [(event, payload["namespace"], payload["namespace_old"], payload["deleted"])
            for event, payload in sent] == [
        ("metadef_namespace.update", ns_name, first, False),
        ("metadef_namespace.delete", ns_name, ns_name, True)]
    assert ZULU.match(sent[1][1]["deleted_at"])


def timed(call: Callable[[], object]) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def test_api_calls_stay_fast_while_the_broker_is_down_and_events_resume(
        owner: ApiClient, broker: RabbitMQServer, listener: EventListener) -> None:
    before = owner.create_image()
    listener.wait_for(about(before["id"]))  # the server's connection is up
    broker.stop()
    try:
        during: dict[str, Any] = {}
        create = timed(lambda: during.update(owner.create_image(disk_format="raw",
                                                                container_format="bare")))
        upload = timed(lambda: owner.upload(during["id"], DATA).raise_for_status())
        download = timed(
            lambda: owner.get(f"/v2/images/{during['id']}/file").raise_for_status())
        print(f"\nbroker down: create {create * 1000:.0f} ms, upload {upload * 1000:.0f} "
              f"ms, download {download * 1000:.0f} ms")
    finally:
        broker.start()
    assert max(create, upload, download) < BROKER_DOWN_BOUND_SECONDS
    # What was emitted during the outage waited in the queue and goes out in order.
    events = listener.wait_for(about(during["id"]), count=7, timeout=120)
    assert [e["event_type"] for e in events] == [
        "image.create", "image.update", "image.prepare", "image.upload", "image.activate",
        "image.update", "image.send"]
