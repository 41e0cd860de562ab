"""The oslo.messaging adapter of the domain's ``Notifier`` port (``domain.events``).

Glance sends through an ``oslo_messaging.Notifier`` on the calling thread; with the
rabbit driver and the default ``retry = -1`` that call blocks until the broker takes the
message, so a broker that is down stalls every API request that emits an event (spec
part 2 §1.1). Here the request thread only puts the message on a bounded queue, and one
daemon thread per process sends from it. The API call costs a ``put_nowait``, whatever
the broker does; while the broker is away the queue holds up to ``QUEUE_SIZE`` messages
(further ones are dropped with a warning, never waited for) and the sender resumes, in
order, once oslo.messaging reconnects.

Everything else is oslo.messaging's own configuration, which Glance's config files
already carry: ``[oslo_messaging_notifications] driver``, ``transport_url``, ``topics``,
``retry``, ``[DEFAULT] transport_url``, ``control_exchange`` (``glance`` by default, as
Glance sets it) and ``[oslo_messaging_rabbit]``. With no driver configured nothing is
built, and a config without the ``[oslo_messaging_notifications]`` section does not even
import oslo.messaging.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

LOG = logging.getLogger(__name__)

GROUP = "oslo_messaging_notifications"

# Messages waiting for the sender, per process: minutes of a busy API's events.
QUEUE_SIZE = 10000
# At exit, how long the sender may still take to hand over what is queued.
FLUSH_SECONDS = 5.0

publisher_opts = [
    cfg.StrOpt("default_publisher_id", default="image.localhost",
               help="publisher_id of every notification, copied verbatim (Glance does "
                    "not derive it from the host name)."),
]


def _oslo_messaging() -> Any:
    """oslo.messaging, imported on first need, with Glance's exchange as the default."""
    import oslo_messaging
    from oslo_messaging import opts  # noqa: F401  (the option catalogue)

    oslo_messaging.set_transport_defaults(control_exchange="glance")
    return oslo_messaging


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, publisher_opts)]


def library_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """oslo.messaging's transport and notifier options, as its own catalogue lists them.

    Not part of ``list_opts``: importing oslo.messaging costs every command half a
    second, so only the config check and a glance-api that sends notifications pay it.
    """
    opts = _oslo_messaging().opts
    return [(None if group == "DEFAULT" else group, list(group_opts))
            for group, group_opts in opts.list_opts()]


class QueuedNotifier:
    """Sends events through oslo.messaging from a background thread (see module doc)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf
        self._queue: queue.Queue[tuple[str, str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._lock = threading.Lock()
        self._pid: int | None = None  # the process whose sender thread runs
        self._sender: threading.Thread | None = None
        self._dropped = 0

    def notify(self, priority: str, event_type: str, payload: Mapping[str, Any] | str
               ) -> None:
        self._ensure_sender()
        try:
            self._queue.put_nowait((priority, event_type, payload))
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                LOG.warning("Notification queue full (broker unreachable?): %d events "
                            "dropped so far, the last %s", self._dropped, event_type)

    def _ensure_sender(self) -> None:
        """Start the sender in this process: a worker forked from a parent that already
        sent has the queue object but not the thread."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.Queue(QUEUE_SIZE)
            self._sender = threading.Thread(target=self._run, name="notifications",
                                            daemon=True)
            self._sender.start()
            self._pid = os.getpid()
            atexit.register(self.flush, FLUSH_SECONDS)

    def _build(self) -> Any:
        oslo_messaging = _oslo_messaging()
        transport = oslo_messaging.get_notification_transport(self.conf)
        return oslo_messaging.Notifier(transport,
                                       publisher_id=self.conf.default_publisher_id)

    def _run(self) -> None:
        """Send queued events for ever; a failed send is logged and the next one tried."""
        try:
            notifier = self._build()
        except Exception:
            LOG.exception("Notifications disabled: the notification transport cannot be "
                          "built")
            return
        context: dict[str, Any] = {}  # Glance sends an empty context (no _context_* keys)
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                priority, event_type, payload = item
                send = getattr(notifier, priority.lower())
                send(context, event_type, payload)
            except Exception:
                LOG.exception("Unable to send notification %s", item and item[1])
            finally:
                self._queue.task_done()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queue to drain; whether it did."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True


def notifier(conf: cfg.ConfigOpts) -> QueuedNotifier | None:
    """What the composition root plugs into ``domain.events``; None when
    ``[oslo_messaging_notifications] driver`` is empty (Glance's default: send nothing).

    A config without that section costs nothing: oslo.messaging is not even imported.
    """
    if GROUP not in conf.list_all_sections():
        return None
    for group, opts in library_opts():
        conf.register_opts(opts, group=group)
    return QueuedNotifier(conf) if conf[GROUP].driver else None
