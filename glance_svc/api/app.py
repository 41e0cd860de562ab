"""Load the WSGI application from the paste file, as Glance does (spec §6.1, §7).

The paste file is ``[paste_deploy] config_file`` if set; else the last ``--config-file``
with ``.conf`` replaced by ``-paste.ini`` if that file exists; else the copy packaged
with glance_svc, so a config of a few lines starts a working service.
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

from oslo_config import cfg
from paste import deploy

from glance_svc.api.request_guard import RequestGuard

paste_deploy_opts = [
    cfg.StrOpt("flavor",
               help="Pipeline to use from the paste file: unset for no authentication, "
                    "'keystone' for keystonemiddleware auth_token, or any name the paste "
                    "file defines (the app loaded is '<app>-<flavor>')."),
    cfg.StrOpt("config_file", help="Path to the paste file. Default: see the module docs."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [("paste_deploy", paste_deploy_opts)]


class PasteConfigNotFound(RuntimeError):
    pass


def packaged_paste_file(name: str) -> str:
    return str(resources.files("glance_svc").joinpath("etc", name))


def find_paste_file(conf: cfg.ConfigOpts, default_name: str) -> str:
    """The paste file this process should load (see the module docstring)."""
    configured = conf.paste_deploy.config_file
    if configured:
        candidates = [configured]
        if not os.path.isabs(configured):
            candidates = [conf.find_file(configured) or configured]
        path = candidates[0]
        if not os.path.isfile(path):
            raise PasteConfigNotFound(f"[paste_deploy] config_file {configured} not found")
        return os.path.abspath(path)
    if conf.config_file:
        last = conf.config_file[-1]
        beside = last[: -len(".conf")] + "-paste.ini" if last.endswith(".conf") else None
        if beside and os.path.isfile(beside):
            return os.path.abspath(beside)
    found = conf.find_file(default_name)
    if found:
        return os.path.abspath(found)
    return packaged_paste_file(default_name)


def app_name(base: str, conf: cfg.ConfigOpts) -> str:
    flavor = conf.paste_deploy.flavor
    return f"{base}-{flavor}" if flavor else base


def load_paste_app(conf: cfg.ConfigOpts, base: str, path: str) -> Any:
    """Load ``base`` (or ``base-<flavor>``) from the paste file at ``path``.

    A paste file with a composite ``[composite:api]`` keyed by flavor only defines
    ``glance-api`` and ``glance-api-keystone``; if ``base-<flavor>`` is missing we fall
    back to ``base``, whose pipeline factory then picks the flavor.

    Whatever the paste file says, the app comes wrapped in ``RequestGuard``: an
    operator's own pipeline must not bring back 500s for undecodable URLs or resets
    after refused bodies.
    """
    name = app_name(base, conf)
    try:
        return RequestGuard(deploy.loadapp(f"config:{path}", name=name))
    except LookupError:
        if name == base:
            raise
        return RequestGuard(deploy.loadapp(f"config:{path}", name=base))
