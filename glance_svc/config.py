"""The one oslo.config object and the catalogue of every option glance_svc registers.

Options are declared next to the code that reads them; this module only knows where they
live, so ``list_opts()`` can hand the complete set to ``oslo-config-generator`` and to the
template checks in the test suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Protocol

from oslo_config import cfg
from oslo_log import log

from glance_svc import messaging, recovery, scrubber
from glance_svc.api import app as api_app
from glance_svc.api import server as api_server
from glance_svc.api import stage_proxy as api_stage_proxy
from glance_svc.api import versions as api_versions
from glance_svc.api.middleware import context as context_middleware
from glance_svc.api.middleware import cors as cors_middleware
from glance_svc.cache import service as cache_service
from glance_svc.db import api as db_api
from glance_svc.domain import (
    events,
    glance_download,
    image_data,
    images,
    import_plugins,
    imports,
    ownership,
    policy,
    property_protections,
    quotas,
    task_records,
    transfers,
)
from glance_svc.registry import client as registry_client
from glance_svc.store import backends, format_check, web_download

CONF = cfg.CONF


class OptModule(Protocol):
    """A module that declares options."""

    def list_opts(self) -> list[tuple[str | None, list[cfg.Opt]]]: ...

# Modules that declare options. Each exposes ``list_opts()`` returning
# ``[(group_name_or_None, [opts...]), ...]``; none registers at import time, so a test can
# build a fresh ``cfg.ConfigOpts`` and call ``register_all`` on it. They are imported by
# name (not looked up from strings) so the layer test sees that this catalogue sits above
# every one of them.
_OPT_MODULES: tuple[OptModule, ...] = (
    api_server,
    api_app,
    api_versions,
    api_stage_proxy,
    context_middleware,
    cors_middleware,
    cache_service,
    images,
    quotas,
    imports,
    import_plugins,
    glance_download,
    ownership,
    image_data,
    transfers,
    task_records,
    events,
    messaging,
    property_protections,
    backends,
    format_check,
    web_download,
    db_api,
    registry_client,
    scrubber,
    recovery,
)

DEFAULT_CONFIG_DIR = "/etc/glance"


def _modules() -> Iterable[OptModule]:
    return _OPT_MODULES


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every option of glance_svc, grouped by section, for oslo-config-generator.

    Unlike ``register_all``, this includes every installed store driver's options.
    """
    merged: dict[str | None, list[cfg.Opt]] = {}
    listed = [pair for module in _modules() for pair in module.list_opts()]
    for group, opts in [*listed, *backends.list_driver_opts()]:
        bucket = merged.setdefault(group, [])
        bucket.extend(o for o in opts if o not in bucket)
    return sorted(merged.items(), key=lambda item: (item[0] is not None, item[0] or ""))


def register_all(conf: cfg.ConfigOpts = CONF) -> None:
    """Register every option of glance_svc and of the libraries it configures on ``conf``.

    Library options (oslo.log, oslo.db, oslo.policy, glance_store's own) are registered
    here too; a store driver's options only when the gateway loads that driver (see
    ``glance_svc.store.backends.list_opts``), and ``config_check`` adds the rest.
    """
    for module in _modules():
        for group, opts in module.list_opts():
            conf.register_opts(opts, group=group)
    if "debug" not in conf:
        log.register_options(conf)
    from oslo_db import options as db_options

    db_options.set_defaults(conf)
    policy.register_opts(conf)


def parse_args(
    argv: Sequence[str] | None,
    *,
    prog: str,
    default_config_files: Sequence[str] | None = None,
    conf: cfg.ConfigOpts = CONF,
) -> cfg.ConfigOpts:
    """Register all options on ``conf``, then parse the command line and config files.

    Logging is not set up here: each command calls ``setup_logging`` next.
    """
    register_all(conf)
    if default_config_files is None:
        default_config_files = cfg.find_config_files(project="glance", prog=prog)
    conf(
        list(argv) if argv is not None else None,
        project="glance",
        prog=prog,
        default_config_files=list(default_config_files),
    )
    return conf


def setup_logging(conf: cfg.ConfigOpts = CONF, *, prog: str = "glance") -> None:
    log.setup(conf, prog)


def existing_files(directory: str, names: Sequence[str]) -> list[str]:
    """The files among ``names`` that exist in ``directory``, in the given order."""
    paths = [os.path.join(directory, n) for n in names]
    return [p for p in paths if os.path.isfile(p)]
