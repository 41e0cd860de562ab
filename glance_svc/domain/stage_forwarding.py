"""Distributed import: send a request to the API worker that holds an image's staged data.

Each API worker stages glance-direct data in its own directory and records its URL
(``worker_self_reference_url``) on the image as ``os_glance_stage_host``; a location
being hashed records ``os_glance_hash_op_host`` the same way. Only that worker can import
the staged data or remove it, so an import or a delete that reaches another worker is
sent on to it with the caller's credentials, after the local checks passed (spec §4.3).
The answer the client sees is the local one (202, 204) carrying the remote request id,
so the task the remote worker records matches the id the client got.

The HTTP call itself is behind ``StageProxy``; ``glance_svc.api.stage_proxy`` implements
it. Remote failures map as Glance's design says: the remote's own 4xx/5xx status, 504
``Stage host is unavailable`` when it cannot be reached, 502 for other request errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from glance_svc import errors
from glance_svc.domain.image import STAGE_HOST, Image

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

LOG = logging.getLogger(__name__)

HASH_OP_HOST = "os_glance_hash_op_host"
UNAVAILABLE = "Stage host is unavailable"


class StageProxy(Protocol):
    """Sends one request to another worker as the caller."""

    def send(self, ctx: RequestContext, method: str, url: str,
             body: dict[str, Any] | None) -> str | None:
        """Send ``method url`` with ``body`` (JSON) and the caller's credentials.

        Returns the remote ``x-openstack-request-id``. Raises ``errors.Relayed`` with
        the remote status for a 4xx/5xx answer, ``errors.GatewayTimeout`` when the
        worker cannot be reached, ``errors.BadGateway`` for any other request error.
        """


class StageForwarding:
    """Decides whether a request belongs to another worker, and sends it there."""

    def __init__(self, self_url: str | None, proxy: StageProxy) -> None:
        self.self_url = self_url
        self.proxy = proxy

    def _elsewhere(self, host: str | None) -> str | None:
        if host and host != self.self_url:
            return host
        return None

    def import_host(self, image: Image) -> str | None:
        """The worker that staged ``image``'s data, if it is not this one."""
        return self._elsewhere(image.properties.get(STAGE_HOST))

    def delete_host(self, image: Image) -> str | None:
        """The worker holding ``image``'s staged data or hashing it, if not this one."""
        return (self._elsewhere(image.properties.get(STAGE_HOST))
                or self._elsewhere(image.properties.get(HASH_OP_HOST)))

    def forward(self, ctx: RequestContext, host: str, method: str, path: str,
                body: dict[str, Any] | None = None) -> None:
        """Send the request to ``host``; the caller's request id becomes the remote one."""
        url = host.rstrip("/") + path
        LOG.info("Forwarding %s %s to the worker that staged the data", method, url)
        remote_id = self.proxy.send(ctx, method, url, body)
        if remote_id:
            ctx.request_id = remote_id

    def import_elsewhere(self, ctx: RequestContext, image: Image,
                         body: dict[str, Any]) -> bool:
        """Send a glance-direct import to the worker that staged the data, if that is
        another one; whether it was sent."""
        host = self.import_host(image)
        if host is None:
            return False
        self.forward(ctx, host, "POST", f"/v2/images/{image.id}/import", body)
        return True

    def delete_elsewhere(self, ctx: RequestContext, image: Image) -> bool:
        """Send a delete to the worker holding the staged data, if that is another one;
        whether it was done there. False also when that worker is unreachable: the image
        is then deleted here and its staged data waits for that worker's orphan sweep."""
        host = self.delete_host(image)
        if host is None:
            return False
        try:
            self.forward(ctx, host, "DELETE", f"/v2/images/{image.id}")
        except (errors.BadGateway, errors.GatewayTimeout) as exc:
            LOG.warning("Stage host %s unreachable (%s): deleting image %s here, its staged "
                        "data stays on that worker", host, exc.message, image.id)
            return False
        return True
