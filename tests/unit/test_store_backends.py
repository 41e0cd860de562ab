"""StoreGateway over glance_store: single and multi-store, options, add/open/delete."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.domain.image import Location
from glance_svc.store import backends
from glance_svc.store.bodies import FileBody
from glance_svc.store.upload import UploadStream


def make_conf(tmp_path: Path, text: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    path = tmp_path / "glance-api.conf"
    path.write_text(text)
    conf(["--config-file", str(path)], project="glance")
    return conf


@pytest.fixture
def single(tmp_path: Path) -> backends.StoreGateway:
    return backends.StoreGateway(make_conf(tmp_path, f"""
[DEFAULT]
node_staging_uri = file://{tmp_path}/staging
[glance_store]
filesystem_store_datadir = {tmp_path}/images
"""))


@pytest.fixture
def multi(tmp_path: Path) -> backends.StoreGateway:
    return backends.StoreGateway(make_conf(tmp_path, f"""
[DEFAULT]
enabled_backends = fast:file, slow:file, web:http
node_staging_uri = file://{tmp_path}/staging
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = {tmp_path}/fast
store_description = Fast disks
[slow]
filesystem_store_datadir = {tmp_path}/slow
weight = 7
"""))


def add(gateway: backends.StoreGateway, image_id: str, data: bytes,
        store_id: str | None = None):
    return gateway.add(image_id, UploadStream(io.BytesIO(data)), store_id=store_id)


def test_config_catalogue_carries_every_driver_option():
    groups = dict(config.list_opts())
    names = {o.dest for o in groups["glance_store"]}
    assert {"stores", "default_store", "default_backend", "filesystem_store_datadir",
            "https_insecure", "swift_store_auth_address", "s3_store_host"} <= names


def test_registered_options_leave_the_drivers_out():
    groups = dict(backends.list_opts())
    names = {o.dest for o in groups["glance_store"]}
    assert {"stores", "default_store", "default_backend"} <= names
    assert names.isdisjoint({"filesystem_store_datadir", "swift_store_auth_address"})


def test_single_store_driver_options_read_from_glance_store(tmp_path):
    gateway = backends.StoreGateway(make_conf(tmp_path, f"""
[DEFAULT]
node_staging_uri = file://{tmp_path}/staging
[glance_store]
stores = file
filesystem_store_datadir = {tmp_path}/only-here
"""))
    assert gateway.conf.glance_store.filesystem_store_datadir == f"{tmp_path}/only-here"


def test_register_backend_opts_adds_each_backend_section(tmp_path):
    conf = make_conf(tmp_path, """
[DEFAULT]
enabled_backends = fast:file, web:http
[fast]
filesystem_store_datadir = /srv/fast
store_description = Fast
weight = 3
[os_glance_staging_store]
filesystem_store_datadir = /srv/staging
""")
    backends.register_backend_opts(conf)
    backends.register_backend_opts(conf)  # idempotent
    assert conf.fast.filesystem_store_datadir == "/srv/fast"
    assert conf.fast.store_description == "Fast"
    assert conf.fast.weight == 3
    assert "https_insecure" in conf.web
    assert conf.os_glance_staging_store.filesystem_store_datadir == "/srv/staging"
    assert conf.os_glance_tasks_store.filesystem_store_datadir is None


def test_single_store_defaults(single, tmp_path):
    assert single.multi_store is False
    assert single.store_ids() == []
    assert single.resolve_store("anything") is None
    assert single.staging.directory == f"{tmp_path}/staging"


def test_add_open_delete_in_the_file_store(single, tmp_path):
    stored = add(single, "image-1", b"hello world")
    assert stored.url == f"file://{tmp_path}/images/image-1"
    assert stored.metadata == {}
    body = single.open(stored.as_location(), 6, 5)
    assert isinstance(body, FileBody)
    assert b"".join(body.iter_chunks()) == b"world"
    assert single.location_size(stored.url) == 11
    single.delete(stored.as_location())
    assert not (tmp_path / "images" / "image-1").exists()
    single.delete(stored.as_location())  # already gone: fine


def test_adding_twice_is_a_conflict(single):
    add(single, "image-1", b"a")
    with pytest.raises(errors.Conflict):
        add(single, "image-1", b"b")


def test_opening_missing_data_is_404(single, tmp_path):
    with pytest.raises(errors.NotFound):
        single.open(Location(url=f"file://{tmp_path}/images/nope"))


def test_unknown_scheme_is_400(single):
    with pytest.raises(errors.BadRequest, match="Unknown scheme"):
        single.location_size("gopher://x/y")


def test_delete_staged_data(single):
    single.staging.write("image-1", io.BytesIO(b"x"))
    single.delete_staged("image-1")
    single.delete_staged("image-1")
    assert not single.staging.exists("image-1")


def test_multi_store_ids_and_defaults(multi, tmp_path):
    assert multi.multi_store is True
    assert multi.store_ids() == ["fast", "slow", "web"]
    assert multi.default_store_id == "fast"
    assert multi.resolve_store(None) == "fast"
    assert multi.resolve_store("slow") == "slow"
    assert multi.staging.directory == f"{tmp_path}/staging"


@pytest.mark.parametrize("store_id", ["nope", "os_glance_staging_store"])
def test_unknown_or_reserved_store_is_400(multi, store_id):
    with pytest.raises(errors.BadRequest, match="not found"):
        multi.resolve_store(store_id)


def test_multi_store_locations_carry_the_store_id(multi, tmp_path):
    stored = add(multi, "image-1", b"data", store_id="slow")
    assert stored.url == f"file://{tmp_path}/slow/image-1"
    assert stored.metadata == {"store": "slow"}
    assert multi.store_for_url(stored.url) == "slow"
    assert multi.store_for_url("https://example.com/image") == "web"
    assert multi.weight("slow") == 7


def test_read_only_store_refuses_writes(multi):
    with pytest.raises(errors.ServiceUnavailable, match="disabled"):
        add(multi, "image-1", b"data", store_id="web")


def test_describe_and_details(multi, tmp_path):
    assert [multi.describe(s) for s in multi.store_ids()] == [
        {"id": "fast", "description": "Fast disks", "default": "true"},
        {"id": "slow"},
        {"id": "web", "read-only": "true"},
    ]
    assert multi.details("slow") == {
        "type": "file",
        "properties": {"data_dir": f"{tmp_path}/slow", "chunk_size": 65536,
                       "thin_provisioning": False},
        "weight": 7,
    }
    assert multi.details("web") == {"type": "http", "properties": {}, "weight": 0}


def test_staging_directory_from_its_own_section(tmp_path):
    gateway = backends.StoreGateway(make_conf(tmp_path, f"""
[DEFAULT]
enabled_backends = fast:file
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = {tmp_path}/fast
[os_glance_staging_store]
filesystem_store_datadir = {tmp_path}/elsewhere
"""))
    assert gateway.staging.directory == f"{tmp_path}/elsewhere"


def test_reserved_ids_in_enabled_backends_are_refused(tmp_path):
    conf = make_conf(tmp_path, """
[DEFAULT]
enabled_backends = os_glance_mine:file
[glance_store]
default_backend = os_glance_mine
""")
    with pytest.raises(ValueError, match="reserved"):
        backends.StoreGateway(conf)


def test_default_backend_is_required(tmp_path):
    conf = make_conf(tmp_path, f"""
[DEFAULT]
enabled_backends = fast:file
[fast]
filesystem_store_datadir = {tmp_path}/fast
""")
    with pytest.raises(ValueError, match="default_backend"):
        backends.StoreGateway(conf)


def test_configured_types_single_store_are_the_stores_option(tmp_path):
    conf = make_conf(tmp_path, "[glance_store]\nstores = http, file, http\n")
    assert backends.configured_types(conf) == ["http", "file"]


def test_configured_types_multi_store_add_the_reserved_file_stores(tmp_path):
    conf = make_conf(tmp_path, "[DEFAULT]\nenabled_backends = web:http, cold:rbd, w2:http\n")
    assert backends.configured_types(conf) == ["http", "rbd", "file"]
