"""web-download import: fetch an image from a URL the operator's filters allow.

The filter is Glance's ``[import_filtering_opts]`` (schemes, hosts, ports; an allow list,
when set, wins over the matching deny list; hosts compared after normalising IP
literals and refusing numeric encodings such as ``2130706433`` or ``127.1``), plus one
rule Glance leaves to the operator: a host that resolves to a loopback, private,
link-local, multicast or otherwise reserved address is refused unless it is named in
``allowed_hosts``. Without that, any user could make the API server fetch from its own
network (metadata services, databases on 127.0.0.1 ...).

The same filter is applied again when the download starts and to every redirect, which
are followed by hand (at most five), so a redirect cannot lead around the filter; the
http store's own redirects (http locations) are held to it by ``guard_redirects``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import urllib.parse
from typing import Any

import requests
from glance_store import exceptions as gs_exc
from oslo_config import cfg

from glance_svc import errors

LOG = logging.getLogger(__name__)

filtering_opts = [
    cfg.ListOpt("allowed_schemes", default=["http", "https"],
                help="URL schemes web-download may fetch."),
    cfg.ListOpt("disallowed_schemes", default=[],
                help="URL schemes refused (used only when allowed_schemes is empty)."),
    cfg.ListOpt("allowed_hosts", default=[], help="Hosts web-download may fetch from."),
    cfg.ListOpt("disallowed_hosts", default=[],
                help="Hosts refused (used only when allowed_hosts is empty)."),
    cfg.ListOpt("allowed_ports", default=["80", "443"],
                help="Ports web-download may connect to."),
    cfg.ListOpt("disallowed_ports", default=[],
                help="Ports refused (used only when allowed_ports is empty)."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("import_filtering_opts", filtering_opts)]


MAX_REDIRECTS = 5
CONNECT_TIMEOUT = 30
READ_TIMEOUT = 300
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def normalize_host(host: str | None) -> str | None:
    """The canonical form of an IP literal, the host name itself, or None if refused.

    Numeric spellings the resolver would accept but ``ipaddress`` does not (decimal,
    hex, octal, short dotted forms) are refused, and so is a name that does not resolve.
    """
    if not host:
        return None
    for kind in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        try:
            return str(kind(host))
        except ValueError:
            pass
    if host.isdigit() or all(c.isdigit() or c == "." for c in host):
        return None
    try:
        socket.getaddrinfo(host if host.endswith(".") else host + ".", None)
    except (socket.gaierror, UnicodeError):
        return None
    return host.lower()


def _internal(host: str) -> bool:
    """True if ``host`` is or resolves to an address outside the public internet."""
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError):
            return True
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return any(a.is_private or a.is_loopback or a.is_link_local or a.is_multicast
               or a.is_reserved or a.is_unspecified for a in addresses)


def uri_allowed(conf: cfg.ConfigOpts, uri: str | None) -> bool:
    """Whether ``[import_filtering_opts]`` lets web-download fetch ``uri``."""
    if not uri or not isinstance(uri, str):
        return False
    opts = conf.import_filtering_opts
    try:
        parsed = urllib.parse.urlparse(uri)
        port = parsed.port
    except ValueError:
        return False
    scheme = parsed.scheme.lower()
    allowed_schemes, denied_schemes = _lists(opts.allowed_schemes, opts.disallowed_schemes)
    if not scheme or (allowed_schemes and scheme not in allowed_schemes) or (
            scheme in denied_schemes):
        return False
    host = normalize_host(parsed.hostname)
    allowed_hosts, denied_hosts = _lists(opts.allowed_hosts, opts.disallowed_hosts)
    allowed_hosts = {normalize_host(h) or h for h in allowed_hosts}
    denied_hosts = {normalize_host(h) or h for h in denied_hosts}
    if not host or (allowed_hosts and host not in allowed_hosts) or host in denied_hosts:
        return False
    effective_port = port if port is not None else _DEFAULT_PORTS.get(scheme)
    allowed_ports, denied_ports = _lists(opts.allowed_ports, opts.disallowed_ports)
    if effective_port is not None and (
            (allowed_ports and str(effective_port) not in allowed_ports)
            or str(effective_port) in denied_ports):
        return False
    if host not in allowed_hosts and _internal(host):
        LOG.info("web-download refused %s: it is an internal address", host)
        return False
    return True


def guard_redirects(driver: Any, conf: cfg.ConfigOpts) -> None:
    """Make glance_store's http driver refuse a redirect the import filter refuses.

    The driver follows 301/302 itself, for the size probe of a new location, for its
    hashing and for downloads; a location that passed the filter could otherwise send
    the server on to 127.0.0.1. Every hop goes through its ``_new_location``, so the
    check sits there. The first hop was checked when the location was added.
    """
    follow = driver._new_location

    def checked(old_location: Any, url: str) -> Any:
        if not uri_allowed(conf, url):
            raise gs_exc.RemoteServiceUnavailable(
                message=f"Redirect to disallowed URL: {url}")
        return follow(old_location, url)

    driver._new_location = checked


def _lists(allowed: list[Any], denied: list[Any]) -> tuple[set[str], set[str]]:
    """Glance's rule: when both lists are set, only the allow list counts."""
    allow = {str(v).strip().lower() for v in allowed or [] if str(v).strip()}
    deny = {str(v).strip().lower() for v in denied or [] if str(v).strip()}
    return allow, (set() if allow else deny)


class RemoteImage:
    """The body of a web-download response, read in chunks; ``length`` if announced."""

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        raw_length = response.headers.get("Content-Length")
        self.length = int(raw_length) if raw_length and raw_length.isdigit() else None

    def read(self, size: int) -> bytes:
        return self._response.raw.read(size, decode_content=False) or b""

    def close(self) -> None:
        self._response.close()


def open_url(conf: cfg.ConfigOpts, uri: str, headers: dict[str, str] | None = None
             ) -> RemoteImage:
    """GET ``uri`` for streaming, following allowed redirects only.

    ``headers`` (glance-download sends the caller's token) go only to ``uri``'s own host
    and port: a redirect elsewhere must not carry the token away.
    """
    session = requests.Session()
    origin = urllib.parse.urlsplit(uri).netloc
    current = uri
    for _hop in range(MAX_REDIRECTS + 1):
        if not uri_allowed(conf, current):
            raise errors.BadRequest(f"URI for web-download does not pass filtering: {current}")
        try:
            same_origin = urllib.parse.urlsplit(current).netloc == origin
            response = session.get(current, headers=headers if same_origin else None,
                                   stream=True, allow_redirects=False,
                                   timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.RequestException as exc:
            raise errors.ServiceUnavailable(f"Unable to fetch {current}: {exc}") from exc
        if response.is_redirect:
            target = response.headers.get("Location", "")
            response.close()
            current = urllib.parse.urljoin(current, target)
            continue
        if response.status_code != 200:
            response.close()
            raise errors.BadRequest(
                f"Fetching {current} answered HTTP {response.status_code}")
        return RemoteImage(response)
    raise errors.BadRequest(f"Too many redirects fetching {uri}")
