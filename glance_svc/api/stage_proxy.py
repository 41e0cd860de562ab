"""The HTTP side of distributed import: one request to another API worker.

Implements ``glance_svc.domain.stage_forwarding.StageProxy`` with ``requests``. The
caller's Keystone token travels as ``X-Auth-Token``, as Glance sends it, so the other
worker authorises the request exactly as this one did. The caller's identity headers
travel too: a worker behind the trusted-auth pipeline reads them, and auth_token
replaces them with the token's own on a Keystone pipeline, so they cannot widen access.

The other worker is reached at its ``worker_self_reference_url``; when that is HTTPS
with a private CA (API hosts behind a TLS-terminating load balancer that re-encrypts),
``stage_host_ca_file`` names the bundle its certificate is verified against.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.stage_forwarding import UNAVAILABLE

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

LOG = logging.getLogger(__name__)

TIMEOUT = 60  # seconds, Glance's

stage_proxy_opts = [
    cfg.StrOpt("stage_host_ca_file",
               help="CA bundle that verifies the TLS certificate of another API worker "
                    "when a request is forwarded to the worker holding an image's staged "
                    "data (its worker_self_reference_url). Unset: the CAs that requests "
                    "trusts by default."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, stage_proxy_opts)]


def identity_headers(ctx: RequestContext) -> dict[str, str]:
    """The caller as headers: the token, and the identity auth_token would have set."""
    headers = {"X-Identity-Status": "Confirmed", "X-Roles": ",".join(ctx.roles or [])}
    for name, value in (("X-Auth-Token", ctx.auth_token), ("X-User-Id", ctx.user_id),
                        ("X-Project-Id", ctx.project_id)):
        if value:
            headers[name] = value
    return headers


class HttpStageProxy:
    """Sends the request with ``requests``; errors as ``StageProxy.send`` says."""

    def __init__(self, timeout: float = TIMEOUT, ca_file: str | None = None) -> None:
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # the workers talk directly, never through a proxy
        self.http.verify = ca_file or True

    def send(self, ctx: RequestContext, method: str, url: str,
             body: dict[str, Any] | None) -> str | None:
        try:
            response = self.http.request(method, url, json=body, timeout=self.timeout,
                                         headers=identity_headers(ctx))
        except (requests.ConnectionError, requests.Timeout) as exc:
            LOG.warning("Stage host %s unreachable: %s", url, exc)
            raise errors.GatewayTimeout(UNAVAILABLE) from None
        except requests.RequestException as exc:
            LOG.warning("Forwarding to %s failed: %s", url, exc)
            raise errors.BadGateway(UNAVAILABLE) from None
        if response.status_code >= 400:
            raise errors.Relayed(response.reason or "", status=response.status_code)
        return response.headers.get("x-openstack-request-id")
