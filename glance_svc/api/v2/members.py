"""Handlers of /v2/images/{id}/members[/{member_id}] (spec §3.7).

Adding a member answers 200, not 201, as Glance does; clients depend on the code only
through "success", but the body must be the member object.
"""

from __future__ import annotations

from typing import Any

import webob

from glance_svc import errors
from glance_svc.api.v2 import views
from glance_svc.api.wsgi import ApiRequest, json_response, no_content


def _object(req: ApiRequest, form: str) -> dict[str, Any]:
    body = req.json_body()
    if not isinstance(body, dict):
        raise errors.BadRequest(f"Expected a {form}")
    return body


def index(req: ApiRequest) -> webob.Response:
    members = req.deps.members.list(req.context, req.urlvars["image_id"])
    return json_response(views.members_view(members))


def create(req: ApiRequest) -> webob.Response:
    body = _object(req, 'member in the form: {"member": "image_id"}')
    if "member" not in body:
        raise errors.BadRequest("Member to be added not specified")
    member_id = body["member"]
    if not member_id:
        raise errors.BadRequest("Member can't be empty")
    if not isinstance(member_id, str) or len(member_id) > 255:
        raise errors.BadRequest("Member must be a project id of at most 255 characters")
    member = req.deps.members.create(req.context, req.urlvars["image_id"], member_id)
    return json_response(views.member_view(member))


def show(req: ApiRequest) -> webob.Response:
    member = req.deps.members.get(req.context, req.urlvars["image_id"],
                                         req.urlvars["member_id"])
    return json_response(views.member_view(member))


def update(req: ApiRequest) -> webob.Response:
    body = _object(req, 'status in the form: {"status": "status"}')
    if "status" not in body:
        raise errors.BadRequest("Status not specified")
    member = req.deps.members.update(req.context, req.urlvars["image_id"],
                                            req.urlvars["member_id"], body["status"])
    return json_response(views.member_view(member))


def delete(req: ApiRequest) -> webob.Response:
    req.deps.members.delete(req.context, req.urlvars["image_id"],
                                   req.urlvars["member_id"])
    return no_content()
