"""``[composite:api]``: choose the pipeline named by ``[paste_deploy] flavor``.

The composite's keys are flavors (``default``, ``keystone``, ...); each value is a list of
filter names ending with the app, as in Glance's own glance-api-paste.ini.
"""

from __future__ import annotations

from typing import Any

from oslo_config.cfg import CONF


def flavor_key(conf: Any = CONF) -> str:
    return conf.paste_deploy.flavor or "default"


def pipeline_factory(loader: Any, global_conf: dict[str, Any], **local_conf: str) -> Any:
    key = flavor_key()
    if key not in local_conf:
        raise ValueError(
            f"[paste_deploy] flavor = {key!r} has no pipeline in the paste file; "
            f"it defines: {', '.join(sorted(local_conf))}")
    names = local_conf[key].split()
    app = loader.get_app(names[-1])
    for name in reversed(names[:-1]):
        app = loader.get_filter(name)(app)
    return app
