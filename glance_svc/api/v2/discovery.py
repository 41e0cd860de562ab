"""GET /v2/info/import, /v2/info/stores[/detail] and /v2/info/usage.

Clients call these to decide what to offer: glanceclient and openstacksdk read the
import methods before ``--import``, and the store list (404 without multi-store, which
tells them multi-store is off) before ``--store``.
"""

from __future__ import annotations

from typing import Any

import webob

from glance_svc import errors
from glance_svc.api.wsgi import ApiRequest, json_response


def import_info(req: ApiRequest) -> webob.Response:
    return json_response({"import-methods": {
        "description": "Import methods available.",
        "type": "array",
        "value": list(req.deps.conf.enabled_import_methods),
    }})


def _stores(req: ApiRequest) -> list[dict[str, Any]]:
    stores = req.deps.stores
    if not stores.multi_store:
        raise errors.NotFound("Multi backend is not supported at this site.")
    return [stores.describe(store_id) for store_id in stores.store_ids()]


def stores_info(req: ApiRequest) -> webob.Response:
    return json_response({"stores": _stores(req)})


def stores_detail(req: ApiRequest) -> webob.Response:
    entries = _stores(req)
    req.deps.policy.enforce(req.context, "stores_info_detail", {})
    for entry in entries:
        entry.update(req.deps.stores.details(entry["id"]))
    return json_response({"stores": entries})


def usage(req: ApiRequest) -> webob.Response:
    # Quota usage is reported only with keystone unified limits, which glance_svc does
    # not use: Glance then answers an empty object.
    return json_response({"usage": {}})
