"""PUT /v2/images/{id}/file over HTTP against a real glance-api (spec §3.6, §5)."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import OCTET, ApiClient
from tests.fixtures.raw_http import read_answers
from tests.fixtures.service import GlanceServer
from tests.unit.test_format_samples import qcow2_image, vmdk_image

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def wait_status(api: ApiClient, image_id: str, status: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        image = api.get(f"/v2/images/{image_id}").json()
        if image["status"] == status or time.monotonic() > deadline:
            return image
        time.sleep(0.1)


def assert_clean_queued(image: dict) -> None:
    """Back to queued with nothing of the failed upload left (not Glance's stale hashes)."""
    assert image["status"] == "queued"
    assert (image["size"], image["virtual_size"], image["checksum"], image["os_hash_algo"],
            image["os_hash_value"]) == (None, None, None, None, None)


def raw_image(api: ApiClient, **fields: str) -> dict:
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    return api.create_image(**fields)


# -- success ------------------------------------------------------------------------------
def test_upload_with_content_length_activates_the_image(api):
    image = raw_image(api)
    data = os.urandom(300_000)
    response = api.upload(image["id"], data)
    assert response.status_code == 204
    assert response.content == b""
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert shown["status"] == "active"
    assert shown["size"] == 300_000
    assert shown["virtual_size"] == 300_000
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()


def test_chunked_upload_with_announced_size_activates_the_image(api):
    image = raw_image(api)
    data = os.urandom(1_000_000)
    response = api.put(f"/v2/images/{image['id']}/file", data=chunks(data),
                       headers={**OCTET, "x-openstack-image-size": str(len(data))})
    assert response.status_code == 204
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"]) == ("active", len(data))
    assert shown["checksum"] == hashlib.md5(data).hexdigest()


def test_chunked_upload_without_size_takes_the_size_of_the_stream(api):
    image = raw_image(api)
    data = os.urandom(200_001)
    assert api.put(f"/v2/images/{image['id']}/file", data=chunks(data),
                   headers=OCTET).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["size"] == 200_001


def test_zero_byte_upload_activates_with_the_empty_md5(api):
    image = raw_image(api)
    assert api.upload(image["id"], b"").status_code == 204
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["checksum"]) == ("active", 0, EMPTY_MD5)
    assert shown["os_hash_value"] == hashlib.sha512(b"").hexdigest()


def test_raw_accepts_arbitrary_bytes(api):
    image = raw_image(api)
    data = b"MZ\x90\x00" + os.urandom(4096)
    assert api.upload(image["id"], data).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["virtual_size"] == len(data)


def test_data_file_lands_in_the_file_store(api, server: GlanceServer):
    image = raw_image(api)
    api.upload(image["id"], b"stored bytes")
    assert (server.images_dir / image["id"]).read_bytes() == b"stored bytes"


# -- format inspection ---------------------------------------------------------------------
def test_real_qcow2_gets_its_virtual_size(api):
    image = raw_image(api, disk_format="qcow2")
    assert api.upload(image["id"], qcow2_image(3 * 1024 ** 3)).status_code == 204
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["virtual_size"]) == ("active", 3 * 1024 ** 3)


def test_qcow2_declared_but_raw_sent_is_415_and_cleaned(api, server):
    image = raw_image(api, disk_format="qcow2")
    response = api.upload(image["id"], os.urandom(100_000))
    assert response.status_code == 415
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())
    assert image["id"] not in server.stored_files()


def upload_then_reuse_connection(server: GlanceServer, image_id: str,
                                 data: bytes) -> tuple[int, int]:
    """PUT ``data`` and then GET the image over the same keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("PUT", f"/v2/images/{image_id}/file", body=data,
                     headers=OCTET)
        first = conn.getresponse()
        first.read()
        time.sleep(0.3)  # a close by the server arrives before the connection is reused
        conn.request("GET", f"/v2/images/{image_id}")
        second = conn.getresponse()
        second.read()
        return first.status, second.status
    finally:
        conn.close()


def test_a_format_mismatch_leaves_the_keep_alive_connection_usable(api, server):
    image = raw_image(api, disk_format="qcow2")
    assert upload_then_reuse_connection(server, image["id"], os.urandom(1_000_000)) == (
        415, 200)


def test_an_upload_to_an_active_image_leaves_the_keep_alive_connection_usable(api, server):
    image = raw_image(api)
    assert api.upload(image["id"], b"first").status_code == 204
    assert upload_then_reuse_connection(server, image["id"], os.urandom(1_000_000)) == (
        409, 200)


def test_retry_after_a_format_mismatch_succeeds(api):
    image = raw_image(api, disk_format="qcow2")
    assert api.upload(image["id"], os.urandom(4096)).status_code == 415
    assert api.upload(image["id"], qcow2_image()).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "active"


def test_qcow2_with_backing_file_is_refused(api, server):
    image = raw_image(api, disk_format="qcow2")
    response = api.upload(image["id"], qcow2_image(backing_file="/var/lib/secret.img"))
    assert response.status_code == 415
    assert "safety checks" in response.text
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())
    assert image["id"] not in server.stored_files()


def test_qcow2_with_backing_file_declared_raw_is_refused(api):
    image = raw_image(api)
    assert api.upload(image["id"], qcow2_image(backing_file="base.img")).status_code == 415


def test_vmdk_of_a_disallowed_type_is_refused(api):
    image = raw_image(api, disk_format="vmdk")
    response = api.upload(image["id"], vmdk_image("monolithicFlat"))
    assert response.status_code == 415
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())


def test_vmdk_of_an_allowed_type_is_accepted(api):
    image = raw_image(api, disk_format="vmdk")
    assert api.upload(image["id"], vmdk_image("monolithicSparse")).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["virtual_size"] == 2048 * 512


def test_vmdk_allowed_types_option_is_honoured(make_server):
    server = make_server(conf={"image_format": {"vmdk_allowed_types": "streamOptimized"}})
    api = ApiClient(server.url)
    image = raw_image(api, disk_format="vmdk")
    assert api.upload(image["id"], vmdk_image("monolithicSparse")).status_code == 415


def test_format_match_can_be_turned_off(make_server):
    server = make_server(conf={"image_format": {"require_image_format_match": False}})
    api = ApiClient(server.url)
    image = raw_image(api, disk_format="qcow2")
    assert api.upload(image["id"], os.urandom(4096)).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["virtual_size"] is None


def test_non_bare_container_gets_the_format_match_too(api):
    image = raw_image(api, disk_format="qcow2", container_format="ovf")
    assert api.upload(image["id"], os.urandom(4096)).status_code == 415


# -- refusals before any data --------------------------------------------------------------
def test_wrong_content_type_is_415(api):
    image = raw_image(api)
    response = api.put(f"/v2/images/{image['id']}/file", data=b"x",
                       headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    assert "Invalid content type application/json" in response.text


def test_missing_content_type_is_415(api):
    image = raw_image(api)
    response = api.put(f"/v2/images/{image['id']}/file", data=b"x")
    assert response.status_code == 415


def test_upload_to_unknown_image_is_404(api):
    response = api.upload("4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11", b"x")
    assert response.status_code == 404


def test_upload_to_active_image_is_409(api):
    image = api.active_image()
    response = api.upload(image["id"], b"again")
    assert response.status_code == 409
    assert "Image status transition from active to saving is not allowed" in response.text


def test_formats_must_be_set_before_upload(api):
    image = api.create_image()
    response = api.upload(image["id"], b"x")
    assert response.status_code == 400
    assert ("Properties disk_format, container_format must be set prior to saving data."
            in response.text)
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_one_missing_format_is_named(api):
    image = api.create_image(disk_format="raw")
    response = api.upload(image["id"], b"x")
    assert response.status_code == 400
    assert "Property container_format must be set prior to saving data." in response.text


def test_invalid_image_size_header_is_400(api):
    image = raw_image(api)
    response = api.upload(image["id"], b"x", **{"x-openstack-image-size": "lots"})
    assert response.status_code == 400


# -- size mismatch, caps and quotas ------------------------------------------------------------
def test_fewer_bytes_than_announced_is_400_and_queued(api, server):
    image = raw_image(api)
    response = api.put(f"/v2/images/{image['id']}/file", data=chunks(b"x" * 1000),
                       headers={**OCTET, "x-openstack-image-size": "2000"})
    assert response.status_code == 400
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())
    assert image["id"] not in server.stored_files()


def test_more_bytes_than_announced_is_400_and_queued(api, server):
    image = raw_image(api)
    response = api.put(f"/v2/images/{image['id']}/file", data=chunks(b"x" * 3000, 100),
                       headers={**OCTET, "x-openstack-image-size": "2000"})
    assert response.status_code == 400
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())
    assert image["id"] not in server.stored_files()


@pytest.fixture
def capped(make_server) -> GlanceServer:
    return make_server(conf={"DEFAULT": {"image_size_cap": 1000}})


def test_announced_size_over_the_cap_is_413_before_reading(capped):
    api = ApiClient(capped.url)
    image = raw_image(api)
    response = api.upload(image["id"], b"x" * 1001)
    assert response.status_code == 413
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_chunked_stream_over_the_cap_is_stopped_with_413(capped):
    api = ApiClient(capped.url)
    image = raw_image(api)
    response = api.put(f"/v2/images/{image['id']}/file", data=chunks(b"x" * 5000, 500),
                       headers=OCTET)
    assert response.status_code == 413
    assert_clean_queued(api.get(f"/v2/images/{image['id']}").json())
    assert capped.stored_files() == []


def test_image_exactly_at_the_cap_is_accepted(capped):
    api = ApiClient(capped.url)
    image = raw_image(api)
    assert api.upload(image["id"], b"x" * 1000).status_code == 204


def test_user_storage_quota_is_413(make_server):
    server = make_server(conf={"DEFAULT": {"user_storage_quota": "1500B"}})
    api = ApiClient(server.url)
    first, second = raw_image(api), raw_image(api)
    assert api.upload(first["id"], b"x" * 1000).status_code == 204
    response = api.put(f"/v2/images/{second['id']}/file", data=chunks(b"y" * 1000, 100),
                       headers=OCTET)
    assert response.status_code == 413
    assert "storage quota" in response.text
    assert_clean_queued(api.get(f"/v2/images/{second['id']}").json())
    assert server.stored_files() == [first["id"]]


# -- the client or the image goes away mid-upload ----------------------------------------------
def start_chunked_upload(server: GlanceServer, image_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        .encode())
    return sock


def send_chunk(sock: socket.socket, data: bytes) -> None:
    sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")


def test_client_closing_mid_stream_leaves_queued_image_and_no_file(api, server):
    image = raw_image(api)
    sock = start_chunked_upload(server, image["id"])
    send_chunk(sock, b"x" * 100_000)
    assert wait_status(api, image["id"], "saving")["status"] == "saving"
    sock.close()
    assert_clean_queued(wait_status(api, image["id"], "queued"))
    assert image["id"] not in server.stored_files()


def test_image_deleted_during_upload_is_410_and_data_removed(api, server):
    image = raw_image(api)
    sock = start_chunked_upload(server, image["id"])
    send_chunk(sock, b"x" * 100_000)
    assert wait_status(api, image["id"], "saving")["status"] == "saving"
    assert api.delete(f"/v2/images/{image['id']}").status_code == 204
    send_chunk(sock, b"y" * 100_000)
    sock.sendall(b"0\r\n\r\n")
    reply = sock.recv(65536).decode(errors="replace")
    sock.close()
    assert reply.startswith("HTTP/1.1 410")
    assert image["id"] not in server.stored_files()


def test_connection_is_reusable_after_a_content_length_upload(api, server):
    image = raw_image(api)
    data = os.urandom(3_000_000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            f"PUT /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
            .encode() + data
            + f"GET /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answers = read_answers(sock, 2)
    assert [answer.status for answer in answers] == [204, 200]
    assert answers[1].body == data


@pytest.mark.parametrize("chunk_size", [1000, 65536], ids=["small", "glanceclient-64KiB"])
def test_connection_is_reusable_after_a_chunked_upload(api, server, chunk_size):
    image = raw_image(api)
    data = os.urandom(1_000_003)
    body = b"".join(b"%x;ext=1\r\n" % len(piece) + piece + b"\r\n"
                    for piece in chunks(data, chunk_size)) + b"0\r\nX-Trailer: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(
            f"PUT /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            .encode() + body
            + f"GET /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answers = read_answers(sock, 2)
    assert [answer.status for answer in answers] == [204, 200]
    assert answers[1].body == data
    assert api.get(f"/v2/images/{image['id']}").json()["checksum"] == (
        hashlib.md5(data).hexdigest())


def test_malformed_chunked_body_is_400_and_leaves_queued_image(api, server):
    image = raw_image(api)
    sock = start_chunked_upload(server, image["id"])
    send_chunk(sock, b"x" * 100_000)
    sock.sendall(b"zz\r\n")
    [reply] = read_answers(sock, 1)  # the whole answer, however many segments it takes
    sock.close()
    assert reply.status == 400
    assert "invalid chunk size b'zz'" in reply.body.decode(errors="replace")
    assert_clean_queued(wait_status(api, image["id"], "queued"))


def test_client_closing_mid_content_length_body_leaves_queued_image(api, server):
    image = raw_image(api)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        f"PUT /v2/images/{image['id']}/file HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 5000000\r\n\r\n".encode()
        + b"x" * 1_000_000)
    assert wait_status(api, image["id"], "saving")["status"] == "saving"
    sock.close()
    assert_clean_queued(wait_status(api, image["id"], "queued"))
    assert image["id"] not in server.stored_files()


def test_upload_replaces_a_file_a_killed_upload_left_for_a_queued_image(api, server):
    """Crash recovery gives the image back before it removes the partial file; a retry
    that comes in between must not find the path taken (it was a 409)."""
    image = raw_image(api)
    (server.images_dir / image["id"]).write_bytes(b"partial data of a killed upload")
    data = os.urandom(100_000)

    assert api.upload(image["id"], data).status_code == 204
    assert api.get(f"/v2/images/{image['id']}/file").content == data
