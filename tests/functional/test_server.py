"""glance-api as a process: the server options of glance-api.conf change what it does."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ApiClient
from tests.fixtures.service import self_signed_cert


def _children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (gunicorn's workers)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines()
                          if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def test_cert_file_and_key_file_serve_https(make_server, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    server = make_server({"DEFAULT": {"cert_file": str(cert), "key_file": str(key)}},
                         scheme="https", ca_file=str(cert))
    response = requests.get(f"https://127.0.0.1:{server.port}/versions", verify=str(cert),
                            timeout=10)
    assert response.status_code == 200
    assert response.json()["versions"][0]["links"][0]["href"].startswith(
        f"https://127.0.0.1:{server.port}/v2/")


def test_cert_file_without_key_file_stops_glance_api_with_a_clear_message(
        tmp_path: Path) -> None:
    from tests.fixtures.service import BIN, write_ini

    conf = tmp_path / "glance-api.conf"
    write_ini(conf, {"DEFAULT": {"cert_file": str(tmp_path / "cert.pem")}})
    result = subprocess.run([str(BIN / "glance-api"), "--config-file", str(conf)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "cert_file and key_file must be set together" in result.stderr


def test_workers_starts_that_many_worker_processes(make_server) -> None:
    server = make_server({"DEFAULT": {"workers": 3}})
    deadline = time.monotonic() + 30
    while len(_children(server.process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(_children(server.process.pid)) == 3


def test_public_endpoint_is_the_base_of_every_version_link(make_server) -> None:
    server = make_server({"DEFAULT": {"public_endpoint": "https://images.example.org:8443"}})
    hrefs = {link["href"] for version in requests.get(f"{server.url}/versions",
                                                       timeout=10).json()["versions"]
             for link in version["links"]}
    assert hrefs == {"https://images.example.org:8443/v2/"}


def test_forwarded_proto_is_honoured_when_proxy_header_parsing_is_enabled(make_server) -> None:
    server = make_server({"oslo_middleware": {"enable_proxy_headers_parsing": True}})
    response = requests.get(f"{server.url}/versions", timeout=10,
                            headers={"X-Forwarded-Proto": "https"})
    assert response.json()["versions"][0]["links"][0]["href"] == (
        f"https://127.0.0.1:{server.port}/v2/")


def test_forwarded_proto_is_ignored_by_default(api: ApiClient) -> None:
    response = api.get("/versions", headers={"X-Forwarded-Proto": "https"})
    assert response.json()["versions"][0]["links"][0]["href"].startswith("http://")


def test_cors_preflight_answers_for_the_allowed_origin(make_server) -> None:
    server = make_server({"cors": {"allowed_origin": "https://dashboard.example.org"}})
    response = requests.options(
        f"{server.url}/v2/images", timeout=10,
        headers={"Origin": "https://dashboard.example.org",
                 "Access-Control-Request-Method": "PATCH"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://dashboard.example.org"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


def test_cors_headers_are_absent_for_other_origins(make_server) -> None:
    server = make_server({"cors": {"allowed_origin": "https://dashboard.example.org"}})
    response = requests.get(f"{server.url}/versions", timeout=10,
                            headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


NEGOTIATION = "glance_svc.api.middleware.version_negotiation:VersionNegotiationFilter"
PLAIN_PIPELINE_PASTE = f"""
[pipeline:glance-api]
pipeline = cors http_proxy_to_wsgi versionnegotiation unauthenticated-context rootapp

[composite:rootapp]
use = egg:Paste#urlmap
/ = apiversions
/v2 = apiv2app
/healthcheck = healthcheck

[app:apiversions]
paste.app_factory = glance_svc.api.versions:create_resource

[app:apiv2app]
paste.app_factory = glance_svc.api.v2.router:API.factory

[app:healthcheck]
paste.app_factory = oslo_middleware:Healthcheck.app_factory
backends = disable_by_file
disable_by_file_path = /nonexistent/healthcheck_disable

[filter:versionnegotiation]
paste.filter_factory = {NEGOTIATION}.factory

[filter:unauthenticated-context]
paste.filter_factory = glance_svc.api.middleware.context:UnauthenticatedContextMiddleware.factory

[filter:cors]
paste.filter_factory = glance_svc.api.middleware.cors:filter_factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""


def test_a_plain_pipeline_paste_file_serves_the_api(make_server, tmp_path: Path) -> None:
    """The pre-Bobcat ``[pipeline:glance-api]`` form (oslo.middleware 8 only deploys the
    healthcheck as an app, so it sits in the urlmap instead of the filter list)."""
    paste = tmp_path / "legacy-paste.ini"
    paste.write_text(PLAIN_PIPELINE_PASTE)
    server = make_server(paste_file=str(paste))
    codes = [requests.get(f"{server.url}{path}", timeout=10).status_code
             for path in ("/healthcheck", "/versions", "/v2/images")]
    assert codes == [200, 200, 200]


def _https_upload(server_url: str, cert: Path, data: Any) -> requests.Response:
    """Create an image over HTTPS and upload ``data`` (bytes, or an iterator: chunked)."""
    created = requests.post(f"{server_url}/v2/images", verify=str(cert), timeout=10,
                            json={"disk_format": "raw", "container_format": "bare"})
    assert created.status_code == 201
    return requests.put(f"{server_url}/v2/images/{created.json()['id']}/file",
                        data=data, verify=str(cert), timeout=30,
                        headers={"Content-Type": "application/octet-stream"})


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_upload_over_https_stores_exactly_the_bytes_sent(
        make_server, tmp_path: Path, framing: str) -> None:
    """The body readers that bypass gunicorn's take a plain socket; over TLS gunicorn's
    own reader must serve, whatever the framing (HAProxy re-encrypts to the API hosts)."""
    cert, key = self_signed_cert(tmp_path)
    server = make_server({"DEFAULT": {"cert_file": str(cert), "key_file": str(key)}},
                         scheme="https", ca_file=str(cert))
    payload = bytes(range(256)) * 4096  # 1 MiB, several reads of every reader
    data = payload if framing == "content-length" else iter([payload[:300_000],
                                                             payload[300_000:]])
    uploaded = _https_upload(server.url, cert, data)
    assert uploaded.status_code == 204
    image_url = uploaded.request.url.rsplit("/", 1)[0]
    downloaded = requests.get(f"{image_url}/file", verify=str(cert), timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == payload
