"""Who owns an in-flight upload, stage or import, and whether that owner is still alive.

A worker killed with ``kill -9`` cannot clean up after itself: its image stays
``saving``, ``uploading`` or ``importing`` (with its import lock) and its partial data stays
in the store. To let someone else tell "still working" from "dead", every operation that
moves an image into one of those states records its owner on the image, in the hidden
property ``os_glance_operation_owner``::

    <host>/<pid>/<start token>/<heartbeat, Unix seconds>

- ``host`` is this machine's host name: several API hosts share one database, and only
  the owner's own host can look at its processes.
- ``pid`` plus the ``start token`` (the kernel's boot id and the process start time, from
  ``/proc``) name one process for sure: a pid reused by a later process, or a pid from
  before a reboot, has another token. So a recovery pass on the owner's host knows at once
  and for certain whether the owner is gone.
- the ``heartbeat`` is refreshed while the body streams (the transfer's ``watch`` callback,
  every few seconds, writes at most every ``timeout / 4`` seconds). Another host cannot
  see the owner's processes; it takes the operation for dead only once the heartbeat is
  older than ``operation_owner_timeout``.

The property is written in the same compare-and-set save that moves the status, and the
heartbeat with ``set_property_if`` against the value last written, so a heartbeat never
resurrects an operation that recovery has already taken back.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import OPERATION_OWNER

if TYPE_CHECKING:
    from glance_svc.domain.image import Image
    from glance_svc.domain.repository import ImageRepository

LOG = logging.getLogger(__name__)

ownership_opts = [
    cfg.IntOpt("operation_owner_timeout", default=1200, min=1,
               help="Seconds without a heartbeat after which an upload, stage or import "
                    "owned by a process on another host is taken for dead and recovered. "
                    "Keep it above client_socket_timeout: a stalled client sends no data, "
                    "so its upload sends no heartbeat either."),
]

_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, ownership_opts)]


def _read(path: str) -> str | None:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def start_token(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of a live process, or None if it is gone.

    A zombie (killed, not yet reaped by its parent) counts as gone.
    """
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat[stat.rfind(")") + 2:].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    boot = (_read(_BOOT_ID) or "").strip()
    return f"{boot}:{fields[19]}"


@dataclasses.dataclass(frozen=True)
class Owner:
    """One process on one host, and when it last said it was alive."""

    host: str
    pid: int
    token: str
    heartbeat: int

    def encode(self) -> str:
        return f"{self.host}/{self.pid}/{self.token}/{self.heartbeat}"

    @classmethod
    def decode(cls, value: str) -> Owner | None:
        """The owner recorded in ``value``; None if it is not in our format."""
        try:
            host, pid, token, beat = value.rsplit("/", 3)
            return cls(host, int(pid), token, int(beat))
        except ValueError:
            return None

    def same_process(self, other: Owner) -> bool:
        return (self.host, self.pid, self.token) == (other.host, other.pid, other.token)


@functools.cache
def _this_host() -> str:
    return socket.gethostname()


def me() -> Owner:
    """This process, with a heartbeat of now."""
    pid = os.getpid()
    return Owner(_this_host(), pid, start_token(pid) or f"pid{pid}", int(time.time()))


def claim(image: Image) -> None:
    """Record this process as the owner; the caller saves it with the status change."""
    image.properties[OPERATION_OWNER] = me().encode()


def release(image: Image) -> None:
    """Forget the owner; the caller saves it with the status change that ends the work."""
    image.properties.pop(OPERATION_OWNER, None)


def owner_of(image: Image) -> Owner | None:
    value = image.properties.get(OPERATION_OWNER)
    return Owner.decode(value) if value else None


def is_dead(owner: Owner, *, timeout: int, now: float | None = None) -> bool:
    """True when ``owner`` can no longer be working (see the module docstring).

    On the owner's own host the answer is certain: its process is gone, or the pid now
    belongs to another process. Elsewhere, only a heartbeat older than ``timeout``
    seconds counts.
    """
    if owner.host == _this_host():
        return start_token(owner.pid) != owner.token
    now = time.time() if now is None else now
    return now - owner.heartbeat > timeout


def heartbeat(repo: ImageRepository, image: Image, timeout: int) -> None:
    """Refresh this process's heartbeat on ``image`` if it is older than ``timeout / 4``.

    Called from a transfer's watch callback with the image it just re-read. An image
    owned by someone else (or by no one: recovery took it back) is left alone; the
    caller's own status check decides whether the transfer goes on.
    """
    current = owner_of(image)
    mine = me()
    if current is None or not current.same_process(mine):
        return
    if mine.heartbeat - current.heartbeat < max(timeout // 4, 1):
        return
    try:
        repo.set_property_if(image.id, OPERATION_OWNER, mine.encode(),
                             expected=current.encode())
    except (errors.StaleStatus, errors.NotFound):
        LOG.info("Image %s: ownership changed while its data was being written", image.id)
