"""glance-registry as a real process, reached by the real client (RegistryRepository).

The registry must answer every repository call exactly as the SQL repository would,
errors included, and must refuse anything outside the repository interface.
"""

from __future__ import annotations

import datetime as dt
import inspect
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain.image import Image, Location, Member
from glance_svc.domain.query import DateFilter, ImageQuery
from glance_svc.domain.quotas import Limits
from glance_svc.registry import wire
from glance_svc.registry.client import (
    RegistryMetadefRepository,
    RegistryRepository,
    registry_client_opts,
)
from tests.conftest import DATABASES
from tests.fixtures.registry import RegistryServer
from tests.fixtures.service import BIN, write_ini


@pytest.fixture(scope="module", params=DATABASES)
def registry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[RegistryServer]:
    workdir = tmp_path_factory.mktemp("registry")
    url = None
    if request.param == "mariadb":
        url = request.getfixturevalue("mariadb_server").create_database(
            f"registry_{uuid.uuid4().hex[:8]}")
    with RegistryServer(workdir, url) as server:
        yield server


def client_conf(**options: Any) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    conf.register_opts(registry_client_opts)
    conf([], default_config_files=[])
    for name, value in options.items():
        conf.set_override(name, value)
    return conf


@pytest.fixture(scope="module")
def repo(registry: RegistryServer) -> Iterator[RegistryRepository]:
    client = RegistryRepository(client_conf(registry_host="127.0.0.1",
                                            registry_port=registry.port))
    yield client
    client.close()


def rpc(registry: RegistryServer, body: Any, **kwargs: Any) -> requests.Response:
    return requests.post(f"{registry.url}/rpc", json=body, timeout=30, **kwargs)


def full_image(**fields: Any) -> Image:
    return Image(
        name="round-trip", status="active", visibility="private", protected=True,
        os_hidden=True, checksum="c" * 32, os_hash_algo="sha512", os_hash_value="h" * 128,
        size=1024, virtual_size=2048, min_disk=1, min_ram=2, disk_format="qcow2",
        container_format="bare", owner="a" * 32,
        # User data that looks like the wire's own tags must arrive untouched.
        properties={"_type": "datetime", "_value": "not a date", "os_distro": "debian"},
        tags={"one", "two"},
        locations=[Location(url="file:///var/lib/glance/images/x",
                            metadata={"store": "fast", "nested": {"_error": {"cls": "x"}}})],
        **fields,
    )


# -- the client covers the interface -------------------------------------------------------

def test_client_implements_every_repository_method_with_its_signature() -> None:
    mismatched = [
        name
        for client, commands in ((RegistryRepository, wire.IMAGE_COMMANDS),
                                 (RegistryMetadefRepository, wire.METADEF_COMMANDS))
        for name, signature in commands.items()
        if inspect.signature(getattr(client, name, None) or (lambda: None)) != signature
    ]
    assert mismatched == []


# -- round trips ---------------------------------------------------------------------------

def test_created_image_reads_back_identical(repo: RegistryRepository) -> None:
    created = repo.create(full_image())
    assert repo.get(created.id) == created


def test_create_keeps_properties_that_look_like_wire_tags(repo: RegistryRepository) -> None:
    created = repo.create(full_image())
    assert created.properties == {"_type": "datetime", "_value": "not a date",
                                  "os_distro": "debian"}


def test_create_keeps_tags_and_location_metadata(repo: RegistryRepository) -> None:
    created = repo.create(full_image())
    assert created.tags == {"one", "two"}
    assert created.locations[0].metadata == {"store": "fast",
                                             "nested": {"_error": {"cls": "x"}}}


def test_create_keeps_the_given_creation_time(repo: RegistryRepository) -> None:
    image = full_image()
    assert repo.create(image).created_at == image.created_at


def test_list_carries_the_query_filters(repo: RegistryRepository) -> None:
    tag = f"t-{uuid.uuid4().hex[:8]}"
    image = repo.create(Image(name="listed", tags={tag}, visibility="public"))
    query = ImageQuery(is_admin=True, tags=[tag], created_at=[
        DateFilter("gte", image.created_at)])
    assert [i.id for i in repo.list(query)] == [image.id]


def test_save_with_compare_and_set(repo: RegistryRepository) -> None:
    image = repo.create(Image(name="before"))
    image.name = "after"
    assert repo.save(image, from_status="queued").name == "after"


def test_save_through_the_registry_writes_only_what_changed(repo: RegistryRepository) -> None:
    image = repo.create(Image(owner="p", properties={"a": "1"}, tags={"t"}))
    first, second = repo.get(image.id), repo.get(image.id)
    first.properties["b"] = "2"
    second.tags.add("u")
    repo.save(first)

    stored = repo.save(second)

    assert (stored.properties, stored.tags) == ({"a": "1", "b": "2"}, {"t", "u"})


def test_save_limits_cross_the_wire(repo: RegistryRepository) -> None:
    image = repo.create(Image(owner="p", tags={"t"}))
    image.tags.add("u")

    with pytest.raises(errors.LimitExceeded):
        repo.save(image, limits=Limits(tags=1))


def test_an_unchanged_image_travels_without_its_read_state_and_arrives_read() -> None:
    image = Image(properties={"a": "1"}).remember()

    encoded = wire.encode(image)
    decoded = wire.decode(encoded)

    assert "loaded" not in encoded["_value"]
    assert (decoded, decoded.loaded) == (image, image)


def test_a_changed_image_travels_with_what_it_was_read_as() -> None:
    image = Image(properties={"a": "1"}).remember()
    image.properties["b"] = "2"

    decoded = wire.decode(wire.encode(image))

    assert (decoded.properties, decoded.loaded.properties) == ({"a": "1", "b": "2"},
                                                               {"a": "1"})


def test_mark_deleted_and_restore(repo: RegistryRepository) -> None:
    image = repo.create(Image(status="active", locations=[Location(url="file:///d/x")]))
    image.locations[0].status = "pending_delete"
    repo.mark_deleted(image, status="pending_delete", from_status="active")
    assert repo.restore(image.id).status == "active"


def test_list_pending_delete_accepts_an_aware_datetime(repo: RegistryRepository) -> None:
    image = repo.create(Image(status="active", locations=[Location(url="file:///d/y")]))
    image.locations[0].status = "pending_delete"
    repo.mark_deleted(image, status="pending_delete", from_status="active")
    found = repo.list_pending_delete(dt.datetime.now(dt.UTC))
    assert image.id in [i.id for i in found]


def test_members_round_trip(repo: RegistryRepository) -> None:
    image = repo.create(Image())
    repo.add_member(Member(image_id=image.id, member_id="b" * 32))
    member = repo.get_member(image.id, "b" * 32)
    member.status = "accepted"
    repo.save_member(member)
    assert [(m.member_id, m.status) for m in repo.list_members(image.id)] == [
        ("b" * 32, "accepted")]
    assert repo.count_members(image.id) == 1


def test_delete_member(repo: RegistryRepository) -> None:
    image = repo.create(Image())
    repo.add_member(Member(image_id=image.id, member_id="c" * 32))
    repo.delete_member(image.id, "c" * 32)
    assert repo.count_members(image.id) == 0


def test_storage_used_counts_the_owners_images(repo: RegistryRepository) -> None:
    owner = uuid.uuid4().hex
    repo.create(Image(owner=owner, status="active", size=100))
    repo.create(Image(owner=owner, status="active", size=23))
    assert repo.storage_used(owner) == 123


# -- errors arrive as the same classes ----------------------------------------------------

def test_missing_image_is_not_found_with_the_repository_message(repo: RegistryRepository
                                                                ) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound) as caught:
        repo.get(missing)
    assert caught.value.message == f"No image found with ID {missing}"


def test_second_create_is_duplicate(repo: RegistryRepository) -> None:
    image = repo.create(Image())
    with pytest.raises(errors.Duplicate) as caught:
        repo.create(Image(id=image.id))
    assert caught.value.message == f"Image with identifier {image.id} already exists!"


def test_lost_compare_and_set_is_stale_status(repo: RegistryRepository) -> None:
    image = repo.create(Image())
    with pytest.raises(errors.StaleStatus):
        repo.save(image, from_status="saving")


def test_invalid_transition_keeps_its_statuses(repo: RegistryRepository) -> None:
    image = repo.create(Image())
    with pytest.raises(errors.InvalidStatusTransition) as caught:
        repo.restore(image.id)
    assert (caught.value.from_status, caught.value.to_status) == ("queued", "active")


def test_unknown_marker_is_bad_request(repo: RegistryRepository) -> None:
    with pytest.raises(errors.BadRequest):
        repo.list(ImageQuery(is_admin=True, marker=str(uuid.uuid4())))


def test_error_of_a_class_outside_errors_becomes_registry_error() -> None:
    error = wire.decode_error({"_error": {"cls": "os.system", "val": "rm -rf /"}})
    assert (type(error), error.message, error.status) == (wire.RegistryError, "rm -rf /", 500)


# -- the HTTP surface ----------------------------------------------------------------------

def test_unknown_command_is_400(registry: RegistryServer) -> None:
    response = rpc(registry, [{"command": "drop_all_tables", "kwargs": {}}])
    assert (response.status_code, response.json()) == (
        400, {"error": {"status": 400, "message": "Unknown command: drop_all_tables"}})


def test_private_method_is_an_unknown_command(registry: RegistryServer) -> None:
    response = rpc(registry, [{"command": "_get", "kwargs": {}}])
    assert response.status_code == 400


def test_batch_with_an_unknown_command_runs_nothing(registry: RegistryServer,
                                                    repo: RegistryRepository) -> None:
    image = Image(name="never")
    response = rpc(registry, [{"command": "create", "kwargs": {"image": wire.encode(image)}},
                              {"command": "nope", "kwargs": {}}])
    assert response.status_code == 400
    with pytest.raises(errors.NotFound):
        repo.get(image.id)


def test_wrong_arguments_are_400(registry: RegistryServer) -> None:
    response = rpc(registry, [{"command": "get", "kwargs": {"id": "x"}}])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "get: missing a required argument: 'image_id'")


def test_unknown_tagged_type_is_400(registry: RegistryServer) -> None:
    body = [{"command": "create", "kwargs": {"image": {"_type": "popen", "_value": {}}}}]
    assert rpc(registry, body).status_code == 400


def test_body_that_is_not_a_list_is_400(registry: RegistryServer) -> None:
    assert rpc(registry, {"command": "get"}).status_code == 400


def test_batch_answers_in_order_with_errors_in_place(registry: RegistryServer) -> None:
    missing = str(uuid.uuid4())
    response = rpc(registry, [
        {"command": "get", "kwargs": {"image_id": missing}},
        {"command": "storage_used", "kwargs": {"owner": uuid.uuid4().hex}},
    ])
    assert response.json() == [
        {"_error": {"cls": "glance_svc.errors.NotFound",
                    "val": f"No image found with ID {missing}"}},
        0,
    ]


def test_get_on_rpc_is_405(registry: RegistryServer) -> None:
    response = requests.get(f"{registry.url}/rpc", timeout=30)
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


def test_other_paths_are_404(registry: RegistryServer) -> None:
    assert requests.post(f"{registry.url}/images", json=[], timeout=30).status_code == 404


def test_healthcheck_is_ok(registry: RegistryServer) -> None:
    response = requests.get(f"{registry.url}/healthcheck", timeout=30)
    assert (response.status_code, response.text) == (200, "OK")


# -- who may call --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trusted_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("registry-trusted"),
                        paste_flavor="trusted-auth") as server:
        yield server


def identity(roles: str) -> dict[str, str]:
    return {"X-Identity-Status": "Confirmed", "X-Roles": roles, "X-User-Id": "u",
            "X-Project-Id": "p" * 32}


def test_member_caller_is_refused(trusted_registry: RegistryServer) -> None:
    response = rpc(trusted_registry, [{"command": "storage_used", "kwargs": {"owner": None}}],
                   headers=identity("member,reader"))
    assert response.status_code == 403


def test_admin_caller_is_served(trusted_registry: RegistryServer) -> None:
    response = rpc(trusted_registry, [{"command": "storage_used", "kwargs": {"owner": None}}],
                   headers=identity("admin"))
    assert (response.status_code, response.json()) == (200, [0])


def test_service_caller_is_served(trusted_registry: RegistryServer) -> None:
    response = rpc(trusted_registry, [{"command": "storage_used", "kwargs": {"owner": None}}],
                   headers=identity("service"))
    assert response.status_code == 200


def test_unauthenticated_caller_is_401(trusted_registry: RegistryServer) -> None:
    response = rpc(trusted_registry, [], headers={"X-Identity-Status": "Invalid"})
    assert response.status_code == 401


def test_client_reports_a_refusal_as_unavailable(trusted_registry: RegistryServer) -> None:
    client = RegistryRepository(client_conf(registry_host="127.0.0.1",
                                            registry_port=trusted_registry.port))
    client.http.headers.update(identity("member"))
    with pytest.raises(errors.ServiceUnavailable) as caught:
        client.storage_used(None)
    assert caught.value.status == 503
    assert caught.value.message == (
        f"glance-registry at {client.url} answered 403 to storage_used: glance-registry "
        "is reserved to administrators and services.")


# -- failures around the registry ----------------------------------------------------------

def test_unreachable_registry_is_503_naming_it(tmp_path: Path) -> None:
    from tests.fixtures.service import free_port

    port = free_port()
    client = RegistryRepository(client_conf(registry_host="127.0.0.1", registry_port=port))
    with pytest.raises(errors.ServiceUnavailable) as caught:
        client.get(str(uuid.uuid4()))
    assert caught.value.message == f"glance-registry at http://127.0.0.1:{port}/rpc is unreachable."


def test_registry_refuses_to_use_a_registry_itself(tmp_path: Path) -> None:
    conf = tmp_path / "glance-registry.conf"
    write_ini(conf, {"DEFAULT": {"data_api": "glance_svc.db.registry.api"},
                     "database": {"connection": f"sqlite:///{tmp_path / 'g.sqlite'}"}})
    result = subprocess.run([str(BIN / "glance-registry"), "--config-file", str(conf)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "data_api must be glance_svc.db.sqlalchemy.api here" in result.stderr


def test_registry_without_database_refuses_to_start(tmp_path: Path) -> None:
    conf = tmp_path / "glance-registry.conf"
    write_ini(conf, {"DEFAULT": {"bind_port": 1}})
    result = subprocess.run([str(BIN / "glance-registry"), "--config-file", str(conf)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert (result.returncode, result.stderr.strip()) == (
        1, "glance-registry: [database] connection is not set.")
