"""Check config files against every option glance_svc knows: a typo is an error.

oslo.config ignores options it was never told about, so ``bind_prot = 9292`` would be
dropped silently and the service would listen on the default port. This check knows the
full set (glance_svc's own options, oslo.log, oslo.db, oslo.policy, oslo.middleware,
keystonemiddleware with the password plugin, glance_store including the per-backend
sections that ``enabled_backends`` creates), and reports any option outside it, and any
value that does not parse.

    python -m glance_svc.config_check /etc/glance/glance-api.conf [...]
"""

from __future__ import annotations

import configparser
import copy
import sys
from collections.abc import Sequence

import glance_store
from glance_store import multi_backend
from keystoneauth1 import loading
from keystonemiddleware.auth_token import _opts as authtoken_opts
from oslo_config import cfg
from oslo_middleware import opts as middleware_opts

from glance_svc import config, messaging

AUTHTOKEN_GROUP = "keystone_authtoken"
RESERVED_STORES = {"os_glance_staging_store": "file", "os_glance_tasks_store": "file"}


def _register_libraries(conf: cfg.ConfigOpts) -> None:
    for group, opts in authtoken_opts.list_opts():
        conf.register_opts(opts, group=group)
    loading.register_auth_conf_options(conf, AUTHTOKEN_GROUP)
    # Copies, not required: a no-auth config legitimately sets none of them.
    plugin_opts = [copy.copy(o) for o in loading.get_auth_plugin_conf_options("password")]
    for opt in plugin_opts:
        opt.required = False
    conf.register_opts(plugin_opts, group=AUTHTOKEN_GROUP)
    for lister in (middleware_opts.list_opts_http_proxy_to_wsgi,
                   middleware_opts.list_opts_healthcheck):
        for group, opts in lister():
            conf.register_opts(opts, group=group)
    glance_store.register_opts(conf)
    for group, opts in messaging.library_opts():
        conf.register_opts(opts, group=group)


def load(paths: Sequence[str]) -> cfg.ConfigOpts:
    """A ConfigOpts with every known option registered and ``paths`` loaded."""
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    _register_libraries(conf)
    conf([], project="glance", default_config_files=list(paths), use_env=False)
    if conf.enabled_backends:
        from glance_svc.store import backends

        register = getattr(backends, "register_backend_opts", None)
        if register is not None:
            register(conf)
        else:
            multi_backend.register_store_opts(conf, reserved_stores=RESERVED_STORES)
    return conf


def _set_options(paths: Sequence[str]) -> list[tuple[str, str]]:
    """(section, option) for every option the files set, in file order."""
    found: list[tuple[str, str]] = []
    for path in paths:
        parser = configparser.RawConfigParser(default_section="\0none", strict=False,
                                              interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        with open(path) as handle:
            parser.read_file(handle)
        for section in parser.sections():
            found.extend((section, option) for option in parser.options(section))
    return found


def problems(paths: Sequence[str]) -> list[str]:
    """Every unknown option and every unparsable value in ``paths``, one line each."""
    conf = load(paths)
    report: list[str] = []
    for section, option in _set_options(paths):
        namespace = conf if section == "DEFAULT" else conf.get(section) if (
            section in conf) else None
        if namespace is None:
            report.append(f"[{section}] is not a section glance_svc reads ({option})")
            continue
        if option not in namespace:
            report.append(f"[{section}] {option} is not an option glance_svc knows")
            continue
        try:
            getattr(namespace, option)
        except (cfg.ConfigFileValueError, ValueError) as exc:
            report.append(f"[{section}] {option}: {exc}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m glance_svc.config_check FILE [FILE...]", file=sys.stderr)
        return 2
    found = problems(paths)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problem(s) in {', '.join(paths)}")
        return 1
    print(f"OK: every option in {', '.join(paths)} is known and parses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
