"""PATCH (spec §3.4): parsing of both media types and every rule of the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glance_svc import errors
from glance_svc.context import RequestContext
from glance_svc.domain import image_patch
from glance_svc.domain.image import Location
from glance_svc.domain.images import ImageService
from tests.unit.fake_repository import RecordingStores, make_members, make_service

A, B = "a" * 32, "b" * 32
ADMIN = RequestContext.admin()
MEMBER_A = RequestContext(project_id=A, roles=["member", "reader"])
READER_A = RequestContext(project_id=A, roles=["reader"])
MEMBER_B = RequestContext(project_id=B, roles=["member", "reader"])


@pytest.fixture
def service(tmp_path: Path) -> ImageService:
    return make_service(tmp_path)


def patch(service: ImageService, image_id: str, ops: list[dict[str, Any]],
          ctx: RequestContext = MEMBER_A, draft: int = 10):  # noqa: ANN201
    changes = image_patch.parse_changes(ops, draft, service.schemas)
    return service.update(ctx, image_id, changes)


def fails(service: ImageService, image_id: str, ops: Any, ctx: RequestContext = MEMBER_A,
          draft: int = 10) -> tuple[int, str]:
    with pytest.raises(errors.GlanceError) as caught:
        patch(service, image_id, ops, ctx, draft)
    return caught.value.status, caught.value.message


def rep(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


# -- media types --------------------------------------------------------------------------
def test_v21_media_type() -> None:
    assert image_patch.draft_for("application/openstack-images-v2.1-json-patch") == 10


def test_v20_media_type() -> None:
    assert image_patch.draft_for("application/openstack-images-v2.0-json-patch") == 4


def test_other_media_type_is_415_with_accept_patch() -> None:
    with pytest.raises(errors.UnsupportedMediaType) as caught:
        image_patch.draft_for("application/json")
    assert caught.value.headers == {"Accept_Patch": (
        "application/openstack-images-v2.0-json-patch, "
        "application/openstack-images-v2.1-json-patch")}


# -- body shape ---------------------------------------------------------------------------------
def test_body_must_be_a_list(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, {"op": "add"}) == \
        (400, "Request body must be a JSON array of operation objects.")


def test_operation_must_be_an_object(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, ["x"]) == (400, "Operations must be JSON objects.")


@pytest.mark.parametrize("op", ["move", "copy", "test"])
def test_unsupported_operations_are_400(service: ImageService, op: str) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [{"op": op, "path": "/name", "value": "x"}]) == (
        400, f"Invalid operation: `{op}`. It must be one of the following: add, remove, "
             "replace.")


def test_tags_append_pointer_is_400(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [{"op": "add", "path": "/tags/-", "value": "x"}]) == \
        (400, "Invalid JSON pointer for this resource: '/tags/-'")


def test_pointer_must_start_with_slash(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("name", "x")])[0] == 400


def test_value_is_required(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [{"op": "replace", "path": "/name"}]) == \
        (400, 'Operation "replace" requires a member named "value".')


def test_escaped_pointer_addresses_a_property_with_slash(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    updated = patch(service, image.id, [{"op": "add", "path": "/a~1b", "value": "v"}])
    assert updated.properties == {"a/b": "v"}


def test_v20_operation_syntax(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    updated = patch(service, image.id, [{"add": "/foo", "value": "bar"}], draft=4)
    assert updated.properties == {"foo": "bar"}


# -- read-only, reserved, schema ---------------------------------------------------------------
@pytest.mark.parametrize("attr", ["status", "checksum", "size", "id", "created_at", "self",
                                  "os_hash_value", "direct_url", "virtual_size"])
def test_read_only_attributes_are_403(service: ImageService, attr: str) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep(f"/{attr}", "x")]) == \
        (403, f"Attribute '{attr}' is read-only.")


@pytest.mark.parametrize("attr", ["location", "deleted", "deleted_at", "os_glance_import_task"])
def test_reserved_attributes_are_403(service: ImageService, attr: str) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep(f"/{attr}", "x")]) == \
        (403, f"Attribute '{attr}' is reserved.")


@pytest.mark.parametrize("path,value", [("/min_ram", "512"), ("/foo", 1),
                                        ("/visibility", "world"), ("/name", "n" * 256),
                                        ("/disk_format", "floppy")])
def test_values_failing_the_schema_are_400(service: ImageService, path: str,
                                           value: Any) -> None:
    image = service.create(MEMBER_A, {"foo": "x"})
    assert fails(service, image.id, [rep(path, value)])[0] == 400


# -- add / replace / remove ----------------------------------------------------------------------
def test_replace_name(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"name": "a"})
    assert patch(service, image.id, [rep("/name", "b")]).name == "b"


def test_name_may_become_null(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"name": "a"})
    assert patch(service, image.id, [rep("/name", None)]).name is None


def test_add_on_existing_property_replaces_in_v21(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"foo": "a"})
    updated = patch(service, image.id, [{"op": "add", "path": "/foo", "value": "b"}])
    assert updated.properties == {"foo": "b"}


def test_add_on_existing_property_is_409_in_v20(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"foo": "a"})
    assert fails(service, image.id, [{"add": "/foo", "value": "b"}], draft=4) == \
        (409, "Property foo already present.")


def test_replace_missing_custom_property_is_409(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/foo", "x")]) == (409, "Property foo does not exist.")


def test_remove_missing_custom_property_is_409(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [{"op": "remove", "path": "/foo"}]) == \
        (409, "Property foo does not exist.")


def test_remove_custom_property(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"foo": "x", "bar": "y"})
    assert patch(service, image.id, [{"op": "remove", "path": "/foo"}]).properties == \
        {"bar": "y"}


@pytest.mark.parametrize("attr", ["name", "min_ram", "visibility", "tags"])
def test_remove_base_property_is_403(service: ImageService, attr: str) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [{"op": "remove", "path": f"/{attr}"}]) == \
        (403, f"Property {attr} may not be removed.")


def test_owner_cannot_be_replaced_by_non_admin(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/owner", B)]) == \
        (403, "Owner can't be updated by non admin.")


def test_admin_may_replace_owner(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert patch(service, image.id, [rep("/owner", B)], ctx=ADMIN).owner == B


def test_publicize_needs_admin(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/visibility", "public")]) == \
        (403, "You are not authorized to complete publicize_image action.")


def test_admin_may_publicize(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert patch(service, image.id, [rep("/visibility", "public")], ctx=ADMIN).visibility == \
        "public"


def test_member_may_communitize(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert patch(service, image.id, [rep("/visibility", "community")]).visibility == \
        "community"


def test_disk_format_change_on_active_image_is_403(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"disk_format": "raw", "container_format": "bare"})
    image.status = "active"
    service.repo.save(image)
    assert fails(service, image.id, [rep("/disk_format", "qcow2")]) == \
        (403, "Attribute disk_format can be only replaced for a queued image.")


def test_tags_replace_is_a_set(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert patch(service, image.id, [rep("/tags", ["a", "b", "a"])]).tags == {"a", "b"}


def test_negative_min_ram_is_400(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/min_ram", -5)]) == \
        (400, "Invalid value '-5' for parameter 'min_ram': Cannot be a negative value")


def test_new_property_over_quota_is_413(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_property_quota": 1}})
    image = service.create(MEMBER_A, {"a": "1"})
    assert fails(service, image.id, [{"op": "add", "path": "/b", "value": "2"}])[0] == 413


def test_changing_existing_property_over_quota_is_allowed(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_property_quota": 1}})
    image = service.create(MEMBER_A, {"a": "1"})
    service.conf.set_override("image_property_quota", 0)
    assert patch(service, image.id, [rep("/a", "2")]).properties == {"a": "2"}


def test_tags_over_quota_is_413(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_tag_quota": 1}})
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/tags", ["a", "b"])])[0] == 413


def test_operations_apply_in_order_and_save_once(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    saves = service.repo.saves
    updated = patch(service, image.id, [{"op": "add", "path": "/x", "value": "1"},
                                        rep("/x", "2"), rep("/name", "n")])
    assert (updated.properties, updated.name, service.repo.saves) == \
        ({"x": "2"}, "n", saves + 1)


def test_failed_operation_saves_nothing(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    fails(service, image.id, [rep("/name", "n"), rep("/missing", "x")])
    assert service.repo.get(image.id).name is None


def test_empty_patch_returns_the_image(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"name": "a"})
    assert patch(service, image.id, []).name == "a"


def test_reader_cannot_patch(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [rep("/name", "x")], ctx=READER_A) == \
        (403, "You are not authorized to complete modify_image action.")


def test_member_project_gets_403_on_visible_image(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    make_members(service).create(MEMBER_A, image.id, B)
    assert fails(service, image.id, [rep("/name", "x")], ctx=MEMBER_B)[0] == 403


def test_invisible_image_is_404(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "private"})
    assert fails(service, image.id, [rep("/name", "x")], ctx=MEMBER_B)[0] == 404


def test_patch_retries_when_an_upload_changed_the_status(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"disk_format": "raw", "container_format": "bare"})
    original = service.repo.save
    state = {"raced": False}

    def racing_save(img, **kw):  # noqa: ANN001, ANN003, ANN202
        if not state["raced"]:
            state["raced"] = True
            stored = service.repo.images[img.id]
            stored.status, stored.size, stored.checksum = "active", 3, "c" * 32
            raise errors.StaleStatus("upload finished meanwhile")
        return original(img, **kw)

    service.repo.save = racing_save  # type: ignore[method-assign]
    updated = patch(service, image.id, [rep("/name", "n")])
    assert (updated.name, updated.status, updated.size) == ("n", "active", 3)


# -- locations --------------------------------------------------------------------------------
@pytest.fixture
def loc_service(tmp_path: Path) -> ImageService:
    stores = RecordingStores(sizes={"http://192.0.2.10/1": 10, "http://192.0.2.10/2": 10})
    return make_service(tmp_path, {"DEFAULT": {"show_multiple_locations": True},
                                   **LOCATION_HOST_ALLOWED}, stores)


# The documentation address the fake store holds data at, let through the import filter.
LOCATION_HOST_ALLOWED = {"import_filtering_opts": {"allowed_hosts": "192.0.2.10"}}


def add_loc(url: str, pos: str = "-") -> dict[str, Any]:
    return {"op": "add", "path": f"/locations/{pos}", "value": {"url": url, "metadata": {}}}


def test_locations_hidden_means_403(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert fails(service, image.id, [add_loc("http://192.0.2.10/1")]) == \
        (403, "It's not allowed to add locations if locations are invisible.")


def test_replace_locations_with_empty_list_is_403(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    assert fails(loc_service, image.id, [rep("/locations", [])]) == \
        (403, "Cannot set locations to empty list.")


def test_adding_a_location_activates_a_queued_image(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {"disk_format": "raw", "container_format": "bare"})
    updated = patch(loc_service, image.id, [add_loc("http://192.0.2.10/1")])
    assert (updated.status, updated.size, [loc.url for loc in updated.locations]) == \
        ("active", 10, ["http://192.0.2.10/1"])


def test_unreachable_location_is_400(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    assert fails(loc_service, image.id, [add_loc("http://192.0.2.10/missing")]) == \
        (400, "Invalid location")


def test_file_location_is_refused(loc_service: ImageService) -> None:
    loc_service.stores.sizes["file:///etc/passwd"] = 5
    image = loc_service.create(MEMBER_A, {})
    assert fails(loc_service, image.id, [add_loc("file:///etc/passwd")]) == \
        (400, "Invalid location")


def test_add_location_on_deactivated_image_is_409(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    image.status = "deactivated"
    loc_service.repo.save(image)
    assert fails(loc_service, image.id, [add_loc("http://192.0.2.10/1")])[0] == 409


def test_location_quota_is_413(tmp_path: Path) -> None:
    stores = RecordingStores(sizes={"http://192.0.2.10/1": 10, "http://192.0.2.10/2": 10})
    service = make_service(tmp_path, {"DEFAULT": {"show_multiple_locations": True,
                                                  "image_location_quota": 1},
                                      **LOCATION_HOST_ALLOWED}, stores)
    image = service.create(MEMBER_A, {})
    patch(service, image.id, [add_loc("http://192.0.2.10/1")])
    assert fails(service, image.id, [add_loc("http://192.0.2.10/2")])[0] == 413


def test_remove_last_location_is_403(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    patch(loc_service, image.id, [add_loc("http://192.0.2.10/1")])
    assert fails(loc_service, image.id, [{"op": "remove", "path": "/locations/0"}],
                 ctx=ADMIN) == (403, "Cannot remove last location in the image.")


def test_remove_location_deletes_its_data_after_saving(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    patch(loc_service, image.id, [add_loc("http://192.0.2.10/1"), add_loc("http://192.0.2.10/2")])
    updated = patch(loc_service, image.id, [{"op": "remove", "path": "/locations/0"}],
                    ctx=ADMIN)
    assert ([loc.url for loc in updated.active_locations], loc_service.stores.deleted) == \
        (["http://192.0.2.10/2"], ["http://192.0.2.10/1"])


def test_member_cannot_remove_locations(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    patch(loc_service, image.id, [add_loc("http://192.0.2.10/1"), add_loc("http://192.0.2.10/2")])
    assert fails(loc_service, image.id, [{"op": "remove", "path": "/locations/0"}]) == \
        (403, "You are not authorized to complete delete_image_location action.")


def test_replace_locations_of_image_with_data_is_400(loc_service: ImageService) -> None:
    image = loc_service.create(MEMBER_A, {})
    image.locations = [Location(url="http://192.0.2.10/1")]
    loc_service.repo.save(image)
    value = [{"url": "http://192.0.2.10/2", "metadata": {}}]
    assert fails(loc_service, image.id, [rep("/locations", value)])[0] == 400
