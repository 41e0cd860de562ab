"""Interoperable import over HTTP (spec §3.9): stage, glance-direct and web-download."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import OCTET, ApiClient, error_text, import_settled
from tests.fixtures.service import GlanceServer
from tests.unit.test_format_samples import qcow2_image

DATA = os.urandom(200_000)


def staged_image(api: ApiClient, data: bytes = DATA, **fields: str) -> dict:
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    image = api.create_image(**fields)
    response = api.put(f"/v2/images/{image['id']}/stage", data=data, headers=OCTET)
    assert response.status_code == 204, response.text
    return image


def do_import(api: ApiClient, image_id: str, body: dict, **headers: str):
    return api.post(f"/v2/images/{image_id}/import", json=body, headers=headers)


# -- discovery and staging -------------------------------------------------------------------
def test_import_info_lists_the_enabled_methods(api):
    assert api.get("/v2/info/import").json() == {"import-methods": {
        "description": "Import methods available.", "type": "array",
        "value": ["glance-direct", "web-download", "copy-image"]}}


def test_stage_moves_the_image_to_uploading(api, server: GlanceServer):
    image = staged_image(api)
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"], shown["checksum"]) == ("uploading", len(DATA), None)
    assert (server.staging_dir / image["id"]).read_bytes() == DATA


def test_stage_twice_is_409(api):
    image = staged_image(api)
    response = api.put(f"/v2/images/{image['id']}/stage", data=b"again", headers=OCTET)
    assert response.status_code == 409


def test_stage_needs_octet_stream(api):
    image = api.create_image(disk_format="raw", container_format="bare")
    response = api.put(f"/v2/images/{image['id']}/stage", data=b"x",
                       headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_stage_is_404_when_glance_direct_is_disabled(make_server):
    server = make_server(conf={"DEFAULT": {"enabled_import_methods": "web-download"}})
    api = ApiClient(server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    response = api.put(f"/v2/images/{image['id']}/stage", data=b"x", headers=OCTET)
    assert response.status_code == 404
    assert "'glance-direct' method is not available at this site." in error_text(response)


def test_stage_over_the_size_cap_is_413_and_unstaged(make_server):
    server = make_server(conf={"DEFAULT": {"image_size_cap": 100}})
    api = ApiClient(server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    response = api.put(f"/v2/images/{image['id']}/stage",
                       data=iter([b"x" * 80, b"x" * 80]), headers=OCTET)
    assert response.status_code == 413
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"
    assert not (server.staging_dir / image["id"]).exists()


def test_deleting_a_staged_image_removes_the_staged_data(api, server):
    image = staged_image(api)
    assert api.delete(f"/v2/images/{image['id']}").status_code == 204
    assert not (server.staging_dir / image["id"]).exists()


# -- glance-direct -------------------------------------------------------------------------
def test_glance_direct_import_activates_the_image(api, server):
    image = staged_image(api)
    response = do_import(api, image["id"], {"method": {"name": "glance-direct"}})
    assert response.status_code == 202
    assert response.content == b""
    done = api.wait_for(image["id"], lambda i: i["status"] == "active" and import_settled(i))
    assert done["status"] == "active"
    assert done["size"] == len(DATA)
    assert done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert done["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert done["virtual_size"] == len(DATA)
    assert done["os_glance_importing_to_stores"] == ""
    assert done["os_glance_failed_import"] == ""
    assert "os_glance_stage_host" not in done
    assert not (server.staging_dir / image["id"]).exists()
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA


def test_glance_direct_import_of_mismatching_data_returns_to_queued(api, server):
    image = staged_image(api, os.urandom(10_000), disk_format="qcow2")
    assert do_import(api, image["id"], {"method": {"name": "glance-direct"}}).status_code == 202
    done = api.wait_for(image["id"], import_settled)
    assert done["status"] == "queued"
    assert (done["size"], done["checksum"]) == (None, None)
    assert image["id"] not in server.stored_files()
    assert not (server.staging_dir / image["id"]).exists()


def test_glance_direct_import_of_qcow2_records_virtual_size(api):
    image = staged_image(api, qcow2_image(2 * 1024 ** 3), disk_format="qcow2")
    do_import(api, image["id"], {"method": {"name": "glance-direct"}})
    done = api.wait_for(image["id"], lambda i: i["status"] == "active")
    assert done["virtual_size"] == 2 * 1024 ** 3


# -- the checks, in Glance's order -----------------------------------------------------------
@pytest.mark.parametrize(("body", "message"), [
    ({}, "Import request requires a 'method' field."),
    ({"method": {}}, "Import request requires a 'name' field."),
    ({"method": {"name": "carrier-pigeon"}}, "Unknown import method name 'carrier-pigeon'."),
    ({"method": {"name": "glance-direct"}, "all_stores": "yes"},
     "'all_stores' must be boolean value only"),
    ({"method": {"name": "glance-direct"}, "all_stores_must_succeed": 1},
     "'all_stores_must_succeed' must be boolean value only"),
])
def test_malformed_import_body_is_400(api, body, message):
    image = staged_image(api)
    response = do_import(api, image["id"], body)
    assert response.status_code == 400
    assert message in error_text(response)


def test_unknown_method_is_checked_before_the_image_exists(api):
    response = do_import(api, "4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11",
                         {"method": {"name": "nope"}})
    assert response.status_code == 400


def test_import_of_unknown_image_is_404(api):
    response = do_import(api, "4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11",
                         {"method": {"name": "glance-direct"}})
    assert response.status_code == 404


def test_glance_direct_needs_staged_data(api):
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {"name": "glance-direct"}})
    assert response.status_code == 409
    assert ("Image needs to be staged before 'glance-direct' method can be used"
            in error_text(response))


def test_import_into_an_active_image_is_409(api):
    image = api.active_image()
    response = do_import(api, image["id"], {"method": {"name": "glance-direct"}})
    assert response.status_code == 409
    assert "Image with status active cannot be target for import" in error_text(response)


def test_copy_image_of_a_queued_image_is_409(api):
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {"name": "copy-image"}})
    assert response.status_code == 409
    assert "Only images with status active can be targeted for copying" in error_text(response)


def test_web_download_needs_a_queued_image(api):
    image = staged_image(api)
    response = do_import(api, image["id"], {"method": {"name": "web-download",
                                                       "uri": "http://example.com/x"}})
    assert response.status_code == 409
    assert ("Image needs to be in 'queued' state to use 'web-download' method"
            in error_text(response))


def test_import_needs_the_formats(api):
    image = api.create_image()
    api.put(f"/v2/images/{image['id']}/stage", data=b"x", headers=OCTET)
    response = do_import(api, image["id"], {"method": {"name": "glance-direct"}})
    assert response.status_code == 409
    assert "'container_format' needs to be set before import" in error_text(response)


def test_all_stores_must_succeed_false_needs_multi_store(api):
    image = staged_image(api)
    response = do_import(api, image["id"], {"method": {"name": "glance-direct"},
                                            "all_stores_must_succeed": False})
    assert response.status_code == 400
    assert "All_stores_must_succeed can only be set with enabled_backends" in error_text(response)


@pytest.mark.parametrize("uri", ["http://127.0.0.1/image", "file:///etc/passwd",
                                 "http://169.254.169.254/latest/meta-data", None])
def test_web_download_uri_refused_by_the_filter_is_400(api, uri):
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {"name": "web-download", "uri": uri}})
    assert response.status_code == 400
    assert "URI for web-download does not pass filtering" in error_text(response)
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_disabled_method_is_unknown(make_server):
    server = make_server(conf={"DEFAULT": {"enabled_import_methods": "glance-direct"}})
    api = ApiClient(server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {"name": "web-download",
                                                       "uri": "http://example.com/"}})
    assert response.status_code == 400
    assert "Unknown import method name 'web-download'." in error_text(response)


# -- web-download from a local server ------------------------------------------------------
class ImageHandler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[tuple[int, dict[str, bytes]]]:
    files: dict[str, bytes] = {"/image.raw": DATA, "/bad.qcow2": os.urandom(5000)}
    handler = type("Handler", (ImageHandler,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], files
    httpd.shutdown()


@pytest.fixture(scope="module")
def web_server(web, tmp_path_factory) -> Iterator[GlanceServer]:
    port, _files = web
    conf = {"import_filtering_opts": {"allowed_hosts": "127.0.0.1", "allowed_ports": port}}
    with GlanceServer(tmp_path_factory.mktemp("glance-web"), conf) as srv:
        yield srv


def test_web_download_import_activates_the_image(web, web_server):
    port, _files = web
    api = ApiClient(web_server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {
        "name": "web-download", "uri": f"http://127.0.0.1:{port}/image.raw"}})
    assert response.status_code == 202
    done = api.wait_for(image["id"], lambda i: i["status"] == "active" and import_settled(i))
    assert done["status"] == "active"
    assert done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert done["size"] == len(DATA)
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA
    assert not (web_server.staging_dir / image["id"]).exists()


def test_web_download_of_a_missing_url_returns_to_queued(web, web_server):
    port, _files = web
    api = ApiClient(web_server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    do_import(api, image["id"], {"method": {
        "name": "web-download", "uri": f"http://127.0.0.1:{port}/missing"}})
    done = api.wait_for(image["id"], lambda i: "os_glance_import_task" not in i
                    and i["status"] == "queued")
    assert done["status"] == "queued"
    assert "os_glance_failed_import" in done
    assert done["os_glance_importing_to_stores"] == ""


def test_web_download_of_data_of_the_wrong_format_returns_to_queued(web, web_server):
    port, _files = web
    api = ApiClient(web_server.url)
    image = api.create_image(disk_format="qcow2", container_format="bare")
    do_import(api, image["id"], {"method": {
        "name": "web-download", "uri": f"http://127.0.0.1:{port}/bad.qcow2"}})
    done = api.wait_for(image["id"], lambda i: import_settled(i) and i["status"] == "queued")
    assert (done["status"], done["checksum"], done["size"]) == ("queued", None, None)
    assert image["id"] not in web_server.stored_files()


def test_other_ports_of_the_allowed_host_stay_refused(web_server):
    api = ApiClient(web_server.url)
    image = api.create_image(disk_format="raw", container_format="bare")
    response = do_import(api, image["id"], {"method": {
        "name": "web-download", "uri": f"http://127.0.0.1:{web_server.port}/v2/images"}})
    assert response.status_code == 400
