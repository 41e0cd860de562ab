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

pytestmark = pytest.mark.skipif(not rabbitmq.available(),
                                reason="Debian's rabbitmq-server is not installed")

IMAGE_KEYS = sorted([
    "id", "name", "status", "owner", "checksum", "disk_format", "container_format", "size",
    "virtual_size", "min_disk", "min_ram", "protected", "visibility", "is_public",
    "created_at", "updated_at", "deleted", "deleted_at", "properties", "tags"])
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
