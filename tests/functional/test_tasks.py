"""Tasks (spec part 2, §2): what records one, its states, and the three views of it.

One trusted-auth server for the module, whose import filter admits the local origin, so
the caller's project and roles are chosen per request and location and legacy imports
can fetch from 127.0.0.1.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import (
    OCTET,
    PROJECT_A,
    PROJECT_B,
    ApiClient,
    error_text,
    import_settled,
    trusted_server_with,
)
from tests.fixtures.origin import ORIGIN_ALLOWED, Origin, serving
from tests.fixtures.service import GlanceServer

DATA = os.urandom(20_000)
INTERNAL_ERROR = "Task failed due to Internal Error"
STUB_KEYS = {"id", "type", "status", "owner", "created_at", "updated_at", "expires_at",
             "self", "schema"}
ROW_KEYS = {"id", "type", "status", "owner", "expires_at", "created_at", "updated_at",
            "deleted_at", "deleted", "image_id", "request_id", "user_id", "input", "result",
            "message"}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    for server in serving(Origin(DATA)):
        yield server.url


@pytest.fixture(scope="module")
def trusted_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[GlanceServer]:
    yield from trusted_server_with(ORIGIN_ALLOWED, database_url, tmp_path_factory)


@pytest.fixture
def admin(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A, roles="admin,member,reader", user_id="alice")


@pytest.fixture
def member(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A)


@pytest.fixture
def other(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_B)


def wait(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def image_tasks(api: ApiClient, image_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v2/images/{image_id}/tasks")
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def finished_tasks(api: ApiClient, image_id: str) -> list[dict[str, Any]]:
    """The image's tasks once every one of them is terminal (tempest's waiter)."""
    return wait(lambda: image_tasks(api, image_id),
                lambda tasks: bool(tasks) and all(t["status"] in ("success", "failure")
                                                  for t in tasks))


def glance_direct(api: ApiClient, data: bytes = DATA, **fields: str):
    """A staged image and the answer to its glance-direct import."""
    fields.setdefault("disk_format", "raw")
    image = api.create_image(container_format="bare", **fields)
    staged = api.put(f"/v2/images/{image['id']}/stage", data=data, headers=OCTET)
    assert staged.status_code == 204, staged.text
    response = api.post(f"/v2/images/{image['id']}/import",
                        json={"method": {"name": "glance-direct"}})
    assert response.status_code == 202, response.text
    return image, response


def legacy(api: ApiClient, task_input: Any, task_type: str = "import"):
    return api.post("/v2/tasks", json={"type": task_type, "input": task_input})


# -- imports record tasks ------------------------------------------------------------------
def test_glance_direct_import_records_one_successful_task(admin):
    image, response = glance_direct(admin)
    [task] = finished_tasks(admin, image["id"])
    assert set(task) == ROW_KEYS
    assert task["status"] == "success"
    assert task["type"] == "api_image_import"
    assert task["request_id"] == response.headers["x-openstack-request-id"]
    assert (task["owner"], task["user_id"], task["image_id"]) == (PROJECT_A, "alice",
                                                                  image["id"])
    assert task["input"] == {"image_id": image["id"], "backend": [None],
                             "import_req": {"method": {"name": "glance-direct"}}}
    assert task["result"] == {"image_id": image["id"]}
    assert task["message"] == "Copied 0 MiB"
    assert (task["deleted"], task["deleted_at"]) == (False, None)
    assert task["expires_at"] is not None and not task["expires_at"].endswith("Z")


def test_failed_import_records_a_failed_task(admin):
    image, _response = glance_direct(admin, os.urandom(5_000), disk_format="qcow2")
    [task] = finished_tasks(admin, image["id"])
    assert (task["status"], task["result"], task["message"]) == ("failure", None,
                                                                 INTERNAL_ERROR)
    assert admin.wait_for(image["id"], import_settled)["status"] == "queued"


def test_location_import_records_a_task(admin, origin):
    image = admin.create_image(disk_format="raw", container_format="bare")
    response = admin.post(f"/v2/images/{image['id']}/locations", json={"url": origin})
    assert response.status_code == 202, response.text
    [task] = finished_tasks(admin, image["id"])
    assert (task["type"], task["status"]) == ("location_import", "success")
    assert task["input"] == {"image_id": image["id"], "loc_url": origin,
                             "validation_data": {}}
    assert (task["result"], task["message"]) == ({"image_id": image["id"]}, "")


def test_image_without_imports_has_no_tasks(admin):
    image = admin.create_image()
    assert image_tasks(admin, image["id"]) == []


def test_tasks_of_an_invisible_image_are_404(member, other):
    image = member.create_image()
    response = other.get(f"/v2/images/{image['id']}/tasks")
    assert response.status_code == 404
    assert "The resource could not be found." in error_text(response)


def test_another_project_sees_no_tasks_of_a_shared_image(admin, other):
    image, _response = glance_direct(admin, visibility="public")
    finished_tasks(admin, image["id"])
    assert image_tasks(other, image["id"]) == []


# -- /v2/tasks and /v2/tasks/{id} ------------------------------------------------------------
def test_show_gives_the_full_task(admin):
    image, response = glance_direct(admin)
    [row] = finished_tasks(admin, image["id"])
    shown = admin.get(f"/v2/tasks/{row['id']}")
    assert shown.status_code == 200
    task = shown.json()
    assert set(task) == STUB_KEYS | {"input", "result", "message", "image_id", "request_id",
                                     "user_id"}
    assert (task["self"], task["schema"]) == (f"/v2/tasks/{row['id']}", "/v2/schemas/task")
    assert task["request_id"] == response.headers["x-openstack-request-id"]
    assert task["created_at"].endswith("Z") and task["expires_at"].endswith("Z")


def test_list_gives_stubs_with_links(admin):
    image, _response = glance_direct(admin)
    [row] = finished_tasks(admin, image["id"])
    body = admin.get("/v2/tasks?limit=1000").json()
    [stub] = [t for t in body["tasks"] if t["id"] == row["id"]]
    assert set(stub) == STUB_KEYS
    assert (body["first"], body["schema"]) == ("/v2/tasks?limit=1000", "/v2/schemas/tasks")


def test_list_pages_with_a_marker(admin):
    for _ in range(2):
        legacy(admin, {"import_from": "http://127.0.0.1:1/x", "import_from_format": "raw"})
    first = admin.get("/v2/tasks?limit=1").json()
    assert len(first["tasks"]) == 1
    marker = first["tasks"][0]["id"]
    assert first["next"] == f"/v2/tasks?limit=1&marker={marker}"
    second = admin.get(first["next"]).json()
    assert [t["id"] for t in second["tasks"]] != [marker]
    assert len(second["tasks"]) == 1


@pytest.mark.parametrize(("query", "message"), [
    ("status=done", "Invalid status value: done"),
    ("type=api_image_import", "Invalid type value: api_image_import"),
    ("sort_dir=up", "Invalid sort direction: up"),
    ("marker=nope", "Invalid marker format"),
    ("limit=-1", "limit param must be positive"),
])
def test_list_refuses_bad_parameters(admin, query, message):
    response = admin.get(f"/v2/tasks?{query}")
    assert response.status_code == 400
    assert message in error_text(response)


def test_unknown_task_is_404(admin):
    assert admin.get(f"/v2/tasks/{uuid.uuid4()}").status_code == 404


def test_tasks_cannot_be_deleted(admin):
    response = admin.delete(f"/v2/tasks/{uuid.uuid4()}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/tasks"),
    ("GET", "/v2/tasks/7b1f6c0e-3d64-4d0a-9a53-2f1f0e9c4b11"),
    ("POST", "/v2/tasks"),
])
def test_tasks_api_is_for_admins(member, method, path):
    response = member.request(method, path, json={"type": "import", "input": {}})
    assert response.status_code == 403


# -- the legacy import task ----------------------------------------------------------------
def test_legacy_import_creates_the_image_from_the_url(admin, origin):
    response = legacy(admin, {"import_from": origin, "import_from_format": "raw",
                              "image_properties": {"name": "legacy", "disk_format": "raw"}})
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["Location"].endswith(f"/v2/tasks/{created['id']}")
    assert (created["status"], created["message"], created["result"]) == ("pending", "",
                                                                          None)
    assert "expires_at" not in created
    task = wait(lambda: admin.get(f"/v2/tasks/{created['id']}").json(),
                lambda t: t["status"] in ("success", "failure"))
    assert (task["status"], task["message"]) == ("success", "")
    image_id = task["result"]["image_id"]
    image = admin.get(f"/v2/images/{image_id}").json()
    assert (image["name"], image["status"], image["container_format"]) == (
        "legacy", "active", "bare")
    assert admin.get(f"/v2/images/{image_id}/file").content == DATA


def test_legacy_import_without_a_format_fails_the_task(admin, origin):
    created = legacy(admin, {"import_from": origin}).json()
    task = wait(lambda: admin.get(f"/v2/tasks/{created['id']}").json(),
                lambda t: t["status"] in ("success", "failure"))
    assert (task["status"], task["message"]) == (
        "failure", "Input does not contain 'import_from_format' field")


def test_legacy_import_of_a_missing_url_fails_and_leaves_no_image(admin, origin):
    name = f"gone-{uuid.uuid4().hex[:8]}"
    created = legacy(admin, {"import_from": origin.replace("disk.img", "missing"),
                             "import_from_format": "raw",
                             "image_properties": {"name": name}}).json()
    task = wait(lambda: admin.get(f"/v2/tasks/{created['id']}").json(),
                lambda t: t["status"] in ("success", "failure"))
    assert task["status"] == "failure"
    assert task["message"].startswith("Uploading the image failed due to: ")
    assert admin.get(f"/v2/images?name={name}").json()["images"] == []


@pytest.mark.parametrize(("body", "message"), [
    ({"input": {}}, "Task 'type' is required"),
    ({"type": "import"}, "Task 'input' is required"),
    ({"type": "export", "input": {}}, "Provided object does not match schema 'task'"),
    ({"type": "import", "input": {}, "x": 1}, "Provided object does not match schema"),
    ({"type": "import", "input": {}}, "Invalid location: None"),
    ({"type": "import", "input": {"import_from": "file:///etc/passwd"}},
     "File based imports are not allowed. Please use a non-local source of image data."),
    ({"type": "import", "input": {"import_from": "ftp://example.com/x"}},
     "The given uri is not valid. Please specify a valid uri from the following list of "
     "supported uri ['http']"),
])
def test_legacy_import_refuses_bad_requests(admin, body, message):
    response = admin.post("/v2/tasks", json=body)
    assert response.status_code == 400
    assert message in error_text(response)


def test_legacy_import_needs_a_body(admin):
    response = admin.post("/v2/tasks")
    assert response.status_code == 400
    assert "Body expected in request." in error_text(response)


def test_legacy_import_url_must_pass_filtering(admin):
    response = legacy(admin, {"import_from": "http://127.0.0.1/x", "import_from_format": "raw"})
    assert response.status_code == 201  # this module's filter admits 127.0.0.1 ...
    response = legacy(admin, {"import_from": "https://10.0.0.1:8443/x"})
    assert response.status_code == 400  # ... but not another host
    assert ("URI for legacy import task does not pass filtering: https://10.0.0.1:8443/x"
            in error_text(response))


# -- expiry --------------------------------------------------------------------------------
def test_finished_tasks_expire_after_their_time_to_live(make_server):
    server = make_server(conf={"task": {"task_time_to_live": 0}})
    api = ApiClient(server.url)
    image, _response = glance_direct(api)
    api.wait_for(image["id"], lambda i: i["status"] == "active" and import_settled(i))
    time.sleep(1)  # the record finishes just after the lock is released
    assert image_tasks(api, image["id"]) == []
    assert api.get("/v2/tasks").json()["tasks"] == []
