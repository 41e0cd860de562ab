"""glance-scrubber: remove the data of pending_delete images once scrub_time has passed.

(Being implemented; the options below are final.)
"""

from __future__ import annotations

from oslo_config import cfg

scrubber_opts = [
    cfg.IntOpt("scrub_time", default=0, min=0,
               help="Seconds a deleted image's data is kept before the scrubber removes it."),
    cfg.IntOpt("scrub_pool_size", default=1, min=1,
               help="Images the scrubber deletes in parallel."),
    cfg.IntOpt("wakeup_time", default=300, min=1,
               help="Seconds between two runs of the scrubber daemon."),
]

scrubber_cli_opts = [
    cfg.BoolOpt("daemon", short="D", default=False,
                help="Keep running, scrubbing every wakeup_time seconds."),
    cfg.StrOpt("restore", metavar="IMAGE_ID",
               help="Bring a pending_delete image back to active, then exit."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, scrubber_opts + scrubber_cli_opts)]
