"""Bad input gets a 4xx that says what is wrong, never a 500 or a dropped connection.

Each cause here once answered 500 (issue 7, item 8) or a reset (item 9). Raw
``http.client`` and sockets send the bytes ``requests`` would re-encode. The suite
runs on SQLite and MariaDB, whose integer columns differ, and through glance-registry.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import PATCH_V21, ApiClient
from tests.fixtures.raw_http import pipeline, send
from tests.fixtures.service import GlanceServer

JSON = {"Accept": "application/json", "Content-Type": "application/json"}
PATCH_V20 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
UNDECODABLE = ("Error decoding your request. Either the URL or the request body contained "
               "characters that could not be decoded by Glance")
SURROGATE = ("Malformed JSON in request body. A string holds an unpaired UTF-16 surrogate "
             "(an escape from \\ud800 to \\udfff).")
TOO_DEEP = "Malformed JSON in request body. It is nested more than 32 levels deep."
INT_MAX = 2**31 - 1
BIGINT_BOUNDS = "it must be between -9223372036854775808 and 9223372036854775807."
TITLES = {400: "Bad Request", 416: "Request Range Not Satisfiable"}


def error(status: int, message: str) -> dict[str, str]:
    """WebOb's JSON error body, as clients that ask for JSON receive it."""
    return {"message": f"{message}<br /><br />\n\n\n", "code": f"{status} {TITLES[status]}",
            "title": TITLES[status]}


def answer(server: GlanceServer, method: str, path: str, body: Any = None,
           headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, parsed JSON body) of one raw request; ``body`` is JSON unless bytes."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    response = send(server.port, method, path, body, {**JSON, **(headers or {})})
    return response.status, response.json()


@pytest.fixture
def image(api: ApiClient) -> dict[str, Any]:
    return api.create_image()


@pytest.fixture
def active(api: ApiClient) -> dict[str, Any]:
    return api.active_image(b"0123456789" * 100)


# -- URLs that are not UTF-8 -----------------------------------------------------------------
def test_undecodable_image_id_is_400(server):
    assert answer(server, "GET", "/v2/images/%ff") == (400, error(400, UNDECODABLE))


def test_undecodable_query_value_is_400(server):
    assert answer(server, "GET", "/v2/images?name=%ff") == (400, error(400, UNDECODABLE))


def test_undecodable_query_key_is_400(server):
    assert answer(server, "GET", "/v2/images?%ff=1") == (400, error(400, UNDECODABLE))


def test_overlong_utf8_tag_is_400(server, image):
    path = f"/v2/images/{image['id']}/tags/%c0%af"
    assert answer(server, "PUT", path) == (400, error(400, UNDECODABLE))


def test_undecodable_member_id_is_400(server, image):
    path = f"/v2/images/{image['id']}/members/%ff"
    assert answer(server, "GET", path) == (400, error(400, UNDECODABLE))


def test_undecodable_path_outside_v2_is_400(server):
    assert answer(server, "GET", "/%ff") == (400, error(400, UNDECODABLE))


# -- JSON that parses but cannot be stored -----------------------------------------------------
def test_lone_surrogate_in_a_create_value_is_400(server):
    body = b'{"name": "\\ud800"}'
    assert answer(server, "POST", "/v2/images", body) == (400, error(400, SURROGATE))


def test_lone_surrogate_in_a_create_key_is_400(server):
    body = b'{"\\udfff": "x"}'
    assert answer(server, "POST", "/v2/images", body) == (400, error(400, SURROGATE))


@pytest.mark.parametrize("media", [PATCH_V21, PATCH_V20], ids=["v2.1", "v2.0"])
def test_lone_surrogate_in_a_patch_is_400(server, image, media):
    body = (b'[{"op": "add", "path": "/p", "value": "\\ud83d"}]' if media is PATCH_V21
            else b'[{"add": "/p", "value": "\\ud83d"}]')
    status = answer(server, "PATCH", f"/v2/images/{image['id']}", body, media)
    assert status == (400, error(400, SURROGATE))


def test_lone_surrogate_in_a_member_is_400(server, image):
    body = b'{"member": "\\ud800"}'
    path = f"/v2/images/{image['id']}/members"
    assert answer(server, "POST", path, body) == (400, error(400, SURROGATE))


def test_paired_surrogates_are_one_character(api):
    image = api.create_image(name="\U0001f600")
    assert api.get(f"/v2/images/{image['id']}").json()["name"] == "\U0001f600"


def test_nan_is_malformed_json(server):
    body = b'{"min_ram": NaN}'
    expected = error(400, "Malformed JSON in request body.")
    assert answer(server, "POST", "/v2/images", body) == (400, expected)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_create_nested_3000_deep_is_400(server):
    assert answer(server, "POST", "/v2/images", nested(3000)) == (400, error(400, TOO_DEEP))


@pytest.mark.parametrize("media", [PATCH_V21, PATCH_V20], ids=["v2.1", "v2.0"])
def test_patch_nested_3000_deep_is_400(server, image, media):
    status = answer(server, "PATCH", f"/v2/images/{image['id']}", nested(3000), media)
    assert status == (400, error(400, TOO_DEEP))


def test_nesting_just_past_the_limit_is_400(server, image):
    body = nested(33)
    status = answer(server, "PATCH", f"/v2/images/{image['id']}", body, PATCH_V21)
    assert status == (400, error(400, TOO_DEEP))


def test_nesting_at_the_limit_reaches_the_patch_rules(server, image):
    body = nested(32)
    status, reply = answer(server, "PATCH", f"/v2/images/{image['id']}", body, PATCH_V21)
    assert (status, TOO_DEEP in reply["message"]) == (400, False)


# -- integers the columns cannot hold ----------------------------------------------------------
@pytest.mark.parametrize("key", ["min_ram", "min_disk"])
def test_create_above_32_bits_is_400(server, key):
    expected = error(400, "Provided object does not match schema 'image': 2147483648 is "
                          f"greater than the maximum of 2147483647 (in {key})")
    assert answer(server, "POST", "/v2/images", {key: INT_MAX + 1}) == (400, expected)


def test_create_above_64_bits_is_400(server):
    expected = error(400, f"Provided object does not match schema 'image': {2**63} is "
                          "greater than the maximum of 2147483647 (in min_ram)")
    assert answer(server, "POST", "/v2/images", {"min_ram": 2**63}) == (400, expected)


def test_create_at_32_bits_is_kept(api):
    image = api.create_image(min_ram=INT_MAX, min_disk=INT_MAX)
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["min_ram"], shown["min_disk"]) == (INT_MAX, INT_MAX)


@pytest.mark.parametrize("key", ["min_ram", "min_disk"])
def test_patch_above_32_bits_is_400(server, image, key):
    body = [{"op": "replace", "path": f"/{key}", "value": INT_MAX + 1}]
    expected = error(400, "Provided object does not match schema 'image': 2147483648 is "
                          f"greater than the maximum of 2147483647 (in {key})")
    path = f"/v2/images/{image['id']}"
    assert answer(server, "PATCH", path, body, PATCH_V21) == (400, expected)


def test_patch_v20_above_32_bits_is_400(server, image):
    body = [{"replace": "/min_ram", "value": INT_MAX + 1}]
    expected = error(400, "Provided object does not match schema 'image': 2147483648 is "
                          "greater than the maximum of 2147483647 (in min_ram)")
    path = f"/v2/images/{image['id']}"
    assert answer(server, "PATCH", path, body, PATCH_V20) == (400, expected)


@pytest.mark.parametrize("key", ["size_min", "size_max"])
def test_size_range_filter_of_23_digits_is_400(server, key):
    value = "1" * 23
    expected = error(400, f"Invalid value '{value}' for filter {key}: {BIGINT_BOUNDS}")
    assert answer(server, "GET", f"/v2/images?{key}={value}") == (400, expected)


@pytest.mark.parametrize("key", ["min_ram", "size"])
def test_integer_column_filter_beyond_64_bits_is_400(server, key):
    value = str(2**63)
    expected = error(400, f"Invalid value '{value}' for filter {key}: {BIGINT_BOUNDS}")
    assert answer(server, "GET", f"/v2/images?{key}={value}") == (400, expected)


def test_size_min_at_64_bits_lists_nothing(api):
    response = api.get(f"/v2/images?size_min={2**63 - 1}")
    assert (response.status_code, response.json()["images"]) == (200, [])


# -- ranges --------------------------------------------------------------------------------------
def test_range_with_a_double_dash_is_416(server, active):
    status = answer(server, "GET", f"/v2/images/{active['id']}/file",
                    headers={"Range": "bytes=--1"})
    assert status == (416, error(416, "Invalid Range header."))


def test_content_range_without_a_span_is_416(server, active):
    status = answer(server, "GET", f"/v2/images/{active['id']}/file",
                    headers={"Content-Range": "bytes */1000"})
    assert status == (416, error(416, "Invalid Content-Range header."))


# -- bodies nobody reads: answered, and the connection stays usable ----------------------------
BIG = 1_000_000


def answers_with_a_get_behind(server: GlanceServer, method: str, path: str,
                              content_type: str, image_id: str) -> list[int]:
    """Statuses of ``method path`` with a 1 MB body and a GET of the image pipelined."""
    data = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {BIG}\r\n\r\n").encode() + b" " * BIG
    data += f"GET /v2/images/{image_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    return pipeline(server.port, data, 2)


def test_patch_415_with_a_large_body_is_answered_and_keeps_the_connection(server, image):
    statuses = answers_with_a_get_behind(server, "PATCH", f"/v2/images/{image['id']}",
                                         "application/json", image["id"])
    assert statuses == [415, 200]


def test_upload_to_a_non_uuid_id_is_answered_and_keeps_the_connection(server, image):
    statuses = answers_with_a_get_behind(server, "PUT", "/v2/images/not-an-id/file",
                                         "application/octet-stream", image["id"])
    assert statuses == [404, 200]


def test_body_on_a_bodiless_route_is_answered_and_keeps_the_connection(server, image):
    path = f"/v2/images/{image['id']}/actions/deactivate"
    statuses = answers_with_a_get_behind(server, "POST", path, "application/json",
                                         image["id"])
    assert statuses == [400, 200]


def test_body_to_an_unknown_version_is_answered_and_keeps_the_connection(server, image):
    statuses = answers_with_a_get_behind(server, "POST", "/v1/images", "application/json",
                                         image["id"])
    assert statuses == [300, 200]


def test_refused_upload_keeps_the_pipelined_request(server, active):
    statuses = answers_with_a_get_behind(server, "PUT", f"/v2/images/{active['id']}/file",
                                         "application/octet-stream", active["id"])
    assert statuses == [409, 200]


# -- times past the calendar -------------------------------------------------------------------
@pytest.mark.parametrize("value", ["gte:9999-12-31T23:59:59-23:59",
                                   "lt:0001-01-01T00:00:00%2B23:59"])
def test_time_filter_beyond_the_calendar_is_400(server, value):
    expected = error(400, 'Bad "created_at" query filter format. Use ISO 8601 DateTime '
                          "notation.")
    assert answer(server, "GET", f"/v2/images?created_at={value}") == (400, expected)


# -- identity headers from a trusted proxy -----------------------------------------------------
@pytest.mark.parametrize("catalog", ["00", "[" * 3000], ids=["junk", "deep"])
def test_unparsable_service_catalog_is_400(trusted_server, catalog):
    headers = {"X-Identity-Status": "Confirmed", "X-Roles": "member", "X-Project-Id": "p",
               "X-Service-Catalog": catalog}
    status = answer(trusted_server, "GET", "/v2/images", headers=headers)
    assert status == (400, error(400, "Invalid service catalog json."))
