"""web-download URI filtering ([import_filtering_opts]) and redirect handling."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from glance_svc import errors
from glance_svc.store import web_download

PUBLIC = "93.184.215.14"  # any global unicast address; no DNS needed


@pytest.fixture
def conf() -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_opts(web_download.filtering_opts, group="import_filtering_opts")
    conf([])
    return conf


def allow(conf: cfg.ConfigOpts, **overrides: list[str]) -> None:
    for name, value in overrides.items():
        conf.set_override(name, value, group="import_filtering_opts")


@pytest.mark.parametrize(("uri", "allowed"), [
    (f"http://{PUBLIC}/image.img", True),
    (f"https://{PUBLIC}/image.img", True),
    (f"http://{PUBLIC}:80/image.img", True),
    (f"http://{PUBLIC}:8080/image.img", False),      # port not in allowed_ports
    (f"ftp://{PUBLIC}/image.img", False),            # scheme not allowed
    ("http://127.0.0.1/image.img", False),           # loopback
    ("http://10.1.2.3/image.img", False),            # private
    ("http://169.254.169.254/latest", False),        # link-local (metadata service)
    ("http://[::1]/image.img", False),
    ("http://2130706433/image.img", False),          # decimal-encoded 127.0.0.1
    ("http://127.1/image.img", False),               # short dotted form
    ("http://0x7f000001/image.img", False),          # hex form never resolves
    ("not a uri", False),
    ("", False),
    (None, False),
])
def test_default_filter(conf, uri, allowed):
    assert web_download.uri_allowed(conf, uri) is allowed


def test_an_allowed_host_may_be_internal(conf):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=["8080"])
    assert web_download.uri_allowed(conf, "http://127.0.0.1:8080/x")
    assert not web_download.uri_allowed(conf, "http://127.0.0.1:8081/x")
    assert not web_download.uri_allowed(conf, f"http://{PUBLIC}:8080/x")


def test_deny_lists_apply_when_no_allow_list(conf):
    allow(conf, allowed_schemes=[], disallowed_schemes=["https"], allowed_ports=[],
          disallowed_ports=["8443"])
    assert web_download.uri_allowed(conf, f"http://{PUBLIC}:9000/x")
    assert not web_download.uri_allowed(conf, f"https://{PUBLIC}/x")
    assert not web_download.uri_allowed(conf, f"http://{PUBLIC}:8443/x")


def test_allow_list_wins_over_deny_list(conf):
    allow(conf, allowed_hosts=[PUBLIC], disallowed_hosts=[PUBLIC])
    assert web_download.uri_allowed(conf, f"http://{PUBLIC}/x")


def test_disallowed_hosts(conf):
    allow(conf, disallowed_hosts=[PUBLIC])
    assert not web_download.uri_allowed(conf, f"http://{PUBLIC}/x")


class _Handler(http.server.BaseHTTPRequestHandler):
    tokens: list[str | None] = []  # X-Auth-Token of each request, in order

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.tokens.append(self.headers.get("X-Auth-Token"))
        if self.path.startswith("/redirect-to/"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.path.split('/')[-1]}/image")
            self.end_headers()
        elif self.path == "/image":
            body = b"image-bytes"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/redirect-inside":
            self.send_response(302)
            self.send_header("Location", "/image")
            self.end_headers()
        elif self.path == "/redirect-out":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/secret")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def local_server() -> Iterator[int]:
    yield from _serve()


@pytest.fixture
def second_server() -> Iterator[int]:
    """Another port of the same host: another origin, as far as headers are concerned."""
    yield from _serve()


def test_open_url_streams_the_body(conf, local_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[str(local_server)])
    remote = web_download.open_url(conf, f"http://127.0.0.1:{local_server}/image")
    assert remote.length == 11
    assert remote.read(100) == b"image-bytes"
    remote.close()


def test_redirects_are_followed_when_allowed(conf, local_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[str(local_server)])
    remote = web_download.open_url(conf, f"http://127.0.0.1:{local_server}/redirect-inside")
    assert remote.read(100) == b"image-bytes"
    remote.close()


def test_a_redirect_cannot_escape_the_filter(conf, local_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[str(local_server)])
    with pytest.raises(errors.BadRequest, match="does not pass filtering"):
        web_download.open_url(conf, f"http://127.0.0.1:{local_server}/redirect-out")


def test_an_http_error_is_reported(conf, local_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[str(local_server)])
    with pytest.raises(errors.BadRequest, match="HTTP 404"):
        web_download.open_url(conf, f"http://127.0.0.1:{local_server}/missing")


def test_headers_go_to_the_first_host_and_its_own_redirects(conf, local_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[str(local_server)])
    _Handler.tokens.clear()
    remote = web_download.open_url(conf, f"http://127.0.0.1:{local_server}/redirect-inside",
                                   {"X-Auth-Token": "secret"})
    remote.close()
    assert _Handler.tokens == ["secret", "secret"]


def test_a_redirect_to_another_host_does_not_carry_the_headers(conf, local_server,
                                                                 second_server):
    allow(conf, allowed_hosts=["127.0.0.1"], allowed_ports=[])
    _Handler.tokens.clear()
    remote = web_download.open_url(
        conf, f"http://127.0.0.1:{local_server}/redirect-to/{second_server}",
        {"X-Auth-Token": "secret"})
    assert remote.read(100) == b"image-bytes"
    remote.close()
    assert _Handler.tokens == ["secret", None]
