"""The glance-registry WSGI app: the SQL image repository, served at ``POST /rpc``.

The registry holds the only database connection of a registry-mode deployment. It answers
exactly the calls of ``ImageRepository`` and ``MetadefRepository`` (``wire.COMMANDS``), so
what glance-api can do through the registry is what it could do with a local repository,
and nothing more.

Who may call: the registry trusts its caller with every image of every project (the
repository has no notion of a caller; visibility is the API's job). So the caller must
pass the ``context_is_admin`` or ``service_api`` policy rule (defaults ``role:admin`` /
``role:service``): the unauthenticated pipeline's context is admin, and with Keystone the
glance service user, which holds the admin role on the service project, is let in while
an ordinary user's token is refused with 403.

A batch is checked as a whole before any command runs (unknown command, bad arguments:
400 and nothing done); then the commands run in order, and a failing command yields an
``{"_error": ...}`` result in its place while the others still run, as in Glance.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import webob
import webob.dec
from oslo_config import cfg
from oslo_config.cfg import CONF
from oslo_db import exception as db_exc

from glance_svc import errors
from glance_svc.db import api as db_api
from glance_svc.registry import wire

LOG = logging.getLogger(__name__)

RPC_PATH = "/rpc"
ALLOWED_RULES = ("context_is_admin", "service_api")
JSON_TYPE = "application/json"


class RegistryMisconfigured(RuntimeError):
    """The registry was told to use itself as its backend."""


class API:
    """``POST /rpc``: run repository commands against the SQL database."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        if db_api.uses_registry(conf):
            raise RegistryMisconfigured(
                "glance-registry needs data_api = glance_svc.db.sqlalchemy.api: it cannot "
                "forward to a registry itself")
        self.conf = conf

    @classmethod
    def factory(cls, global_conf: dict[str, Any] | None = None, **local_conf: Any) -> API:
        """PasteDeploy app factory; the database comes from the global config object."""
        return cls(CONF)

    @functools.cached_property
    def repo(self) -> Any:
        # Built on first use, in the worker: a connection pool must not cross a fork.
        from glance_svc.db.sqlalchemy.api import SqlImageRepository

        return SqlImageRepository.from_conf(self.conf)

    @functools.cached_property
    def metadefs(self) -> Any:
        from glance_svc.db.sqlalchemy.metadef_catalog import SqlMetadefRepository

        return SqlMetadefRepository(self.repo.engine)

    @functools.cached_property
    def policy(self) -> Any:
        from glance_svc.domain.policy import Enforcer

        return Enforcer(self.conf)

    @webob.dec.wsgify
    def __call__(self, req: webob.Request) -> webob.Response:
        if req.path_info.rstrip("/") != RPC_PATH:
            return json_response(404, error(404, f"No such resource: {req.path_info}"))
        if req.method != "POST":
            response = json_response(405, error(405, "Only POST is allowed here."))
            response.headers["Allow"] = "POST"
            return response
        ctx = req.environ.get("glance.context")
        if ctx is None or not any(self.policy.check(ctx, rule, {}) for rule in ALLOWED_RULES):
            return json_response(403, error(
                403, "glance-registry is reserved to administrators and services."))
        try:
            calls = parse_batch(req.body)
        except wire.WireError as exc:
            return json_response(400, error(400, str(exc)))
        return json_response(200, [self._run(name, bound) for name, bound in calls])

    def _run(self, name: str, kwargs: dict[str, Any]) -> Any:
        try:
            backend = self.metadefs if name in wire.METADEF_COMMANDS else self.repo
            return wire.encode(getattr(backend, name)(**kwargs))
        except errors.GlanceError as exc:
            return wire.encode_error(exc)
        except db_exc.DBConnectionError:
            LOG.exception("registry command %s: database unreachable", name)
            return wire.encode_error(errors.ServiceUnavailable(
                "glance-registry cannot reach its database."))
        except Exception:
            LOG.exception("registry command %s failed", name)
            return wire.encode_error(wire.RegistryError(
                f"glance-registry failed to run {name}; see its log."))


def error(status: int, message: str) -> dict[str, Any]:
    """The body of a refused request: a machine reads it, so JSON whatever ``Accept``."""
    return {"error": {"status": status, "message": message}}


def json_response(status: int, body: Any) -> webob.Response:
    return webob.Response(status=status, content_type=JSON_TYPE, charset="UTF-8",
                          body=json.dumps(body).encode())


def parse_batch(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """``[(command, kwargs), ...]`` from a request body, or ``WireError`` (400)."""
    try:
        batch = json.loads(body or b"null")
    except ValueError as exc:
        raise wire.WireError("Malformed JSON in request body.") from exc
    if not isinstance(batch, list):
        raise wire.WireError("The body is a list of {\"command\", \"kwargs\"} objects.")
    calls = []
    for item in batch:
        if not isinstance(item, dict) or not isinstance(item.get("command"), str):
            raise wire.WireError("Each call is an object with a string \"command\".")
        name = item["command"]
        signature = wire.COMMANDS.get(name)
        if signature is None:
            raise wire.WireError(f"Unknown command: {name}")
        raw = item.get("kwargs", {})
        if not isinstance(raw, dict):
            raise wire.WireError(f"{name}: kwargs must be an object.")
        kwargs = wire.decode(raw)
        try:
            signature.bind(None, **kwargs)
        except TypeError as exc:
            raise wire.WireError(f"{name}: {exc}") from exc
        calls.append((name, kwargs))
    return calls
