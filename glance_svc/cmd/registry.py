"""glance-registry: serve the image repository over HTTP for glance-api.

    glance-registry --config-file /etc/glance/glance-registry.conf

Port 9191 unless ``bind_port`` says otherwise. The paste file is found as for glance-api
(``glance_svc.api.app``), named glance-registry-paste.ini; the server is the same
gunicorn setup (``glance_svc.api.server``). The registry always uses the database of its
own ``[database]`` section: a ``data_api`` pointing at a registry is refused.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from glance_svc import config
from glance_svc.api import server
from glance_svc.db import api as db_api

DEFAULT_PORT = 9191
PROG = "glance-registry"


def main(argv: Sequence[str] | None = None) -> int:
    conf = config.parse_args(sys.argv[1:] if argv is None else argv, prog=PROG)
    config.setup_logging(conf, prog=PROG)
    if db_api.uses_registry(conf):
        print(f"{PROG}: data_api must be glance_svc.db.sqlalchemy.api here; the registry "
              "cannot forward to a registry.", file=sys.stderr)
        return 1
    if not conf.database.connection:
        print(f"{PROG}: [database] connection is not set.", file=sys.stderr)
        return 1
    return server.run_paste_service(conf, PROG, DEFAULT_PORT)


if __name__ == "__main__":
    sys.exit(main())
