"""glance-scrubber as a real process: which images it scrubs, failures, restore, daemon.

Spec §5.3: a run removes the data of pending_delete images deleted at least scrub_time
ago, marks their locations and then the image deleted, leaves an image whose store
failed pending_delete for the next run; ``--restore`` brings an image back unless a
scrubber runs.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ApiClient
from tests.fixtures.scrubber import ScrubberEnv, scrub_db, wait_for  # noqa: F401
from tests.fixtures.service import GlanceServer

HOUR = 3600


@pytest.fixture
def env(tmp_path: Path, scrub_db: str) -> Iterator[ScrubberEnv]:  # noqa: F811
    scrubber_env = ScrubberEnv(tmp_path / "scrubber", scrub_db,
                               {"DEFAULT": {"scrub_time": HOUR}})
    yield scrubber_env
    scrubber_env.close()


def stop(process: subprocess.Popen[bytes]) -> int:
    process.terminate()
    return process.wait(timeout=30)


# -- which images -------------------------------------------------------------------------

def test_run_scrubs_image_deleted_longer_than_scrub_time_ago(env: ScrubberEnv) -> None:
    due = env.seed(deleted_ago=2 * HOUR)
    result = env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.image(due).status == "deleted"
    assert env.location_statuses(due) == ["deleted"]
    assert not env.has_data(due)


def test_run_keeps_image_deleted_less_than_scrub_time_ago(env: ScrubberEnv) -> None:
    recent = env.seed(deleted_ago=60)
    result = env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.image(recent).status == "pending_delete"
    assert env.location_statuses(recent) == ["pending_delete"]
    assert env.has_data(recent)


def test_run_scrubs_exactly_the_due_images(env: ScrubberEnv) -> None:
    due = env.seed(deleted_ago=HOUR + 60)
    recent = env.seed(deleted_ago=HOUR - 60)
    result = env.run()
    assert result.stdout.strip().splitlines()[-1] == "glance-scrubber: 1 image(s) scrubbed"
    assert (env.image(due).status, env.image(recent).status) == ("deleted", "pending_delete")
    assert (env.has_data(due), env.has_data(recent)) == (False, True)


def test_run_with_nothing_due_says_so(env: ScrubberEnv) -> None:
    result = env.run()
    assert result.returncode == 0
    assert result.stdout.strip().splitlines()[-1] == "glance-scrubber: 0 image(s) scrubbed"


def test_image_with_missing_data_is_scrubbed(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.data_path(image_id).unlink()
    result = env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.image(image_id).status == "deleted"


def test_every_location_of_an_image_is_scrubbed(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR, locations=3)
    env.run()
    assert env.location_statuses(image_id) == ["deleted", "deleted", "deleted"]
    assert [env.has_data(image_id, i) for i in range(3)] == [False, False, False]


# -- failures -------------------------------------------------------------------------------

def test_failed_store_leaves_image_pending_delete(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.break_location(image_id)
    result = env.run()
    assert result.returncode == 1
    assert env.image(image_id).status == "pending_delete"
    assert env.location_statuses(image_id) == ["pending_delete"]
    assert f"left pending_delete for the next run: {image_id}" in result.stdout


def test_failed_store_error_names_image_and_location(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.break_location(image_id)
    result = env.run()
    assert f"Image {image_id}: deleting file://{env.data_path(image_id)} failed" in (
        result.stdout + result.stderr)


def test_next_run_after_store_failure_finishes_the_image(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.break_location(image_id)
    assert env.run().returncode == 1
    env.repair_location(image_id)
    result = env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert env.image(image_id).status == "deleted"
    assert not env.has_data(image_id)


def test_partly_failed_image_records_the_location_it_did_delete(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR, locations=2)
    env.break_location(image_id, index=1)
    env.run()
    assert env.image(image_id).status == "pending_delete"
    assert env.location_statuses(image_id) == ["deleted", "pending_delete"]
    assert not env.has_data(image_id, 0)


def test_failed_image_does_not_stop_the_others(env: ScrubberEnv) -> None:
    broken = env.seed(deleted_ago=3 * HOUR)
    fine = env.seed(deleted_ago=2 * HOUR)
    env.break_location(broken)
    env.run()
    assert (env.image(broken).status, env.image(fine).status) == ("pending_delete", "deleted")


def test_location_of_a_store_the_scrubber_does_not_know_is_kept(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    with env.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE image_locations SET value = 'swift+https://example.invalid/v1/c/o' "
            f"WHERE image_id = '{image_id}'")
    result = env.run()
    assert result.returncode == 1
    assert env.location_statuses(image_id) == ["pending_delete"]


# -- parallelism ----------------------------------------------------------------------------

def test_scrub_pool_size_scrubs_images_in_parallel(env: ScrubberEnv) -> None:
    for _ in range(4):
        env.seed(deleted_ago=2 * HOUR)
    env.write_config({"DEFAULT": {"scrub_pool_size": 4}})
    # Each image waits 2 s between deleting its data and recording it. One at a time, the
    # log alternates "deleted data" / "scrubbed"; four at a time, all four deletes come first.
    result = env.run(env={"GLANCE_SCRUBBER_TEST_DELAY": "2"})
    progress = [line for line in result.stdout.splitlines()
                if ": deleted data at " in line or ": scrubbed (" in line]
    assert result.stdout.strip().splitlines()[-1] == "glance-scrubber: 4 image(s) scrubbed"
    assert [": deleted data at " in line for line in progress[:4]] == [True] * 4


def test_scrub_pool_size_one_scrubs_one_image_at_a_time(env: ScrubberEnv) -> None:
    for _ in range(2):
        env.seed(deleted_ago=2 * HOUR)
    result = env.run(env={"GLANCE_SCRUBBER_TEST_DELAY": "1"})
    progress = ["deleted" if ": deleted data at " in line else "scrubbed"
                for line in result.stdout.splitlines()
                if ": deleted data at " in line or ": scrubbed (" in line]
    assert progress == ["deleted", "scrubbed", "deleted", "scrubbed"]


# -- restore --------------------------------------------------------------------------------

def test_restore_makes_image_active_again(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    result = env.run("--restore", image_id)
    assert result.returncode == 0, result.stdout + result.stderr
    image = env.image(image_id)
    assert (image.status, image.deleted, image.deleted_at) == ("active", False, None)


def test_restore_makes_locations_active_again(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR, locations=2)
    env.run("--restore", image_id)
    assert env.location_statuses(image_id) == ["active", "active"]
    assert env.has_data(image_id, 0) and env.has_data(image_id, 1)


def test_restore_prints_the_outcome(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=60)
    result = env.run("--restore", image_id)
    assert result.stdout.strip().splitlines()[-1] == (
        f"Image {image_id} restored: status active, 1 location(s)")


def test_restored_image_is_not_scrubbed(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.run("--restore", image_id)
    env.run()
    assert env.image(image_id).status == "active"
    assert env.has_data(image_id)


def test_restore_of_unknown_image_is_refused(env: ScrubberEnv) -> None:
    missing = str(uuid.uuid4())
    result = env.run("--restore", missing)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"glance-scrubber: not restored: image {missing} does not exist")


def test_restore_of_scrubbed_image_is_refused(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=2 * HOUR)
    env.run()
    result = env.run("--restore", image_id)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"glance-scrubber: not restored: image {image_id} is deleted, not pending_delete")


def test_restore_with_daemon_is_a_usage_error(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=60)
    result = env.run("--daemon", "--restore", image_id)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "glance-scrubber: --restore and --daemon cannot be used together")


def test_restore_is_refused_while_a_daemon_runs(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=60)
    output = env.workdir / "daemon.out"
    daemon = env.start("--daemon", output=output)
    try:
        wait_for(lambda: "daemon started" in output.read_text(), what="the daemon")
        result = env.run("--restore", image_id)
    finally:
        stop(daemon)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "glance-scrubber: cannot restore while a scrubber is running: another "
        f"glance-scrubber (pid {daemon.pid}) holds")
    assert env.image(image_id).status == "pending_delete"


def test_restore_works_once_the_daemon_stopped(env: ScrubberEnv) -> None:
    image_id = env.seed(deleted_ago=60)
    output = env.workdir / "daemon.out"
    daemon = env.start("--daemon", output=output)
    wait_for(lambda: "daemon started" in output.read_text(), what="the daemon")
    assert stop(daemon) == 0
    assert env.run("--restore", image_id).returncode == 0
    assert env.image(image_id).status == "active"


def test_second_scrubber_is_refused_while_a_daemon_runs(env: ScrubberEnv) -> None:
    output = env.workdir / "daemon.out"
    daemon = env.start("--daemon", output=output)
    try:
        wait_for(lambda: "daemon started" in output.read_text(), what="the daemon")
        result = env.run()
    finally:
        stop(daemon)
    assert result.returncode == 1
    assert result.stderr.startswith("glance-scrubber: not started: another glance-scrubber")


# -- daemon ---------------------------------------------------------------------------------

def test_daemon_scrubs_images_that_become_due_later(env: ScrubberEnv) -> None:
    env.write_config({"DEFAULT": {"wakeup_time": 1}})
    first = env.seed(deleted_ago=2 * HOUR)
    output = env.workdir / "daemon.out"
    daemon = env.start("--daemon", output=output)
    try:
        wait_for(lambda: env.image(first).status == "deleted", what="the first image")
        second = env.seed(deleted_ago=2 * HOUR)
        wait_for(lambda: env.image(second).status == "deleted", what="the second image")
    finally:
        code = stop(daemon)
    assert code == 0
    assert output.read_text().strip().splitlines()[-1] == "glance-scrubber: daemon stopped"


# -- through the API ------------------------------------------------------------------------

DelayedApi = tuple[GlanceServer, ApiClient, ScrubberEnv]


@pytest.fixture
def delayed_api(make_server: Callable[..., GlanceServer], tmp_path: Path
                ) -> Iterator[DelayedApi]:
    """A glance-api with delayed_delete, and a scrubber on its database and file store."""
    server = make_server(conf={"DEFAULT": {"delayed_delete": True}})
    scrubber_env = ScrubberEnv(tmp_path / "scrubber", server.database_url, {
        "glance_store": {"filesystem_store_datadir": str(server.images_dir)}}, sync_db=False)
    yield server, ApiClient(server.url), scrubber_env
    scrubber_env.close()


def test_image_deleted_through_the_api_is_scrubbed(delayed_api: DelayedApi) -> None:
    server, client, scrubber_env = delayed_api
    image = client.active_image()
    assert client.delete(f"/v2/images/{image['id']}").status_code == 204
    assert server.stored_files() == [image["id"]]
    result = scrubber_env.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (scrubber_env.image(image["id"]).status, server.stored_files()) == ("deleted", [])


def test_restored_image_downloads_again_through_the_api(delayed_api: DelayedApi) -> None:
    _server, client, scrubber_env = delayed_api
    image = client.active_image(data=b"keep me")
    client.delete(f"/v2/images/{image['id']}")
    assert scrubber_env.run("--restore", image["id"]).returncode == 0
    response = client.get(f"/v2/images/{image['id']}/file")
    assert (response.status_code, response.content) == (200, b"keep me")


# -- the lock directory ---------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="only root creates files for another user")
def test_files_root_creates_belong_to_the_lock_directory_owner(env: ScrubberEnv) -> None:
    env.lock_dir.mkdir()
    os.chown(env.lock_dir, 4242, 4242)
    env.seed(deleted_ago=2 * HOUR)
    env.run()
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in env.lock_dir.iterdir()}
    assert owners == {(4242, 4242)}


@pytest.mark.skipif(os.path.exists("/var/lib/glance"), reason="the default lock dir exists")
def test_without_lock_path_or_var_lib_glance_the_scrubber_says_what_to_set(
        env: ScrubberEnv) -> None:
    env.conf.pop("oslo_concurrency")
    env.write_config()
    result = env.run()
    assert (result.returncode, result.stderr.strip()) == (1, (
        "glance-scrubber: /var/lib/glance does not exist: set [oslo_concurrency] lock_path "
        "to a directory for glance-scrubber's lock file"))
