"""The registry client: an ImageRepository that calls glance-registry over HTTP.

glance-api (and glance-scrubber, glance-manage) get one from ``glance_svc.db.api``
when ``data_api = glance_svc.db.registry.api``; it never opens a database connection.
Every method is one ``POST /rpc`` carrying one command (``glance_svc.registry.wire``);
the answer's ``_error`` becomes the same ``glance_svc.errors`` exception the SQL
repository would have raised, so callers cannot tell the two apart.

Authentication: the repository calls carry no user (visibility is decided by the API
before it calls), so the client authenticates as the service itself. When
``[keystone_authtoken] auth_type`` is set in the caller's config (as it is for a
glance-api with the keystone flavor), the client logs in with that password plugin
(keystoneauth1: the glance service user, the same credentials auth_token uses to
validate tokens) and sends the token as ``X-Auth-Token``; a 401 drops the cached token
and retries once. Without ``auth_type`` no token is sent, which suits a registry with
the unauthenticated pipeline. A registry with the keystone flavor then answers 401, which
the client reports as a clear 503.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

import requests
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import Image, Member
from glance_svc.domain.metadef_repository import ItemKind, Record
from glance_svc.domain.query import ImageQuery
from glance_svc.domain.quotas import Limits
from glance_svc.domain.task import Task, TaskQuery
from glance_svc.registry import wire

LOG = logging.getLogger(__name__)
AUTHTOKEN_GROUP = "keystone_authtoken"

registry_client_opts = [
    cfg.HostAddressOpt("registry_host", default="0.0.0.0",
                       help="Address of glance-registry."),
    cfg.PortOpt("registry_port", default=9191, help="Port of glance-registry."),
    cfg.StrOpt("registry_client_protocol", default="http", choices=["http", "https"],
               help="Protocol to reach glance-registry."),
    cfg.StrOpt("registry_client_key_file", help="Client TLS key for the registry."),
    cfg.StrOpt("registry_client_cert_file", help="Client TLS certificate for the registry."),
    cfg.StrOpt("registry_client_ca_file", help="CA bundle to verify the registry."),
    cfg.BoolOpt("registry_client_insecure", default=False,
                help="Do not verify the registry's TLS certificate."),
    cfg.IntOpt("registry_client_timeout", default=600, min=0,
               help="Seconds to wait for a registry answer; 0 waits for ever."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, registry_client_opts)]


class RegistryUnavailable(errors.ServiceUnavailable):
    """glance-registry could not be reached or did not answer as a registry does."""


def registry_url(conf: cfg.ConfigOpts) -> str:
    """``<protocol>://<host>:<port>/rpc``; the wildcard ``0.0.0.0`` means this host."""
    host = conf.registry_host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{conf.registry_client_protocol}://{host}:{conf.registry_port}/rpc"


def tls_settings(conf: cfg.ConfigOpts) -> dict[str, Any]:
    """``verify`` and ``cert`` for requests, from the registry_client_* options."""
    verify: bool | str = True
    if conf.registry_client_insecure:
        verify = False
    elif conf.registry_client_ca_file:
        verify = conf.registry_client_ca_file
    settings: dict[str, Any] = {"verify": verify}
    cert, key = conf.registry_client_cert_file, conf.registry_client_key_file
    if bool(cert) != bool(key):
        raise ValueError("registry_client_cert_file and registry_client_key_file must be "
                         "set together")
    if cert:
        settings["cert"] = (cert, key)
    return settings


class _ServiceToken:
    """A Keystone token for the service user, from ``[keystone_authtoken]``.

    keystoneauth1 caches the token and fetches a new one before it expires; ``invalidate``
    forces a new one after the registry said 401.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        from keystoneauth1 import loading
        from keystoneauth1 import session as ks_session
        from keystonemiddleware.auth_token import _opts as authtoken_opts

        for group, opts in authtoken_opts.list_opts():
            conf.register_opts(opts, group=group)
        self.plugin = loading.load_auth_from_conf_options(conf, AUTHTOKEN_GROUP)
        group = conf[AUTHTOKEN_GROUP]
        verify: bool | str = not group.insecure
        if group.cafile and not group.insecure:
            verify = group.cafile
        cert = (group.certfile, group.keyfile) if group.certfile and group.keyfile else None
        self.session = ks_session.Session(auth=self.plugin, verify=verify, cert=cert)

    def get(self) -> str:
        token = self.plugin.get_token(self.session)
        if not token:
            raise RegistryUnavailable("Could not get a Keystone token for glance-registry.")
        return str(token)

    def invalidate(self) -> None:
        self.plugin.invalidate()


def _wants_keystone(conf: cfg.ConfigOpts) -> bool:
    """Whether ``[keystone_authtoken] auth_type`` names a plugin to log in with."""
    from keystoneauth1 import loading

    # Same definitions as keystonemiddleware's, so registering twice is harmless.
    loading.register_auth_conf_options(conf, AUTHTOKEN_GROUP)
    return bool(conf[AUTHTOKEN_GROUP].auth_type)


def _refusal(response: requests.Response) -> str:
    """The registry's reason for a non-200 answer (its JSON error, else the text)."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:300]


class RegistryRepository:
    """``ImageRepository`` over glance-registry (see the module docstring)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        conf.register_opts(registry_client_opts)
        self.url = registry_url(conf)
        self.timeout = conf.registry_client_timeout or None
        self.http = requests.Session()
        # Only the config decides how the registry is reached: no proxy, netrc or CA
        # bundle from the environment (requests would let REQUESTS_CA_BUNDLE override
        # registry_client_ca_file, and an HTTP_PROXY meant for the outside world would
        # carry the registry traffic).
        self.http.trust_env = False
        for key, value in tls_settings(conf).items():
            setattr(self.http, key, value)
        self.http.headers["Content-Type"] = "application/json"
        self._token: _ServiceToken | None = None
        self._token_lock = threading.Lock()
        if _wants_keystone(conf):
            self._token = _ServiceToken(conf)

    def close(self) -> None:
        self.http.close()

    # --- transport ----------------------------------------------------------------------
    def _call(self, command: str, **kwargs: Any) -> Any:
        body = json.dumps([{"command": command, "kwargs": wire.encode(kwargs)}])
        response = self._post(body)
        if response.status_code == 401 and self._token is not None:
            with self._token_lock:
                self._token.invalidate()
            response = self._post(body)
        if response.status_code != 200:
            raise RegistryUnavailable(
                f"glance-registry at {self.url} answered {response.status_code} to "
                f"{command}: {_refusal(response)}")
        try:
            results = response.json()
        except ValueError:
            raise RegistryUnavailable(
                f"glance-registry at {self.url} sent a non-JSON answer to {command}") from None
        if not isinstance(results, list) or len(results) != 1:
            raise RegistryUnavailable(
                f"glance-registry at {self.url} sent a malformed answer to {command}")
        result = results[0]
        if wire.is_error(result):
            raise wire.decode_error(result)
        try:
            return wire.decode(result)
        except wire.WireError as exc:
            raise RegistryUnavailable(f"glance-registry answer to {command}: {exc}") from None

    def _post(self, body: str) -> requests.Response:
        headers = {}
        if self._token is not None:
            try:
                with self._token_lock:
                    headers["X-Auth-Token"] = self._token.get()
            except Exception as exc:  # keystoneauth1 raises many classes
                LOG.error("Keystone login for glance-registry failed: %s", exc)
                raise RegistryUnavailable(
                    f"Could not log in to Keystone to reach glance-registry: {exc}") from None
        try:
            return self.http.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            LOG.error("glance-registry at %s unreachable: %s", self.url, exc)
            raise RegistryUnavailable(
                f"glance-registry at {self.url} is unreachable.") from None

    # --- images -------------------------------------------------------------------------
    def create(self, image: Image) -> Image:
        return self._call("create", image=image)  # type: ignore[no-any-return]

    def get(self, image_id: str, *, include_deleted: bool = False) -> Image:
        return self._call(  # type: ignore[no-any-return]
            "get", image_id=image_id, include_deleted=include_deleted)

    def list(self, query: ImageQuery) -> list[Image]:
        return self._call("list", query=query)  # type: ignore[no-any-return]

    def save(self, image: Image, *, from_status: str | None = None,
             limits: Limits | None = None) -> Image:
        return self._call(  # type: ignore[no-any-return]
            "save", image=image, from_status=from_status, limits=limits)

    def mark_deleted(self, image: Image, *, status: str, from_status: str | None = None
                     ) -> Image:
        return self._call(  # type: ignore[no-any-return]
            "mark_deleted", image=image, status=status, from_status=from_status)

    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> Image:
        return self._call(  # type: ignore[no-any-return]
            "set_property_if", image_id=image_id, name=name, value=value, expected=expected)

    def restore(self, image_id: str) -> Image:
        return self._call("restore", image_id=image_id)  # type: ignore[no-any-return]

    # --- members ------------------------------------------------------------------------
    def add_member(self, member: Member, *, limits: Limits | None = None) -> Member:
        return self._call(  # type: ignore[no-any-return]
            "add_member", member=member, limits=limits)

    def get_member(self, image_id: str, member_id: str) -> Member:
        return self._call(  # type: ignore[no-any-return]
            "get_member", image_id=image_id, member_id=member_id)

    def list_members(self, image_id: str) -> list[Member]:
        return self._call("list_members", image_id=image_id)  # type: ignore[no-any-return]

    def save_member(self, member: Member) -> Member:
        return self._call("save_member", member=member)  # type: ignore[no-any-return]

    def delete_member(self, image_id: str, member_id: str) -> None:
        self._call("delete_member", image_id=image_id, member_id=member_id)

    # --- accounting and tools -----------------------------------------------------------
    def count_members(self, image_id: str) -> int:
        return int(self._call("count_members", image_id=image_id))

    def storage_used(self, owner: str | None) -> int:
        return int(self._call("storage_used", owner=owner))

    def list_pending_delete(self, deleted_before: dt.datetime, limit: int | None = None
                            ) -> list[Image]:
        return self._call(  # type: ignore[no-any-return]
            "list_pending_delete", deleted_before=deleted_before, limit=limit)

    def list_with_property(self, name: str) -> list[Image]:
        return self._call("list_with_property", name=name)  # type: ignore[no-any-return]

    def statuses(self, image_ids: list[str]) -> dict[str, str]:
        return self._call("statuses", image_ids=image_ids)  # type: ignore[no-any-return]

    def purge(self, age_in_days: int, max_rows: int) -> dict[str, int]:
        return self._call(  # type: ignore[no-any-return]
            "purge", age_in_days=age_in_days, max_rows=max_rows)

    def purge_images(self, age_in_days: int, max_rows: int) -> int:
        return int(self._call("purge_images", age_in_days=age_in_days, max_rows=max_rows))

    # --- image cache --------------------------------------------------------------------
    def cache_add(self, node_url: str, image_id: str, size: int) -> None:
        self._call("cache_add", node_url=node_url, image_id=image_id, size=size)

    def cache_hit(self, node_url: str, image_id: str) -> None:
        self._call("cache_hit", node_url=node_url, image_id=image_id)

    def cache_entries(self, node_url: str) -> list[dict[str, Any]]:
        return self._call("cache_entries", node_url=node_url)  # type: ignore[no-any-return]

    def cache_forget(self, node_url: str, image_ids: list[str] | None = None) -> int:
        return int(self._call("cache_forget", node_url=node_url, image_ids=image_ids))

    def cache_nodes(self, image_id: str) -> list[str]:
        return self._call("cache_nodes", image_id=image_id)  # type: ignore[no-any-return]

    # --- tasks --------------------------------------------------------------------------
    def create_task(self, task: Task) -> Task:
        return self._call("create_task", task=task)  # type: ignore[no-any-return]

    def get_task(self, task_id: str) -> Task:
        return self._call("get_task", task_id=task_id)  # type: ignore[no-any-return]

    def save_task(self, task: Task) -> Task:
        return self._call("save_task", task=task)  # type: ignore[no-any-return]

    def list_tasks(self, query: TaskQuery) -> list[Task]:
        return self._call("list_tasks", query=query)  # type: ignore[no-any-return]

    def list_image_tasks(self, image_id: str, owner: str | None, now: dt.datetime
                         ) -> list[Task]:
        return self._call(  # type: ignore[no-any-return]
            "list_image_tasks", image_id=image_id, owner=owner, now=now)

    def expire_tasks(self, now: dt.datetime, owner: str | None = None) -> int:
        return int(self._call("expire_tasks", now=now, owner=owner))


class RegistryMetadefRepository:
    """``MetadefRepository`` over glance-registry, on the transport of a
    ``RegistryRepository`` (one HTTP session and service token per process)."""

    def __init__(self, transport: RegistryRepository) -> None:
        self._call = transport._call

    # --- namespaces -------------------------------------------------------------------
    def list_namespaces(self) -> list[Record]:
        return self._call("list_namespaces")  # type: ignore[no-any-return]

    def get_namespace(self, namespace: str) -> Record:
        return self._call("get_namespace", namespace=namespace)  # type: ignore[no-any-return]

    def create_namespace(self, document: Record, *, create_resource_types: bool = False
                         ) -> Record:
        return self._call(  # type: ignore[no-any-return]
            "create_namespace", document=document,
            create_resource_types=create_resource_types)

    def update_namespace(self, namespace: str, values: Record) -> Record:
        return self._call(  # type: ignore[no-any-return]
            "update_namespace", namespace=namespace, values=values)

    def delete_namespace(self, namespace: str) -> None:
        self._call("delete_namespace", namespace=namespace)

    # --- objects, properties, tags ----------------------------------------------------
    def list_items(self, namespace: str, kind: ItemKind) -> list[Record]:
        return self._call(  # type: ignore[no-any-return]
            "list_items", namespace=namespace, kind=kind)

    def get_item(self, namespace: str, kind: ItemKind, name: str) -> Record:
        return self._call(  # type: ignore[no-any-return]
            "get_item", namespace=namespace, kind=kind, name=name)

    def create_items(self, namespace: str, kind: ItemKind, items: list[Record], *,
                     replace: bool = False) -> list[Record]:
        return self._call(  # type: ignore[no-any-return]
            "create_items", namespace=namespace, kind=kind, items=items, replace=replace)

    def update_item(self, namespace: str, kind: ItemKind, name: str, item: Record) -> Record:
        return self._call(  # type: ignore[no-any-return]
            "update_item", namespace=namespace, kind=kind, name=name, item=item)

    def delete_items(self, namespace: str, kind: ItemKind, name: str | None = None) -> None:
        self._call("delete_items", namespace=namespace, kind=kind, name=name)

    # --- resource types ---------------------------------------------------------------
    def list_resource_types(self) -> list[Record]:
        return self._call("list_resource_types")  # type: ignore[no-any-return]

    def add_association(self, namespace: str, association: Record, *,
                        create_resource_type: bool = False) -> Record:
        return self._call(  # type: ignore[no-any-return]
            "add_association", namespace=namespace, association=association,
            create_resource_type=create_resource_type)

    def remove_association(self, namespace: str, resource_type: str) -> None:
        self._call("remove_association", namespace=namespace, resource_type=resource_type)
