"""Kill glance-scrubber with SIGKILL in the middle of a run; the next run finishes the job.

What must hold at any moment: an image is either ``deleted`` with all its data gone, or
``pending_delete`` with the data of every ``pending_delete`` location still in the store,
except for the one image a killed run was working on, which carries an in-flight marker
(restore refuses it) until the next run finishes it. No data without a row, no row
claiming data that is gone outside that marker.

``GLANCE_SCRUBBER_TEST_DELAY`` makes the scrubber sleep between deleting a location's
data and recording it: the kill lands in the window that matters.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.scrubber import ScrubberEnv, scrub_db, wait_for  # noqa: F401

HOUR = 3600

DELAY_ENV = "GLANCE_SCRUBBER_TEST_DELAY"


@pytest.fixture
def env(tmp_path: Path, scrub_db: str) -> Iterator[ScrubberEnv]:  # noqa: F811
    scrubber_env = ScrubberEnv(tmp_path / "scrubber", scrub_db,
                               {"DEFAULT": {"scrub_time": HOUR, "scrub_pool_size": 1}})
    yield scrubber_env
    scrubber_env.close()


def seed_images(env: ScrubberEnv, locations: list[int]) -> list[str]:
    """Due images, oldest first (the order the scrubber takes them)."""
    ids = []
    for position, count in enumerate(locations):
        ids.append(env.seed(deleted_ago=10 * HOUR - position * 60, locations=count))
    return ids


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def violations(env: ScrubberEnv, image_id: str, count: int) -> list[str]:
    """What is wrong with this image's state right now (empty: consistent)."""
    image = env.image(image_id)
    statuses = env.location_statuses(image_id)
    data = [env.has_data(image_id, i) for i in range(count)]
    marked = image_id in env.inflight()
    problems = []
    if image.status == "deleted":
        if any(data):
            problems.append(f"{image_id} deleted but data left: {data}")
        if statuses != ["deleted"] * count:
            problems.append(f"{image_id} deleted with locations {statuses}")
    elif image.status == "pending_delete":
        for status, present in zip(statuses, data, strict=True):
            if status == "deleted" and present:
                problems.append(f"{image_id} has data behind a deleted location")
            if status == "pending_delete" and not present and not marked:
                problems.append(f"{image_id} lost data of a pending location, no marker")
    else:
        problems.append(f"{image_id} is {image.status}")
    return problems


def test_kill_between_data_delete_and_record_leaves_a_marker(env: ScrubberEnv) -> None:
    first, victim, *_rest = seed_images(env, [1, 2, 1, 1])
    output = env.workdir / "run.out"
    process = env.start(env={DELAY_ENV: "5"}, output=output)
    line = f"Image {victim}: deleted data at file://{env.data_path(victim, 0)}"
    wait_for(lambda: line in output.read_text(), timeout=120, what="the victim's delete")
    kill(process)
    assert env.image(first).status == "deleted"
    assert env.image(victim).status == "pending_delete"
    assert env.location_statuses(victim) == ["pending_delete", "pending_delete"]
    assert (env.has_data(victim, 0), env.has_data(victim, 1)) == (False, True)
    assert env.inflight() == [victim]


def test_restore_refuses_the_image_a_killed_run_was_deleting(env: ScrubberEnv) -> None:
    _first, victim = seed_images(env, [1, 2])
    output = env.workdir / "run.out"
    process = env.start(env={DELAY_ENV: "5"}, output=output)
    line = f"Image {victim}: deleted data at file://{env.data_path(victim, 0)}"
    wait_for(lambda: line in output.read_text(), timeout=120, what="the victim's delete")
    kill(process)
    result = env.run("--restore", victim)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"glance-scrubber: not restored: image {victim}: an interrupted scrub run was "
        "deleting its data; run glance-scrubber once to finish the deletion")


def test_run_after_a_kill_finishes_every_due_image(env: ScrubberEnv) -> None:
    ids = seed_images(env, [1, 2, 1, 1])
    keep = env.seed(deleted_ago=60)
    output = env.workdir / "run.out"
    process = env.start(env={DELAY_ENV: "5"}, output=output)
    line = f"Image {ids[1]}: deleted data at file://{env.data_path(ids[1], 0)}"
    wait_for(lambda: line in output.read_text(), timeout=120, what="the second image")
    kill(process)
    result = env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert [env.image(i).status for i in ids] == ["deleted"] * 4
    assert [env.has_data(i, n) for i in ids for n in range(2)].count(True) == 0
    assert env.inflight() == []
    assert (env.image(keep).status, env.has_data(keep)) == ("pending_delete", True)


def test_repeated_kills_never_lose_or_half_delete_an_image(env: ScrubberEnv) -> None:
    counts = [1, 2, 1, 3, 1, 2, 1, 1]
    ids = seed_images(env, counts)
    keep = env.seed(deleted_ago=60, locations=2)
    rng = random.Random(20240601)
    mid_run_kills = 0  # kills that left some due images done and some not
    for attempt in range(12):
        output = env.workdir / f"run{attempt}.out"
        process = env.start(env={DELAY_ENV: "0.4"}, output=output)
        # Kill after a random number of data deletes of this run, at a random moment
        # (inside or outside the delete-to-record window).
        wanted = rng.randint(1, 3)
        wait_for(lambda: process.poll() is not None  # noqa: B023
                 or output.read_text().count(": deleted data at ") >= wanted,  # noqa: B023
                 timeout=120, what="progress")
        time.sleep(rng.uniform(0, 0.6))
        if process.poll() is not None:
            break
        kill(process)
        problems = [p for i, n in zip(ids, counts, strict=True) for p in violations(env, i, n)]
        assert problems == [], f"after kill {attempt + 1}: {problems}"
        assert len(env.inflight()) <= 1
        done = [env.image(i).status for i in ids].count("deleted")
        mid_run_kills += 0 < done < len(ids)
    assert mid_run_kills >= 1, "no kill landed in the middle of a run"
    final = env.run()
    assert final.returncode == 0, final.stdout + final.stderr
    assert [env.image(i).status for i in ids] == ["deleted"] * len(ids)
    assert sum(env.has_data(i, n) for i, c in zip(ids, counts, strict=True)
               for n in range(c)) == 0
    assert env.inflight() == []
    assert (env.has_data(keep, 0), env.has_data(keep, 1)) == (True, True)
    assert env.location_statuses(keep) == ["pending_delete", "pending_delete"]
