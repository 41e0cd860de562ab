"""Task records of imports, and the decision to send a request to the staging worker.

Over the in-memory repository: the paths that are hard to reach over HTTP (a lock left
by a crashed import, an unreachable worker) and the rules of who is "another worker".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from glance_svc import errors
from glance_svc.api.deps import AppDeps
from glance_svc.context import RequestContext
from glance_svc.domain.image import IMPORT_LOCK, STAGE_HOST, Image
from glance_svc.domain.stage_forwarding import HASH_OP_HOST, StageForwarding
from glance_svc.domain.task import API_IMAGE_IMPORT, FAILURE, PROCESSING, SUCCESS, Task
from tests.unit.fake_repository import MemoryRepository
from tests.unit.test_store_data_service import make_conf, make_deps

HERE = "http://10.0.0.1:9292"
THERE = "http://10.0.0.2:9292"


@pytest.fixture
def repo() -> MemoryRepository:
    return MemoryRepository()


@pytest.fixture
def deps(tmp_path: Path, repo: MemoryRepository) -> AppDeps:
    return make_deps(make_conf(tmp_path), repo)


def staged_with_stale_lock(deps: AppDeps, repo: MemoryRepository, lock: str) -> Image:
    image = repo.create(Image(disk_format="raw", container_format="bare", status="uploading",
                              properties={IMPORT_LOCK: lock}))
    repo.images[image.id].updated_at = repo.images[image.id].updated_at.replace(year=2000)
    deps.stores.staging.write(image.id, io.BytesIO(b"staged"))
    return image


def test_taking_over_a_stale_lock_fails_the_task_that_held_it(deps, repo):
    repo.create_task(Task(id="crashed-task", type=API_IMAGE_IMPORT, status=PROCESSING))
    image = staged_with_stale_lock(deps, repo, "crashed-task")
    deps.imports.import_image(RequestContext.admin(), image.id,
                              {"method": {"name": "glance-direct"}}, None).result(timeout=30)
    crashed = repo.get_task("crashed-task")
    assert (crashed.status, crashed.message) == (FAILURE, "Expired lock preempted")
    assert crashed.expires_at is not None
    [new] = [t for t in repo.tasks.values() if t.id != "crashed-task"]
    assert (new.status, new.result) == (SUCCESS, {"image_id": image.id})


def test_taking_over_a_lock_whose_task_finished_leaves_that_task_alone(deps, repo):
    repo.create_task(Task(id="done-task", type=API_IMAGE_IMPORT, status=SUCCESS))
    image = staged_with_stale_lock(deps, repo, "done-task")
    deps.imports.import_image(RequestContext.admin(), image.id,
                              {"method": {"name": "glance-direct"}}, None).result(timeout=30)
    assert repo.get_task("done-task").status == SUCCESS


class FakeProxy:
    def __init__(self, error: errors.GlanceError | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, str, Any]] = []

    def send(self, ctx: Any, method: str, url: str, body: Any) -> str | None:
        self.sent.append((method, url, body))
        if self.error is not None:
            raise self.error
        return "req-remote"


def image_with(**properties: str) -> Image:
    return Image(properties=dict(properties))


@pytest.mark.parametrize(("properties", "expected"), [
    ({}, None),
    ({STAGE_HOST: HERE}, None),
    ({STAGE_HOST: THERE}, THERE),
    ({HASH_OP_HOST: THERE}, None),  # only a delete follows the hashing worker
])
def test_an_import_goes_only_to_another_staging_worker(properties, expected):
    assert StageForwarding(HERE, FakeProxy()).import_host(image_with(**properties)) == expected


@pytest.mark.parametrize(("properties", "expected"), [
    ({STAGE_HOST: HERE}, None),
    ({STAGE_HOST: THERE}, THERE),
    ({HASH_OP_HOST: THERE}, THERE),
])
def test_a_delete_goes_to_the_staging_or_hashing_worker(properties, expected):
    assert StageForwarding(HERE, FakeProxy()).delete_host(image_with(**properties)) == expected


def test_without_a_self_url_every_recorded_host_is_another_worker():
    assert StageForwarding(None, FakeProxy()).import_host(image_with(**{STAGE_HOST: HERE})) \
        == HERE


def test_forwarding_takes_the_remote_request_id():
    proxy = FakeProxy()
    ctx = RequestContext.admin()
    StageForwarding(HERE, proxy).forward(ctx, THERE + "/", "POST", "/v2/images/x/import",
                                         {"method": {"name": "glance-direct"}})
    assert proxy.sent == [("POST", THERE + "/v2/images/x/import",
                           {"method": {"name": "glance-direct"}})]
    assert ctx.request_id == "req-remote"


def test_a_delete_is_sent_to_the_staging_worker():
    proxy = FakeProxy()
    image = image_with(**{STAGE_HOST: THERE})
    assert StageForwarding(HERE, proxy).delete_elsewhere(RequestContext.admin(), image)
    assert proxy.sent == [("DELETE", f"{THERE}/v2/images/{image.id}", None)]


def test_a_delete_of_data_staged_here_stays_here():
    proxy = FakeProxy()
    image = image_with(**{STAGE_HOST: HERE})
    assert not StageForwarding(HERE, proxy).delete_elsewhere(RequestContext.admin(), image)
    assert proxy.sent == []


@pytest.mark.parametrize("error", [errors.GatewayTimeout("down"), errors.BadGateway("bad")])
def test_a_delete_falls_back_to_local_when_the_worker_is_unreachable(error):
    forwarding = StageForwarding(HERE, FakeProxy(error))
    image = image_with(**{STAGE_HOST: THERE})
    assert forwarding.delete_elsewhere(RequestContext.admin(), image) is False


def test_a_delete_the_worker_refused_is_passed_on():
    forwarding = StageForwarding(HERE, FakeProxy(errors.Relayed("Forbidden", status=403)))
    with pytest.raises(errors.Relayed) as caught:
        forwarding.delete_elsewhere(RequestContext.admin(), image_with(**{STAGE_HOST: THERE}))
    assert caught.value.status == 403
