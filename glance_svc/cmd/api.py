"""glance-api: serve the Image API v2.

    glance-api --config-file /etc/glance/glance-api.conf

The paste file is found as described in ``glance_svc.api.app``; the server is gunicorn,
configured by ``bind_host``, ``bind_port``, ``workers`` and the TLS options.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from glance_svc import config
from glance_svc.api import app, server

DEFAULT_PORT = 9292


def main(argv: Sequence[str] | None = None) -> int:
    conf = config.parse_args(sys.argv[1:] if argv is None else argv, prog="glance-api")
    config.setup_logging(conf, prog="glance-api")
    try:
        settings = server.gunicorn_settings(conf, DEFAULT_PORT)
        # Find the paste file in the parent, so a missing one fails here with a clear
        # message instead of in every worker.
        paste_file = app.find_paste_file(conf, "glance-api-paste.ini")
    except (ValueError, app.PasteConfigNotFound) as exc:
        print(f"glance-api: {exc}", file=sys.stderr)
        return 1
    server.serve(
        lambda: app.load_paste_app(conf, "glance-api", paste_file),
        settings,
        proc_name="glance-api",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
