"""Handlers of /v2/tasks[/{id}] and /v2/images/{id}/tasks, and the three task views.

Glance shows a task three ways (spec §2.4): the full object at ``/v2/tasks/{id}``, a
stub in ``/v2/tasks`` lists, and the raw database row, microsecond timestamps and all,
in ``/v2/images/{id}/tasks`` (what tempest reads there).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import webob

from glance_svc import errors
from glance_svc.api.v2.views import isotime
from glance_svc.api.wsgi import ApiRequest, json_response
from glance_svc.domain import listing
from glance_svc.domain.task import Task

TASK_SCHEMA = "/v2/schemas/task"
TASKS_SCHEMA = "/v2/schemas/tasks"


def task_href(task_id: str) -> str:
    return f"/v2/tasks/{task_id}"


def _stub(task: Task) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
        "created_at": isotime(task.created_at), "updated_at": isotime(task.updated_at),
    }
    if task.expires_at is not None:
        view["expires_at"] = isotime(task.expires_at)
    view["self"] = task_href(task.id)
    view["schema"] = TASK_SCHEMA
    return view


def task_view(task: Task) -> dict[str, Any]:
    """``GET /v2/tasks/{id}``: input, result and message, and the ids that are set."""
    view = _stub(task)
    view.update(input=task.input, result=task.result, message=task.message)
    for name in ("image_id", "request_id", "user_id"):
        value = getattr(task, name)
        if value is not None:
            view[name] = value
    return view


def _raw_time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def row_view(task: Task) -> dict[str, Any]:
    """A task as ``GET /v2/images/{id}/tasks`` lists it: the database row itself."""
    return {
        "id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
        "expires_at": _raw_time(task.expires_at), "created_at": _raw_time(task.created_at),
        "updated_at": _raw_time(task.updated_at), "deleted_at": _raw_time(task.deleted_at),
        "deleted": task.deleted, "image_id": task.image_id, "request_id": task.request_id,
        "user_id": task.user_id, "input": task.input, "result": task.result,
        "message": task.message,
    }


def index(req: ApiRequest) -> webob.Response:
    params = list(req.GET.items())
    found, next_marker = req.deps.task_api.list(req.context, params)
    body: dict[str, Any] = {"tasks": [_stub(task) for task in found]}
    body.update(listing.page_links(params, next_marker, base="/v2/tasks"))
    body["schema"] = TASKS_SCHEMA
    return json_response(body)


def show(req: ApiRequest) -> webob.Response:
    return json_response(task_view(req.deps.task_api.get(req.context,
                                                         req.urlvars["task_id"])))


def create(req: ApiRequest) -> webob.Response:
    """POST /v2/tasks (legacy import): 201, ``Location`` and the pending task."""
    req.deps.task_api.authorize(req.context, "add_task")  # 403 before any body check
    if not req.has_body():
        raise errors.BadRequest("Body expected in request.")
    task = req.deps.task_api.create(req.context, req.json_object())
    return json_response(task_view(task), status=201,
                         headers={"Location": req.host_url + task_href(task.id)})


def image_tasks(req: ApiRequest) -> webob.Response:
    """GET /v2/images/{id}/tasks: ``{"tasks": [...]}``, no links."""
    found = req.deps.task_api.image_tasks(req.context, req.urlvars["image_id"])
    return json_response({"tasks": [row_view(task) for task in found]})
