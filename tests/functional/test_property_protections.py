"""Property protections over HTTP: ``property_protection_file`` decides who may create,
read, update and delete which custom properties (roles format, and policies format)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PATCH_V21, PROJECT_A, ApiClient
from tests.fixtures.service import GlanceServer

JSON = {"Accept": "application/json"}

ROLES_RULES = """\
[^x_billing_]
create = admin
read = admin,member
update = admin
delete = admin

[^x_secret$]
create = admin
read = admin
update = admin
delete = admin

[^x_frozen$]
create = member,admin
read = @
update = !
delete = !

[^x_open_]
create = @
read = @
update = @
delete = @
"""

POLICIES_RULES = """\
[^x_billing_]
create = billing_writer
read = @
update = billing_writer
delete = !

[.*]
create = @
read = @
update = @
delete = @
"""


@pytest.fixture(scope="module")
def protected(database_url: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[GlanceServer]:
    workdir = tmp_path_factory.mktemp("glance-protected")
    rules = workdir / "property-protections.conf"
    rules.write_text(ROLES_RULES)
    conf = {"DEFAULT": {"property_protection_file": str(rules)}}
    with GlanceServer(workdir, conf, paste_flavor="trusted-auth",
                      database_url=database_url) as srv:
        yield srv


@pytest.fixture
def member(protected: GlanceServer) -> ApiClient:
    return ApiClient(protected.url).as_user(PROJECT_A, roles="member,reader")


@pytest.fixture
def admin(protected: GlanceServer) -> ApiClient:
    return ApiClient(protected.url).as_user(PROJECT_A, roles="admin,member,reader")


def patch(client: ApiClient, image_id: str, *ops: dict[str, Any]):  # noqa: ANN201
    return client.patch(f"/v2/images/{image_id}", headers={**PATCH_V21, **JSON},
                        json=list(ops))


def outcome(response) -> tuple[int, str]:  # noqa: ANN001
    return response.status_code, response.json()["message"].split("<br")[0]


def test_admin_creates_an_image_with_a_protected_property(admin: ApiClient):
    image = admin.create_image(x_billing_code="42")
    assert image["x_billing_code"] == "42"


def test_member_may_not_create_a_protected_property(member: ApiClient):
    response = member.post("/v2/images", json={"x_billing_code": "42"}, headers=JSON)
    assert outcome(response) == (403, "Attribute 'x_billing_code' is reserved.")


def test_a_property_no_section_matches_is_refused(member: ApiClient):
    response = member.post("/v2/images", json={"hw_color": "blue"}, headers=JSON)
    assert outcome(response) == (403, "Attribute 'hw_color' is reserved.")


def test_an_open_property_is_created_by_anyone(member: ApiClient):
    assert member.create_image(x_open_note="hi")["x_open_note"] == "hi"


def test_a_property_the_caller_may_not_read_is_hidden_in_show_and_list(
        admin: ApiClient, member: ApiClient):
    image = admin.create_image(x_secret="s3cr3t", x_billing_code="42")
    shown = member.get(f"/v2/images/{image['id']}").json()
    assert "x_secret" not in shown
    assert shown["x_billing_code"] == "42"
    listed = {i["id"]: i for i in member.get("/v2/images").json()["images"]}
    assert "x_secret" not in listed[image["id"]]
    assert admin.get(f"/v2/images/{image['id']}").json()["x_secret"] == "s3cr3t"


def test_filtering_on_a_property_the_caller_may_not_read_finds_nothing(
        admin: ApiClient, member: ApiClient):
    image = admin.create_image(x_secret="needle")
    assert [i["id"] for i in admin.get("/v2/images?x_secret=needle").json()["images"]] == [
        image["id"]]
    assert member.get("/v2/images?x_secret=needle").json()["images"] == []


def test_member_may_not_update_a_protected_property(admin: ApiClient, member: ApiClient):
    image = admin.create_image(x_billing_code="42")
    response = patch(member, image["id"],
                     {"op": "replace", "path": "/x_billing_code", "value": "43"})
    assert outcome(response) == (403, "Attribute 'x_billing_code' is reserved.")
    assert admin.get(f"/v2/images/{image['id']}").json()["x_billing_code"] == "42"


def test_admin_updates_a_protected_property(admin: ApiClient):
    image = admin.create_image(x_billing_code="42")
    response = patch(admin, image["id"],
                     {"op": "replace", "path": "/x_billing_code", "value": "43"})
    assert (response.status_code, response.json()["x_billing_code"]) == (200, "43")


def test_nobody_updates_or_deletes_a_frozen_property(admin: ApiClient, member: ApiClient):
    image = member.create_image(x_frozen="v1")
    for op in ({"op": "replace", "path": "/x_frozen", "value": "v2"},
               {"op": "remove", "path": "/x_frozen"}):
        assert outcome(patch(admin, image["id"], op)) == (
            403, "Attribute 'x_frozen' is reserved.")
    assert admin.get(f"/v2/images/{image['id']}").json()["x_frozen"] == "v1"


def test_an_unreadable_property_is_absent_to_patch_and_survives_it(
        admin: ApiClient, member: ApiClient):
    image = admin.create_image(x_secret="s3cr3t", x_open_note="a")
    response = patch(member, image["id"], {"op": "remove", "path": "/x_secret"})
    assert outcome(response) == (409, "Property x_secret does not exist.")
    response = patch(member, image["id"],
                     {"op": "replace", "path": "/x_open_note", "value": "b"})
    assert response.status_code == 200
    assert "x_secret" not in response.json()
    assert admin.get(f"/v2/images/{image['id']}").json()["x_secret"] == "s3cr3t"


def test_member_may_not_delete_a_protected_property(admin: ApiClient, member: ApiClient):
    image = admin.create_image(x_billing_code="42")
    response = patch(member, image["id"], {"op": "remove", "path": "/x_billing_code"})
    assert outcome(response) == (403, "Attribute 'x_billing_code' is reserved.")


def test_base_attributes_are_not_protected(member: ApiClient):
    image = member.create_image(name="before")
    response = patch(member, image["id"], {"op": "replace", "path": "/name", "value": "after"})
    assert (response.status_code, response.json()["name"]) == (200, "after")


def test_policies_format_checks_the_named_policy_rule(make_server, tmp_path: Path):
    rules = tmp_path / "property-protections.conf"
    rules.write_text(POLICIES_RULES)
    policy = tmp_path / "policy.yaml"
    policy.write_text('"billing_writer": "role:billing"\n')
    server = make_server(conf={"DEFAULT": {"property_protection_file": str(rules),
                                           "property_protection_rule_format": "policies"},
                               "oslo_policy": {"policy_file": str(policy)}},
                         paste_flavor="trusted-auth")
    api = ApiClient(server.url)
    member = api.as_user(PROJECT_A, roles="member,reader")
    billing = api.as_user(PROJECT_A, roles="member,reader,billing")
    response = member.post("/v2/images", json={"x_billing_code": "1"}, headers=JSON)
    assert outcome(response) == (403, "Attribute 'x_billing_code' is reserved.")
    image = billing.create_image(x_billing_code="1")
    assert member.get(f"/v2/images/{image['id']}").json()["x_billing_code"] == "1"
    response = patch(billing, image["id"], {"op": "remove", "path": "/x_billing_code"})
    assert outcome(response) == (403, "Attribute 'x_billing_code' is reserved.")


def test_a_bad_protection_file_stops_glance_api_at_start(tmp_path: Path):
    rules = tmp_path / "property-protections.conf"
    rules.write_text("[x_(unclosed]\ncreate = @\n")
    conf = tmp_path / "glance-api.conf"
    conf.write_text(f"[DEFAULT]\nproperty_protection_file = {rules}\n")
    result = subprocess.run(
        [sys.executable, "-m", "glance_svc.cmd.api", "--config-file", str(conf)],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "section [x_(unclosed] is not a valid regular expression" in result.stderr
