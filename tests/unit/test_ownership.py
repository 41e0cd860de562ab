"""Who owns an in-flight operation, and when its owner counts as dead (no database)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

from glance_svc.domain import ownership
from glance_svc.domain.image import OPERATION_OWNER, Image

TIMEOUT = 600


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class PropertyRecorder:
    """The one repository call the heartbeat makes, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None, str | None]] = []

    def set_property_if(self, image_id: str, name: str, value: str | None, *,
                        expected: str | None) -> None:
        self.calls.append((image_id, name, value, expected))


def owned_image(owner: ownership.Owner) -> Image:
    image = Image(id="11111111-2222-3333-4444-555555555555")
    image.properties[OPERATION_OWNER] = owner.encode()
    return image


def test_owner_survives_encoding():
    owner = ownership.me()
    assert ownership.Owner.decode(owner.encode()) == owner


def test_value_in_another_format_has_no_owner():
    assert ownership.Owner.decode("task-1234") is None


def test_this_process_is_alive():
    assert not ownership.is_dead(ownership.me(), timeout=TIMEOUT)


def test_exited_local_process_is_dead_at_once():
    owner = dataclasses.replace(ownership.me(), pid=exited_pid())
    assert ownership.is_dead(owner, timeout=TIMEOUT)


def test_local_pid_reused_by_another_process_is_dead():
    owner = dataclasses.replace(ownership.me(), token="other-boot:12345")
    assert ownership.is_dead(owner, timeout=TIMEOUT)


def test_other_host_with_a_recent_heartbeat_is_alive():
    owner = dataclasses.replace(ownership.me(), host="api-2", pid=exited_pid(),
                                heartbeat=int(time.time()) - TIMEOUT + 60)
    assert not ownership.is_dead(owner, timeout=TIMEOUT)


def test_other_host_with_an_old_heartbeat_is_dead():
    owner = dataclasses.replace(ownership.me(), host="api-2", pid=os.getpid(),
                                heartbeat=int(time.time()) - TIMEOUT - 60)
    assert ownership.is_dead(owner, timeout=TIMEOUT)


def test_heartbeat_refreshes_an_old_beat_with_compare_and_set():
    old = dataclasses.replace(ownership.me(), heartbeat=int(time.time()) - TIMEOUT // 2)
    repo = PropertyRecorder()
    ownership.heartbeat(repo, owned_image(old), TIMEOUT)  # type: ignore[arg-type]
    [(_, name, value, expected)] = repo.calls
    assert (name, expected) == (OPERATION_OWNER, old.encode())
    assert ownership.Owner.decode(value or "").heartbeat > old.heartbeat


def test_heartbeat_skips_a_recent_beat():
    repo = PropertyRecorder()
    ownership.heartbeat(repo, owned_image(ownership.me()), TIMEOUT)  # type: ignore[arg-type]
    assert repo.calls == []


def test_heartbeat_never_touches_another_process_claim():
    other = dataclasses.replace(ownership.me(), pid=exited_pid(), heartbeat=0)
    repo = PropertyRecorder()
    ownership.heartbeat(repo, owned_image(other), TIMEOUT)  # type: ignore[arg-type]
    assert repo.calls == []
