"""The domain side of notifications (spec part 2 §1): which events ``disabled_notifications``
suppresses, the payloads, the texts of failed uploads and the download audit count."""

from __future__ import annotations

import datetime as dt
import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_context.context import RequestContext

from glance_svc import errors
from glance_svc.domain import events
from glance_svc.domain.evented_repository import EventedRepository
from glance_svc.domain.image import OPERATION_OWNER, Image, Member
from glance_svc.store.bodies import FileBody, IterBody


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def notify(self, priority: str, event_type: str, payload: Any) -> None:
        self.sent.append((priority, event_type, payload))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    events.install(events.Events(recorder))
    yield recorder
    events.install(events.Events(None))


@pytest.mark.parametrize(("entry", "suppressed", "sent"), [
    ("image", ["image.create", "image.member.create", "image.send"],
     ["task.create", "metadef_tag.create"]),
    ("image.member", [], ["image.member.create", "image.create"]),
    ("image.member.create", ["image.member.create"], ["image.member.update"]),
    ("task", ["task.run", "task.success"], ["image.create"]),
    ("metadef_tag", ["metadef_tag.update"], ["metadef_object.update"]),
    ("*", [], ["image.create", "task.create"]),
    ("image.*", [], ["image.create"]),
])
def test_disabled_entry_matches_full_type_or_first_segment_only(
        entry: str, suppressed: list[str], sent: list[str]) -> None:
    enabled = events.Events(Recorder(), [entry]).enabled
    assert ([t for t in suppressed if enabled(t)], [t for t in sent if not enabled(t)]) == (
        [], [])


def test_a_failing_notifier_never_fails_the_caller() -> None:
    class Broken:
        def notify(self, priority: str, event_type: str, payload: Any) -> None:
            raise ConnectionError("broker gone")

    events.Events(Broken()).emit("image.create", {})  # no exception


def test_emit_without_an_installed_notifier_sends_nothing(recorder: Recorder) -> None:
    events.install(events.Events(None))
    events.emit("image.create", {})
    assert recorder.sent == []


def test_image_payload_keeps_internal_properties_but_not_process_ownership() -> None:
    image = Image(id="i1", name="n", owner="p", visibility="public", tags={"b", "a"},
                  created_at=dt.datetime(2026, 12, 1, 22, 4, 31),
                  properties={"os_glance_stage_host": "http://h", "foo": "bar",
                              OPERATION_OWNER: "host/1/x/2"})
    payload = events.image_payload(image)
    assert (payload["properties"], payload["tags"], payload["is_public"],
            payload["created_at"], payload["deleted_at"]) == (
        {"os_glance_stage_host": "http://h", "foo": "bar"}, ["a", "b"], True,
        "2026-12-01T22:04:31Z", None)


def test_prepare_payload_splits_import_progress_and_names_the_backend() -> None:
    image = Image(properties={"os_glance_importing_to_stores": "fast,slow",
                              "os_glance_failed_import": ""})
    payload = events.data_payload(image, "fast")
    assert (payload["os_glance_importing_to_stores"], payload["os_glance_failed_import"],
            payload["backend"]) == (["fast", "slow"], [], "fast")


def test_upload_and_activate_only_when_the_write_activates(recorder: Recorder) -> None:
    events.data_stored(Image(status="active"), "saving")
    events.data_stored(Image(status="active"), "active")  # copy-image, second store
    events.data_stored(Image(status="importing"), "importing")
    assert [t for _, t, _ in recorder.sent] == [
        "image.upload", "image.activate", "image.upload", "image.upload"]


@pytest.mark.parametrize(("exc", "text"), [
    (errors.LimitExceeded("Image storage media is full: disk"),
     "Image storage media is full: disk"),
    (errors.BadRequest("bad"), "Cannot save data for image i1: bad"),
    (errors.Forbidden("no"), "Not allowed to upload image data for image i1: no"),
    (errors.Duplicate("dup"), "Unable to upload duplicate image data for image i1: dup"),
    (errors.Gone("gone"), "Image i1 could not be found after upload. The image may have "
                          "been deleted during the upload: gone"),
    (errors.UnsupportedMediaType("mismatch"),
     "Failed to upload image data for image i1 due to internal error: mismatch"),
])
def test_failed_upload_error_payload_is_glance_text(
        recorder: Recorder, exc: Exception, text: str) -> None:
    events.upload_failed("i1", exc)
    assert recorder.sent == [("ERROR", "image.upload", text)]


def test_member_delete_payload_is_marked_deleted() -> None:
    payload = events.member_payload(Member(image_id="i1", member_id="m"), deleted=True)
    assert (payload["deleted"], payload["status"], payload["deleted_at"] is not None) == (
        True, "pending", True)


def test_task_payload_has_no_input_and_expiry_now_while_unset() -> None:
    class Task:
        id, type, status, owner = "t1", "import", "pending", "p"
        created_at = updated_at = dt.datetime(2026, 1, 1)
        expires_at = None
        input = {"secret": "x"}

    payload = events.task_payload(Task())
    assert (sorted(payload), payload["result"], payload["expires_at"] is not None) == (
        ["created_at", "deleted", "deleted_at", "expires_at", "id", "message", "owner",
         "result", "status", "type", "updated_at"], None, True)


def test_property_payload_flattens_the_schema_as_stored() -> None:
    payload = events.property_payload("ns", {"name": "hw_x", "type": "integer",
                                             "title": "", "minimum": 0}, old_name="hw_y")
    assert payload == {
        "namespace": "ns", "name": "hw_x", "name_old": "hw_y", "type": "integer",
        "title": "", "description": None, "default": None, "minimum": 0, "maximum": None,
        "enum": None, "pattern": None, "minLength": None, "maxLength": None,
        "confidential": None, "items": None, "uniqueItems": None, "minItems": None,
        "maxItems": None, "additionalItems": None, "deleted": False, "deleted_at": None}


def test_object_payload_lists_its_properties_with_falsy_values_null() -> None:
    obj = {"name": "o", "required": ["p"], "description": "d",
           "properties": {"p": {"type": "integer", "title": "", "minimum": 0}},
           "created_at": dt.datetime(2026, 12, 1, 22, 4, 31, 653920),
           "updated_at": dt.datetime(2026, 12, 1, 22, 4, 32)}
    payload = events.object_payload("ns", obj, old_name="old")
    [prop] = payload.pop("properties")
    assert (prop["name"], prop["type"], prop["title"], prop["minimum"]) == (
        "p", "integer", None, None)
    assert payload == {"namespace": "ns", "name": "o", "name_old": "old",
                       "required": ["p"], "description": "d",
                       "created_at": "2026-12-01T22:04:31Z",
                       "updated_at": "2026-12-01T22:04:32Z",
                       "deleted": False, "deleted_at": None}


def ctx() -> RequestContext:
    return RequestContext(user_id="u", project_id="p")


def test_iterated_download_reports_the_bytes_sent(recorder: Recorder) -> None:
    body = events.audited(IterBody(chunks=[b"ab", b"cde"], length=5), Image(id="i1",
                          owner="o"), ctx(), expected=5)
    assert b"".join(body.iter_chunks()) == b"abcde"
    assert recorder.sent == [("INFO", "image.send", {
        "bytes_sent": 5, "image_id": "i1", "owner_id": "o", "receiver_tenant_id": "p",
        "receiver_user_id": "u"})]


def test_download_cut_short_reports_error_with_what_went_out(recorder: Recorder) -> None:
    source = io.BytesIO(b"0123456789")
    source.seek(2)
    body = events.audited(FileBody(file=source, length=8), Image(id="i1"), ctx(),
                          expected=8)
    assert isinstance(body, FileBody)
    body.file.read(3)
    body.close()
    assert [(p, payload["bytes_sent"]) for p, _, payload in recorder.sent] == [("ERROR", 3)]


def test_sendfile_download_counts_what_the_socket_sent(recorder: Recorder,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"x" * 10000)
    with path.open("rb") as source:
        source.seek(100)
        body = events.audited(FileBody(file=source, length=9900), Image(id="i1"), ctx(),
                              expected=9900)
        assert isinstance(body, FileBody)
        left, right = socket.socketpair()
        with left, right:
            start = os.lseek(body.file.fileno(), 0, os.SEEK_CUR)
            left.sendfile(body.file, offset=start, count=9900)  # as gunicorn does
            os.lseek(body.file.fileno(), start, os.SEEK_SET)  # and puts it back
            body.close()
    assert [(p, payload["bytes_sent"]) for p, _, payload in recorder.sent] == [
        ("INFO", 9900)]


class PropertyStore:
    """Just the compare-and-set write the import lock and the heartbeat use."""

    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> Image:
        return Image(id=image_id, properties={name: value} if value else {})


def test_import_lock_change_sends_image_update(recorder: Recorder) -> None:
    repo = EventedRepository(PropertyStore())  # type: ignore[arg-type]
    repo.set_property_if("i1", "os_glance_import_task", "t1", expected=None)
    assert [(t, p["properties"]) for _, t, p in recorder.sent] == [
        ("image.update", {"os_glance_import_task": "t1"})]


def test_ownership_heartbeat_sends_nothing(recorder: Recorder) -> None:
    repo = EventedRepository(PropertyStore())  # type: ignore[arg-type]
    repo.set_property_if("i1", OPERATION_OWNER, "host/1/x/2", expected="host/1/x/1")
    assert recorder.sent == []
