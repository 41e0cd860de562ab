"""ImageDataService and ImportService with a real StoreGateway and an in-memory repository.

These cover the races and clean-ups that are hard to provoke over HTTP: a delete or a
PATCH landing during an upload, a failure after the data was written, the import lock.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.api.deps import AppDeps
from glance_svc.context import RequestContext
from glance_svc.domain.image import IMPORT_LOCK as LOCK
from glance_svc.domain.image import Image
from glance_svc.domain.image_data import ImageDataService
from glance_svc.domain.imports import FAILED, IMPORTING_TO
from tests.unit.fake_repository import MemoryRepository


class AllowAll:
    """ImageService stand-in: every image visible, every rule allowed (or one refused)."""

    def __init__(self, repo: MemoryRepository) -> None:
        self.repo = repo
        self.refuse: set[str] = set()

    def get(self, ctx: Any, image_id: str) -> Image:
        try:
            return self.repo.get(image_id)
        except errors.NotFound:
            raise errors.NotFound(f"No image found with ID {image_id}") from None

    def enforce(self, ctx: Any, rule: str, image: Image) -> None:
        if rule in self.refuse:
            raise errors.Forbidden(f"You are not authorized to complete {rule} action.")


def make_conf(tmp_path: Path, extra: str = "") -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    path = tmp_path / "glance-api.conf"
    path.write_text(f"""
[DEFAULT]
node_staging_uri = file://{tmp_path}/staging
{extra}
[glance_store]
filesystem_store_datadir = {tmp_path}/images
""")
    conf(["--config-file", str(path)], project="glance")
    return conf


@pytest.fixture
def repo() -> MemoryRepository:
    return MemoryRepository()


def make_deps(conf: cfg.ConfigOpts, repo: MemoryRepository) -> AppDeps:
    """The composition root's wiring over the in-memory repository and AllowAll."""
    deps = AppDeps(conf)
    deps.repo = repo  # type: ignore[assignment]
    deps.images = AllowAll(repo)  # type: ignore[assignment]
    return deps


@pytest.fixture
def deps(tmp_path: Path, repo: MemoryRepository) -> AppDeps:
    return make_deps(make_conf(tmp_path), repo)


@pytest.fixture
def service(deps: AppDeps) -> ImageDataService:
    return deps.data


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext.admin()


def new_image(repo: MemoryRepository, **fields: Any) -> Image:
    fields.setdefault("disk_format", "raw")
    fields.setdefault("container_format", "bare")
    return repo.create(Image(**fields))


def upload(service: ImageDataService, ctx: RequestContext, image: Image, body: Any,
           size: int | None = None) -> None:
    service.upload(ctx, image.id, body, declared_size=size, body_length=None, store_id=None)


def data_files(tmp_path: Path) -> list[str]:
    images = tmp_path / "images"
    return sorted(p.name for p in images.iterdir()) if images.exists() else []


def test_upload_records_everything(service, repo, ctx, tmp_path):
    image = new_image(repo)
    upload(service, ctx, image, io.BytesIO(b"abc" * 1000))
    stored = repo.get(image.id)
    assert stored.status == "active"
    assert stored.size == 3000
    assert stored.checksum == hashlib.md5(b"abc" * 1000).hexdigest()
    assert [loc.url for loc in stored.locations] == [f"file://{tmp_path}/images/{image.id}"]


def test_a_patch_during_upload_is_kept(service, repo, ctx):
    image = new_image(repo)

    class PatchingBody(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            chunk = super().read(size)
            if chunk:
                current = repo.get(image.id)
                current.name = "renamed meanwhile"
                repo.save(current, from_status="saving")
            return chunk

    upload(service, ctx, image, PatchingBody(b"data"))
    stored = repo.get(image.id)
    assert (stored.status, stored.name) == ("active", "renamed meanwhile")


def test_delete_during_upload_is_410_and_removes_the_data(service, repo, ctx, tmp_path):
    image = new_image(repo)

    class DeletingBody(io.BytesIO):
        def read(self, size: int = -1) -> bytes:
            chunk = super().read(size)
            if not chunk and not repo.images[image.id].deleted:
                repo.mark_deleted(repo.get(image.id), status="deleted")
            return chunk

    with pytest.raises(errors.Gone):
        upload(service, ctx, image, DeletingBody(b"x" * 5000))
    assert data_files(tmp_path) == []


def test_failure_after_writing_removes_data_and_restores_queued(service, repo, ctx,
                                                                 tmp_path, monkeypatch):
    image = new_image(repo)

    def broken_activate(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(service, "activate", broken_activate)
    with pytest.raises(RuntimeError):
        upload(service, ctx, image, io.BytesIO(b"x" * 5000))
    stored = repo.get(image.id)
    assert (stored.status, stored.size, stored.checksum, stored.locations) == (
        "queued", None, None, [])
    assert data_files(tmp_path) == []


def test_second_concurrent_upload_loses(service, repo, ctx):
    image = new_image(repo)
    stale = repo.get(image.id)
    upload(service, ctx, image, io.BytesIO(b"first"))
    with pytest.raises(errors.Conflict):
        upload(service, ctx, stale, io.BytesIO(b"second"))


def test_policy_refusal_happens_before_any_state_change(service, repo, ctx):
    image = new_image(repo)
    service.images.refuse.add("upload_image")
    with pytest.raises(errors.Forbidden):
        upload(service, ctx, image, io.BytesIO(b"x"))
    assert repo.get(image.id).status == "queued"


def test_quota_counts_the_owner_usage(tmp_path, repo, ctx, monkeypatch):
    conf = make_conf(tmp_path, "user_storage_quota = 1KB")
    service = make_deps(conf, repo).data
    monkeypatch.setattr(repo, "storage_used", lambda owner: 1000)
    image = new_image(repo, owner="p1")
    with pytest.raises(errors.LimitExceeded, match="storage quota"):
        upload(service, ctx, image, io.BytesIO(b"x" * 25), size=25)
    upload(service, ctx, image, io.BytesIO(b"x" * 24), size=24)


# -- import lock -----------------------------------------------------------------------------
def test_copy_image_waits_for_the_import_lock(service, deps, repo, ctx):
    image = new_image(repo)
    upload(service, ctx, image, io.BytesIO(b"x"))
    locked = repo.get(image.id)
    locked.properties[LOCK] = "other-task"
    repo.save(locked)
    with pytest.raises(errors.Conflict, match="active task"):
        deps.imports.import_image(ctx, image.id, {"method": {"name": "copy-image"}}, None)


def test_a_stale_lock_is_taken_over(service, deps, repo, ctx, monkeypatch):
    image = new_image(repo)
    stage = repo.get(image.id)
    stage.status = "uploading"
    stage.properties[LOCK] = "crashed-task"
    repo.save(stage)
    repo.images[image.id].updated_at = repo.images[image.id].updated_at.replace(year=2000)
    service.stores.staging.write(image.id, io.BytesIO(b"staged"))
    future = deps.imports.import_image(ctx, image.id,
                                       {"method": {"name": "glance-direct"}}, None)
    assert future is not None
    future.result(timeout=30)
    done = repo.get(image.id)
    assert done.status == "active"
    assert LOCK not in done.properties
    assert (done.properties[IMPORTING_TO], done.properties[FAILED]) == ("", "")
