"""glance-scrubber: delete the data of pending_delete images (spec §5.3, §6.5).

    glance-scrubber --config-file /etc/glance/glance-scrubber.conf            # one run
    glance-scrubber --config-file /etc/glance/glance-scrubber.conf --daemon   # for ever
    glance-scrubber --config-file /etc/glance/glance-scrubber.conf --restore ID

The config is self-contained: ``[database]`` (or ``data_api`` + ``registry_*`` for the
registry) and the same store sections as glance-api. Progress goes to the log (stdout
unless ``log_file``/``log_dir`` is set); the outcome is one line on stdout, a refusal
one line on stderr. Exit status: 0 done, 1 refused or failed (a run with images left
for the next run also exits 1, so a timer unit shows it), 2 bad usage.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

from oslo_config import cfg

from glance_svc import config, scrubber
from glance_svc.domain.repository import ImageRepository

PROG = "glance-scrubber"


def _fail(message: str, code: int = 1) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    conf = config.CONF
    # CLI before register_all: there they are plain options too (list_opts), and the
    # already-registered CLI definition is the one kept.
    conf.register_cli_opts(scrubber.scrubber_cli_opts)
    config.parse_args(sys.argv[1:] if argv is None else argv, prog=PROG, conf=conf)
    config.setup_logging(conf, prog=PROG)
    if conf.restore and conf.daemon:
        return _fail("--restore and --daemon cannot be used together", 2)
    try:
        if conf.restore:
            return _restore(conf, conf.restore)
        return _scrub(conf)
    except scrubber.ScrubberBusy as exc:
        if conf.restore:
            return _fail(f"cannot restore while a scrubber is running: {exc}")
        return _fail(f"not started: {exc}")
    except (OSError, ValueError) as exc:
        return _fail(str(exc))


def _repository(conf: cfg.ConfigOpts) -> ImageRepository:
    from glance_svc.db import api as db_api

    return db_api.get_repository(conf)


def _restore(conf: cfg.ConfigOpts, image_id: str) -> int:
    with scrubber.locked(conf) as (_lock, markers):
        try:
            image = scrubber.restore(_repository(conf), markers, image_id)
        except scrubber.RestoreRefused as exc:
            return _fail(f"not restored: {exc}")
    print(f"Image {image.id} restored: status {image.status}, "
          f"{len(image.active_locations)} location(s)")
    return 0


def _scrub(conf: cfg.ConfigOpts) -> int:
    from glance_svc.store.backends import StoreGateway

    with scrubber.locked(conf) as (_lock, markers):
        worker = scrubber.Scrubber(conf, _repository(conf), StoreGateway(conf), markers)
        if conf.daemon:
            def _stop(signum: int, frame: FrameType | None) -> None:
                worker.stop.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            print(f"{PROG}: daemon started, a run every {conf.wakeup_time} s", flush=True)
            worker.run_forever()
            print(f"{PROG}: daemon stopped", flush=True)
            return 0
        report = worker.run_once()
    print(f"{PROG}: {report.summary()}", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
