"""GET /v2/images/{id}/file over HTTP (spec §3.6): 200/204/206, ranges, policy."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.conftest import PROJECT_A, PROJECT_B, ApiClient

DATA = os.urandom(10_000)
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
def image(api: ApiClient) -> dict:
    return api.active_image(DATA)


def file_path(image: dict) -> str:
    return f"/v2/images/{image['id']}/file"


def test_full_download(api, image):
    response = api.get(file_path(image))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Content-MD5"] == MD5
    assert response.headers["x-openstack-request-id"].startswith("req-")
    assert "ETag" not in response.headers
    assert "Accept-Ranges" not in response.headers


def test_image_without_data_is_204(api):
    image = api.create_image(disk_format="raw", container_format="bare")
    response = api.get(file_path(image))
    assert response.status_code == 204
    assert response.content == b""


def test_zero_byte_image_downloads_empty(api):
    image = api.active_image(b"")
    response = api.get(file_path(image))
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-MD5"] == "d41d8cd98f00b204e9800998ecf8427e"


def test_unknown_image_is_404(api):
    assert api.get("/v2/images/4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11/file").status_code == 404


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),
    ("bytes=9990-", 9990, 9999),
    ("bytes=-10", 9990, 9999),
    ("bytes=5000-20000", 5000, 9999),
    ("bytes=-20000", 0, 9999),
])
def test_range_is_206_with_content_range(api, image, header, start, end):
    response = api.get(file_path(image), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start:end + 1]
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.headers["Content-MD5"] == MD5


def test_multiple_ranges_are_400(api, image):
    response = api.get(file_path(image), headers={"Range": "bytes=0-1,5-6"})
    assert response.status_code == 400
    assert "multiple ranges are not supported" in response.text


@pytest.mark.parametrize("header", ["bytes=10000-", "bytes=20000-30000", "bytes=9-3",
                                    "bytes=abc"])
def test_unsatisfiable_range_is_416(api, image, header):
    assert api.get(file_path(image), headers={"Range": header}).status_code == 416


def test_legacy_request_content_range_is_honoured(api, image):
    response = api.get(file_path(image), headers={"Content-Range": "bytes 10-19/10000"})
    assert response.status_code == 206
    assert response.content == DATA[10:20]
    assert response.headers["Content-Range"] == "bytes 10-19/10000"


def test_legacy_content_range_past_the_end_is_416(api, image):
    response = api.get(file_path(image), headers={"Content-Range": "bytes 10-20000/*"})
    assert response.status_code == 416


def test_download_of_missing_data_is_204(api, server, image):
    (server.images_dir / image["id"]).unlink()
    assert api.get(file_path(image)).status_code == 204


def test_stray_octet_stream_content_type_on_get_is_fine(api, image):
    response = api.get(file_path(image), headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 200


# -- policy (trusted identity headers) --------------------------------------------------------
@pytest.fixture
def owner(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A)


def test_deactivated_image_is_403_for_the_owner(owner):
    image = owner.active_image(DATA)
    assert owner.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    response = owner.get(file_path(image))
    assert response.status_code == 403
    assert "Image data download is forbidden" in response.text


def test_deactivated_image_downloads_for_an_admin(owner, trusted_api):
    image = owner.active_image(DATA)
    owner.post(f"/v2/images/{image['id']}/actions/deactivate")
    admin = trusted_api.as_user(PROJECT_B, roles="admin,member,reader")
    response = admin.get(file_path(image))
    assert response.status_code == 200
    assert response.content == DATA


def test_reader_may_not_download(owner, trusted_api):
    image = owner.active_image(DATA)
    reader = trusted_api.as_user(PROJECT_A, roles="reader")
    response = reader.get(file_path(image))
    assert response.status_code == 403
    assert "download_image" in response.text


def test_other_project_cannot_see_a_private_image(owner, trusted_api):
    image = owner.active_image(DATA, visibility="private")
    other = trusted_api.as_user(PROJECT_B)
    assert other.get(file_path(image)).status_code == 404
