"""The HTTP side of distributed import: one request to another API worker.

Implements ``glance_svc.domain.stage_forwarding.StageProxy`` with ``requests``. The
caller's Keystone token travels as ``X-Auth-Token``, as Glance sends it, so the other
worker authorises the request exactly as this one did. The caller's identity headers
travel too: a worker behind the trusted-auth pipeline reads them, and auth_token
replaces them with the token's own on a Keystone pipeline, so they cannot widen access.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests

from glance_svc import errors
from glance_svc.domain.stage_forwarding import UNAVAILABLE

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

LOG = logging.getLogger(__name__)

TIMEOUT = 60  # seconds, Glance's


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

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # the workers talk directly, never through a proxy

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
