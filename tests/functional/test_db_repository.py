"""The ImageRepository contract, on SQLite and on a real MariaDB (images and their rows).

Each test states one promise of ``glance_svc.domain.repository.ImageRepository`` that the API,
the registry and the scrubber rely on.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from glance_svc import errors
from glance_svc.db.sqlalchemy import api as sql_api
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.db.sqlalchemy.models import (
    image_locations,
    image_members,
    image_properties,
    image_tags,
    images,
)
from glance_svc.domain.image import Image, Location, Member
from glance_svc.domain.quotas import Limits
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo
repo = dbfix.repo

T0 = dt.datetime(2026, 1, 2, 3, 4, 5)


def _image(**fields: object) -> Image:
    fields.setdefault("owner", "project-a")
    return Image(**fields)  # type: ignore[arg-type]


def _deleted_flags(repo: SqlImageRepository, table: sa.Table, image_id: str) -> list[bool]:
    with repo.engine.connect() as conn:
        return [bool(d) for d in conn.execute(
            sa.select(table.c.deleted).where(table.c.image_id == image_id)).scalars()]


# --- create / get ---------------------------------------------------------------------
def test_create_returns_every_field_as_stored(repo: SqlImageRepository) -> None:
    image = _image(name="cirros", visibility="public", protected=True, os_hidden=True,
                   min_disk=1, min_ram=64, disk_format="qcow2", container_format="bare",
                   created_at=T0, updated_at=T0, properties={"os_distro": "cirros"},
                   tags={"a", "b"}, locations=[Location("file:///x", {"store": "fast"})])

    stored = repo.create(image)

    assert stored == repo.get(image.id)
    assert (stored.name, stored.visibility, stored.protected, stored.os_hidden) == (
        "cirros", "public", True, True)
    assert (stored.min_disk, stored.min_ram, stored.disk_format, stored.container_format) == (
        1, 64, "qcow2", "bare")
    assert (stored.created_at, stored.updated_at, stored.owner) == (T0, T0, "project-a")
    assert stored.properties == {"os_distro": "cirros"}
    assert stored.tags == {"a", "b"}
    assert [(loc.url, loc.metadata, loc.status) for loc in stored.locations] == [
        ("file:///x", {"store": "fast"}, "active")]
    assert stored.locations[0].id is not None


def test_create_with_an_existing_id_is_duplicate(repo: SqlImageRepository) -> None:
    image = repo.create(_image())

    with pytest.raises(errors.Duplicate):
        repo.create(_image(id=image.id))


def test_create_with_the_id_of_a_deleted_image_is_duplicate(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.mark_deleted(image, status="deleted")

    with pytest.raises(errors.Duplicate):
        repo.create(_image(id=image.id))


def test_get_of_an_unknown_id_is_not_found(repo: SqlImageRepository) -> None:
    with pytest.raises(errors.NotFound):
        repo.get("00000000-0000-0000-0000-000000000000")


def test_get_of_a_deleted_image_is_not_found_unless_asked(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.mark_deleted(image, status="deleted")

    with pytest.raises(errors.NotFound):
        repo.get(image.id)
    assert repo.get(image.id, include_deleted=True).status == "deleted"


def test_four_byte_characters_survive_a_round_trip(repo: SqlImageRepository) -> None:
    image = repo.create(_image(name="disk 💾", properties={"note": "🐧 ok"}, tags={"🏷"}))

    stored = repo.get(image.id)

    assert (stored.name, stored.properties, stored.tags) == ("disk 💾", {"note": "🐧 ok"}, {"🏷"})


def test_names_and_property_keys_are_case_sensitive(repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"Key": "1", "key": "2"}, tags={"T", "t"}))

    stored = repo.get(image.id)

    assert (stored.properties, stored.tags) == ({"Key": "1", "key": "2"}, {"T", "t"})


# --- save -------------------------------------------------------------------------------
def test_save_stores_every_field_and_sets_updated_at(repo: SqlImageRepository) -> None:
    image = repo.create(_image(created_at=T0, updated_at=T0))
    image.name, image.size, image.checksum, image.virtual_size = "new", 42, "c" * 32, 84
    image.os_hash_algo, image.os_hash_value, image.owner = "sha512", "d" * 128, "project-b"

    stored = repo.save(image)

    assert (stored.name, stored.size, stored.checksum, stored.virtual_size) == (
        "new", 42, "c" * 32, 84)
    assert (stored.os_hash_algo, stored.os_hash_value, stored.owner) == (
        "sha512", "d" * 128, "project-b")
    assert stored.created_at == T0
    assert stored.updated_at > T0


def test_save_replaces_properties_and_tags(repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"a": "1", "b": "2"}, tags={"x", "y"}))
    image.properties = {"b": "3", "c": "4"}
    image.tags = {"y", "z"}

    stored = repo.save(image)

    assert (stored.properties, stored.tags) == ({"b": "3", "c": "4"}, {"y", "z"})


def test_a_property_removed_then_added_back_is_stored(repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"a": "1"}))
    image.properties = {}
    repo.save(image)
    image.properties = {"a": "2"}

    assert repo.save(image).properties == {"a": "2"}


def test_save_keeps_the_order_of_locations(repo: SqlImageRepository) -> None:
    image = repo.create(_image(locations=[Location("file:///1"), Location("file:///2")]))
    image.locations = [image.locations[1], image.locations[0], Location("file:///3")]

    stored = repo.save(image)

    assert [loc.url for loc in stored.locations] == ["file:///2", "file:///1", "file:///3"]
    assert [loc.url for loc in repo.get(image.id).locations] == [
        "file:///2", "file:///1", "file:///3"]


def test_a_location_saved_as_deleted_is_no_longer_listed(repo: SqlImageRepository) -> None:
    image = repo.create(_image(locations=[Location("file:///1"), Location("file:///2")]))
    image.locations[0].status = "deleted"

    stored = repo.save(image)

    assert [loc.url for loc in stored.locations] == ["file:///2"]


def test_save_from_the_stored_status_wins(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    previous = image.transition("saving")

    assert repo.save(image, from_status=previous).status == "saving"


def test_save_from_a_stale_status_is_refused_and_changes_nothing(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(name="before"))
    image.name = "after"
    image.status = "active"

    with pytest.raises(errors.StaleStatus):
        repo.save(image, from_status="saving")
    assert (repo.get(image.id).name, repo.get(image.id).status) == ("before", "queued")


def test_of_two_racing_saves_from_one_status_exactly_one_wins(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def upload(name: str) -> None:
        mine = repo.get(image.id)
        mine.name = name
        previous = mine.transition("saving")
        barrier.wait()
        try:
            repo.save(mine, from_status=previous)
            outcomes.append("won")
        except errors.StaleStatus:
            outcomes.append("lost")

    threads = [threading.Thread(target=upload, args=(n,)) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["lost", "won"]


# --- save writes only what changed, and holds the limits ---------------------------------
def test_saves_of_two_copies_read_before_either_keep_both_changes(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"old": "1", "gone": "x"}, tags={"t"}))
    first, second = repo.get(image.id), repo.get(image.id)
    first.properties["a"] = "1"
    first.tags.add("from-first")
    del first.properties["gone"]
    second.properties["b"] = "2"
    second.tags.discard("t")
    second.name = "renamed"

    repo.save(first)
    stored = repo.save(second)

    assert (stored.properties, stored.tags, stored.name) == (
        {"old": "1", "a": "1", "b": "2"}, {"from-first"}, "renamed")


def test_a_save_does_not_write_back_columns_it_did_not_change(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(name="before"))
    stale = repo.get(image.id)
    fresh = repo.get(image.id)
    fresh.name = "after"
    repo.save(fresh)
    stale.min_ram = 512

    stored = repo.save(stale)

    assert (stored.name, stored.min_ram) == ("after", 512)


def test_a_tag_added_by_two_copies_is_stored_once(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    first, second = repo.get(image.id), repo.get(image.id)
    first.tags.add("same")
    second.tags.add("same")
    repo.save(first)
    repo.save(second)

    with repo.engine.connect() as conn:
        live = conn.execute(sa.select(sa.func.count()).select_from(image_tags).where(
            image_tags.c.image_id == image.id, image_tags.c.deleted == sa.false())).scalar()
    assert live == 1


def test_a_location_added_meanwhile_survives_a_save_that_removes_another(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(locations=[Location("file:///1"), Location("file:///2")]))
    remover, adder = repo.get(image.id), repo.get(image.id)
    adder.locations.append(Location("file:///3"))
    repo.save(adder)
    remover.locations[0].status = "deleted"

    stored = repo.save(remover)

    assert [loc.url for loc in stored.locations] == ["file:///2", "file:///3"]


def test_a_save_over_the_property_limit_is_refused_and_writes_nothing(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"a": "1"}))
    first, second = repo.get(image.id), repo.get(image.id)
    first.properties["b"] = "2"
    repo.save(first, limits=Limits(properties=2))
    second.properties["c"] = "3"
    second.name = "not stored"

    with pytest.raises(errors.LimitExceeded) as refused:
        repo.save(second, limits=Limits(properties=2))

    assert refused.value.message == ("The limit has been exceeded on the number of allowed "
                                     "image properties. Attempted: 3, Maximum: 2")
    stored = repo.get(image.id)
    assert (stored.properties, stored.name) == ({"a": "1", "b": "2"}, None)


def test_removing_properties_over_a_lowered_limit_is_allowed(repo: SqlImageRepository) -> None:
    image = repo.create(_image(properties={"a": "1", "b": "2", "c": "3"}))
    del image.properties["c"]

    assert repo.save(image, limits=Limits(properties=1)).properties == {"a": "1", "b": "2"}


def test_a_save_over_the_tag_limit_is_refused(repo: SqlImageRepository) -> None:
    image = repo.create(_image(tags={"a"}))
    first, second = repo.get(image.id), repo.get(image.id)
    first.tags.add("b")
    repo.save(first, limits=Limits(tags=2))
    second.tags.add("c")

    with pytest.raises(errors.LimitExceeded):
        repo.save(second, limits=Limits(tags=2))
    assert repo.get(image.id).tags == {"a", "b"}


def test_a_save_over_the_location_limit_is_refused(repo: SqlImageRepository) -> None:
    image = repo.create(_image(locations=[Location("file:///1")]))
    first, second = repo.get(image.id), repo.get(image.id)
    first.locations.append(Location("file:///2"))
    repo.save(first, limits=Limits(locations=2))
    second.locations.append(Location("file:///3"))

    with pytest.raises(errors.LimitExceeded):
        repo.save(second, limits=Limits(locations=2))
    assert [loc.url for loc in repo.get(image.id).locations] == ["file:///1", "file:///2"]


def test_staged_data_over_the_storage_limit_is_refused(repo: SqlImageRepository) -> None:
    repo.create(_image(status="importing", size=900))
    image = repo.create(_image(status="uploading"))
    image.size = 200

    with pytest.raises(errors.LimitExceeded):
        repo.save(image, from_status="uploading", limits=Limits(storage=1000))


def test_saves_that_add_no_data_ignore_the_storage_limit(repo: SqlImageRepository) -> None:
    image = repo.create(_image(status="active", size=5000))
    image.name = "renamed"

    assert repo.save(image, limits=Limits(storage=1000)).name == "renamed"


def test_recording_data_over_the_storage_limit_is_refused_and_writes_nothing(
        repo: SqlImageRepository) -> None:
    repo.create(_image(status="active", size=600))
    image = repo.create(_image(status="saving"))
    image.size, image.status = 500, "active"

    with pytest.raises(errors.LimitExceeded) as refused:
        repo.save(image, from_status="saving", limits=Limits(storage=1000))

    assert refused.value.message == (
        "Image exceeds the storage quota: The size of the data 500 will exceed the limit. "
        "400 bytes remaining.")
    assert (repo.get(image.id).status, repo.get(image.id).size) == ("saving", None)


def test_recording_data_within_the_storage_limit_is_stored(repo: SqlImageRepository) -> None:
    repo.create(_image(status="active", size=600))
    image = repo.create(_image(status="saving"))
    image.size, image.status = 400, "active"

    assert repo.save(image, from_status="saving", limits=Limits(storage=1000)).size == 400


def test_adding_a_member_over_the_limit_is_refused_and_adds_nothing(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.add_member(Member(image.id, "project-b"), limits=Limits(members=1))

    with pytest.raises(errors.LimitExceeded) as refused:
        repo.add_member(Member(image.id, "project-c"), limits=Limits(members=1))

    assert refused.value.message.endswith("Attempted: 2, Maximum: 1")
    assert [m.member_id for m in repo.list_members(image.id)] == ["project-b"]


def test_set_property_if_sets_when_the_stored_value_is_the_expected_one(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    stored = repo.set_property_if(image.id, "os_glance_import_task", "task-1", expected=None)
    assert stored.properties["os_glance_import_task"] == "task-1"
    assert repo.get(image.id).properties["os_glance_import_task"] == "task-1"


def test_set_property_if_refuses_when_the_stored_value_changed(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.set_property_if(image.id, "os_glance_import_task", "task-1", expected=None)
    with pytest.raises(errors.StaleStatus):
        repo.set_property_if(image.id, "os_glance_import_task", "task-2", expected=None)
    assert repo.get(image.id).properties["os_glance_import_task"] == "task-1"


def test_set_property_if_with_none_removes_the_property(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.set_property_if(image.id, "os_glance_import_task", "task-1", expected=None)
    stored = repo.set_property_if(image.id, "os_glance_import_task", None, expected="task-1")
    assert "os_glance_import_task" not in stored.properties
    assert "os_glance_import_task" not in repo.get(image.id).properties


def test_of_two_racing_set_property_if_exactly_one_wins(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def lock(task: str) -> None:
        barrier.wait()
        try:
            repo.set_property_if(image.id, "os_glance_import_task", task, expected=None)
            outcomes.append("won")
        except errors.StaleStatus:
            outcomes.append("lost")

    threads = [threading.Thread(target=lock, args=(t,)) for t in ("task-1", "task-2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["lost", "won"]


def test_saving_unchanged_values_twice_in_one_second_is_not_stale(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_api, "utcnow", lambda: T0)
    image = repo.create(_image())

    repo.save(image, from_status="queued")

    assert repo.save(image, from_status="queued").updated_at == T0


def test_save_of_a_deleted_image_is_not_found(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.mark_deleted(image, status="deleted")

    with pytest.raises(errors.NotFound):
        repo.save(image)


# --- delete and restore ---------------------------------------------------------------
def test_mark_deleted_soft_deletes_the_image_and_every_child_row(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(visibility="shared", properties={"a": "1"}, tags={"t"},
                               locations=[Location("file:///1")]))
    repo.add_member(Member(image.id, "project-b"))

    deleted = repo.mark_deleted(image, status="deleted")

    assert (deleted.status, deleted.deleted, deleted.deleted_at is not None) == (
        "deleted", True, True)
    for table in (image_properties, image_tags, image_members, image_locations):
        assert _deleted_flags(repo, table, image.id) == [True], table.name
    with repo.engine.connect() as conn:
        row = conn.execute(sa.select(images.c.deleted).where(images.c.id == image.id)).one()
    assert row.deleted


def test_mark_deleted_keeps_the_location_statuses_the_caller_set(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(status="active", locations=[Location("file:///1"),
                                                           Location("file:///2")]))
    image.locations[0].status = "pending_delete"
    image.locations[1].status = "deleted"

    deleted = repo.mark_deleted(image, status="pending_delete", from_status="active")

    assert [(loc.url, loc.status) for loc in deleted.locations] == [
        ("file:///1", "pending_delete"), ("file:///2", "deleted")]


def test_mark_deleted_from_a_stale_status_is_refused(repo: SqlImageRepository) -> None:
    image = repo.create(_image())

    with pytest.raises(errors.StaleStatus):
        repo.mark_deleted(image, status="deleted", from_status="active")
    assert repo.get(image.id).status == "queued"


def test_marking_a_pending_delete_image_deleted_keeps_its_deletion_time(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    image = repo.create(_image(status="active", locations=[Location("file:///1")]))
    monkeypatch.setattr(sql_api, "utcnow", lambda: T0)
    image.locations[0].status = "pending_delete"
    pending = repo.mark_deleted(image, status="pending_delete")
    monkeypatch.setattr(sql_api, "utcnow", lambda: T0 + dt.timedelta(hours=1))
    pending.locations[0].status = "deleted"

    scrubbed = repo.mark_deleted(pending, status="deleted", from_status="pending_delete")

    assert (scrubbed.status, scrubbed.deleted_at) == ("deleted", T0)
    assert [loc.status for loc in scrubbed.locations] == ["deleted"]


def test_restore_brings_back_the_image_with_its_rows(repo: SqlImageRepository) -> None:
    image = repo.create(_image(status="active", visibility="shared", properties={"a": "1"},
                               tags={"t"}, locations=[Location("file:///1")]))
    repo.add_member(Member(image.id, "project-b", status="accepted"))
    image.locations[0].status = "pending_delete"
    repo.mark_deleted(image, status="pending_delete", from_status="active")

    restored = repo.restore(image.id)

    assert (restored.status, restored.deleted, restored.deleted_at) == ("active", False, None)
    assert (restored.properties, restored.tags) == ({"a": "1"}, {"t"})
    assert [(loc.url, loc.status) for loc in restored.locations] == [("file:///1", "active")]
    assert repo.get_member(image.id, "project-b").status == "accepted"


def test_restore_does_not_revive_rows_removed_before_the_delete(
        repo: SqlImageRepository) -> None:
    image = repo.create(_image(status="active", properties={"keep": "1", "drop": "2"},
                               tags={"keep", "drop"}, locations=[Location("file:///1")]))
    image.properties, image.tags = {"keep": "1"}, {"keep"}
    image = repo.save(image)  # same second as the delete below
    image.locations[0].status = "pending_delete"
    repo.mark_deleted(image, status="pending_delete")

    restored = repo.restore(image.id)

    assert (restored.properties, restored.tags) == ({"keep": "1"}, {"keep"})


def test_restore_of_an_image_not_pending_delete_is_refused(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.mark_deleted(image, status="deleted")

    with pytest.raises(errors.InvalidStatusTransition):
        repo.restore(image.id)


def test_restore_of_an_unknown_image_is_not_found(repo: SqlImageRepository) -> None:
    with pytest.raises(errors.NotFound):
        repo.restore("00000000-0000-0000-0000-000000000000")


# --- members ----------------------------------------------------------------------------
def test_add_member_returns_the_stored_member(repo: SqlImageRepository) -> None:
    image = repo.create(_image())

    member = repo.add_member(Member(image.id, "project-b", created_at=T0, updated_at=T0))

    assert member == Member(image.id, "project-b", "pending", False, T0, T0)
    assert repo.get_member(image.id, "project-b") == member


def test_adding_a_member_twice_is_duplicate(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.add_member(Member(image.id, "project-b"))

    with pytest.raises(errors.Duplicate):
        repo.add_member(Member(image.id, "project-b"))


def test_adding_a_member_to_an_unknown_image_is_not_found(repo: SqlImageRepository) -> None:
    with pytest.raises(errors.NotFound):
        repo.add_member(Member("00000000-0000-0000-0000-000000000000", "project-b"))


def test_list_members_is_oldest_first(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.add_member(Member(image.id, "late", created_at=T0 + dt.timedelta(seconds=1)))
    repo.add_member(Member(image.id, "early", created_at=T0))

    assert [m.member_id for m in repo.list_members(image.id)] == ["early", "late"]
    assert repo.count_members(image.id) == 2


def test_save_member_stores_the_status(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    member = repo.add_member(Member(image.id, "project-b"))
    member.status = "accepted"

    assert repo.save_member(member).status == "accepted"
    assert repo.get_member(image.id, "project-b").status == "accepted"


def test_a_deleted_member_is_gone_and_can_be_added_again(repo: SqlImageRepository) -> None:
    image = repo.create(_image())
    repo.add_member(Member(image.id, "project-b", status="accepted"))

    repo.delete_member(image.id, "project-b")

    with pytest.raises(errors.NotFound):
        repo.get_member(image.id, "project-b")
    assert repo.count_members(image.id) == 0
    assert repo.add_member(Member(image.id, "project-b")).status == "pending"


def test_deleting_or_saving_an_absent_member_is_not_found(repo: SqlImageRepository) -> None:
    image = repo.create(_image())

    with pytest.raises(errors.NotFound):
        repo.delete_member(image.id, "project-b")
    with pytest.raises(errors.NotFound):
        repo.save_member(Member(image.id, "project-b"))


# --- accounting -----------------------------------------------------------------------
def test_storage_used_sums_the_owners_images_that_hold_data(repo: SqlImageRepository) -> None:
    for status, size in (("active", 100), ("saving", 20), ("deactivated", 3),
                         ("uploading", 4000), ("importing", 50000), ("queued", 7),
                         ("killed", 900)):
        repo.create(_image(status=status, size=size))
    repo.create(_image(owner="project-b", status="active", size=1_000_000))
    gone = repo.create(_image(status="active", size=5_000_000))
    repo.mark_deleted(gone, status="deleted")

    assert repo.storage_used("project-a") == 100 + 20 + 3 + 4000 + 50000
    assert repo.storage_used("nobody") == 0


def test_storage_used_of_no_owner_counts_ownerless_images(repo: SqlImageRepository) -> None:
    repo.create(Image(owner=None, status="active", size=10))
    repo.create(_image(status="active", size=1))

    assert repo.storage_used(None) == 10


def test_list_pending_delete_gives_due_images_oldest_first_with_locations(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    def pending(minutes: int, url: str) -> Image:
        monkeypatch.setattr(sql_api, "utcnow", lambda: T0 + dt.timedelta(minutes=minutes))
        image = repo.create(_image(status="active", locations=[Location(url)]))
        image.locations[0].status = "pending_delete"
        return repo.mark_deleted(image, status="pending_delete")

    second, first, late = pending(2, "file:///2"), pending(1, "file:///1"), pending(9, "x")
    repo.mark_deleted(repo.create(_image()), status="deleted")

    due = repo.list_pending_delete(T0 + dt.timedelta(minutes=2))

    assert [i.id for i in due] == [first.id, second.id]
    assert [(loc.url, loc.status) for loc in due[0].locations] == [
        ("file:///1", "pending_delete")]
    assert [i.id for i in repo.list_pending_delete(T0 + dt.timedelta(minutes=9), limit=1)] == [
        first.id]
    assert late.id not in [i.id for i in due]


# --- purge ------------------------------------------------------------------------------
def _delete_at(repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch, when: dt.datetime,
               **fields: object) -> Image:
    """An image with one row in each child table, deleted at ``when``."""
    monkeypatch.setattr(sql_api, "utcnow", lambda: when)
    image = repo.create(_image(properties={"p": "1"}, tags={"t"},
                               locations=[Location("file:///1")], **fields))
    repo.add_member(Member(image.id, "project-b"))
    return repo.mark_deleted(image, status="deleted")


def _count(repo: SqlImageRepository, table: sa.Table) -> int:
    with repo.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_purge_removes_only_rows_deleted_before_the_cut_off(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    old = _delete_at(repo, monkeypatch, now - dt.timedelta(days=31))
    recent = _delete_at(repo, monkeypatch, now - dt.timedelta(days=29))
    monkeypatch.setattr(sql_api, "utcnow", lambda: now)

    counts = repo.purge(age_in_days=30, max_rows=-1)

    assert counts == {"image_properties": 1, "image_locations": 1, "image_members": 1,
                      "image_tags": 1, "task_info": 0, "tasks": 0}
    for table in (image_properties, image_locations, image_members, image_tags):
        assert _deleted_flags(repo, table, old.id) == []
        assert _deleted_flags(repo, table, recent.id) == [True]
    assert _count(repo, images) == 2


def test_purge_stops_at_max_rows_per_table(repo: SqlImageRepository,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        _delete_at(repo, monkeypatch, T0)
    monkeypatch.undo()

    counts = repo.purge(age_in_days=1, max_rows=2)

    assert set(counts.values()) == {2, 0}
    assert _count(repo, image_tags) == 1


def test_purge_keeps_locations_the_scrubber_still_has_to_delete(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sql_api, "utcnow", lambda: T0)
    image = repo.create(_image(status="active", locations=[Location("file:///1")]))
    image.locations[0].status = "pending_delete"
    repo.mark_deleted(image, status="pending_delete")
    monkeypatch.undo()

    assert repo.purge(age_in_days=1, max_rows=-1)["image_locations"] == 0
    assert _count(repo, image_locations) == 1


def test_purge_images_removes_only_old_images_nothing_refers_to(
        repo: SqlImageRepository, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _delete_at(repo, monkeypatch, T0)
    still_referenced = _delete_at(repo, monkeypatch, T0)
    recent = _delete_at(repo, monkeypatch, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    monkeypatch.undo()
    live = repo.create(_image())
    with repo.engine.begin() as conn:
        for table in (image_properties, image_locations, image_members, image_tags):
            conn.execute(table.delete().where(table.c.image_id.in_([old.id, recent.id])))

    assert repo.purge_images(age_in_days=180, max_rows=-1) == 1

    with repo.engine.connect() as conn:
        remaining = set(conn.execute(sa.select(images.c.id)).scalars())
    assert remaining == {still_referenced.id, recent.id, live.id}


@pytest.mark.parametrize(("age", "max_rows"), [(-1, 100), (30, -2)])
def test_purge_refuses_a_negative_age_or_row_limit(repo: SqlImageRepository, age: int,
                                                   max_rows: int) -> None:
    with pytest.raises(errors.BadRequest):
        repo.purge(age, max_rows)
    with pytest.raises(errors.BadRequest):
        repo.purge_images(age, max_rows)


# --- crash recovery's queries ---------------------------------------------------------
def test_list_with_property_finds_only_live_images_carrying_it(
        repo: SqlImageRepository) -> None:
    owned = repo.create(_image(properties={"os_glance_operation_owner": "h/1/t/0"}))
    repo.create(_image(properties={"os_distro": "cirros"}))
    gone = repo.create(_image(properties={"os_glance_operation_owner": "h/2/t/0"}))
    repo.mark_deleted(gone, status="deleted")

    assert [i.id for i in repo.list_with_property("os_glance_operation_owner")] == [owned.id]


def test_statuses_include_soft_deleted_rows_and_omit_unknown_ids(
        repo: SqlImageRepository) -> None:
    queued = repo.create(_image())
    pending = repo.create(_image(status="active", locations=[Location("file:///p")]))
    pending.locations[0].status = "pending_delete"
    repo.mark_deleted(pending, status="pending_delete")

    assert repo.statuses([queued.id, pending.id, "no-such-image"]) == {
        queued.id: "queued", pending.id: "pending_delete"}
