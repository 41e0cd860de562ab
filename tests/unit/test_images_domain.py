"""ImageService without HTTP or a database: create, show, list, delete, actions, tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from glance_svc import errors
from glance_svc.context import RequestContext
from glance_svc.domain.image import Location
from glance_svc.domain.images import ImageService
from tests.unit.fake_repository import RecordingStores, make_members, make_service

A, B = "a" * 32, "b" * 32
ADMIN = RequestContext.admin()
MEMBER_A = RequestContext(project_id=A, roles=["member", "reader"])
READER_A = RequestContext(project_id=A, roles=["reader"])
MEMBER_B = RequestContext(project_id=B, roles=["member", "reader"])
ID = "94867a1d-e8db-440f-8384-703f0f3b93d8"


@pytest.fixture
def service(tmp_path: Path) -> ImageService:
    return make_service(tmp_path)


def error_of(call, *args):  # noqa: ANN001, ANN201
    with pytest.raises(errors.GlanceError) as caught:
        call(*args)
    return caught.value.status, caught.value.message


def active(service: ImageService, ctx: RequestContext = MEMBER_A, **fields: object):  # noqa: ANN201
    image = service.create(ctx, {"disk_format": "raw", "container_format": "bare", **fields})
    image.status = "active"
    image.size = 3
    image.locations = [Location(url=f"file:///data/{image.id}")]
    return service.repo.save(image)


# -- create ----------------------------------------------------------------------------
def test_create_defaults(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"name": "cirros"})
    assert (image.status, image.visibility, image.owner, image.protected, image.min_ram) == \
        ("queued", "shared", A, False, 0)


def test_create_keeps_custom_properties_and_tags(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"foo": "bar", "tags": ["t1", "t1", "t2"]})
    assert (image.properties, image.tags) == ({"foo": "bar"}, {"t1", "t2"})


def test_create_with_client_id(service: ImageService) -> None:
    assert service.create(MEMBER_A, {"id": ID}).id == ID


def test_create_with_taken_id_is_409(service: ImageService) -> None:
    service.create(MEMBER_A, {"id": ID})
    assert error_of(service.create, MEMBER_A, {"id": ID}) == \
        (409, f"Image ID {ID} already exists!")


def test_create_with_deleted_images_id_is_409(service: ImageService) -> None:
    service.create(MEMBER_A, {"id": ID})
    service.delete(MEMBER_A, ID)
    assert error_of(service.create, MEMBER_A, {"id": ID})[0] == 409


@pytest.mark.parametrize("key", ["direct_url", "self", "file", "schema", "stores"])
def test_create_with_disallowed_attribute_is_403(service: ImageService, key: str) -> None:
    assert error_of(service.create, MEMBER_A, {key: "x"}) == \
        (403, f"Attribute '{key}' is read-only.")


@pytest.mark.parametrize("key,value", [("status", "active"), ("checksum", None),
                                       ("size", 1), ("created_at", "x"),
                                       ("os_hash_value", None)])
def test_create_with_read_only_attribute_is_403(service: ImageService, key: str,
                                                value: object) -> None:
    assert error_of(service.create, MEMBER_A, {key: value}) == \
        (403, f"Attribute '{key}' is read-only.")


@pytest.mark.parametrize("key", ["location", "deleted", "deleted_at", "os_glance_x"])
def test_create_with_reserved_attribute_is_403(service: ImageService, key: str) -> None:
    assert error_of(service.create, MEMBER_A, {key: "x"}) == \
        (403, f"Attribute '{key}' is reserved.")


def test_create_with_locations_is_reserved(service: ImageService) -> None:
    body = {"locations": [{"url": "http://x/y", "metadata": {}}]}
    assert error_of(service.create, MEMBER_A, body) == (403, "Attribute 'locations' is reserved.")


def test_create_with_long_custom_key_is_400(service: ImageService) -> None:
    assert error_of(service.create, MEMBER_A, {"k" * 256: "v"}) == \
        (400, "Custom property should not be greater than 255 characters.")


def test_create_with_bad_enum_is_400(service: ImageService) -> None:
    assert error_of(service.create, MEMBER_A, {"visibility": "world"})[0] == 400


def test_create_with_negative_min_disk_is_400(service: ImageService) -> None:
    assert error_of(service.create, MEMBER_A, {"min_disk": -1}) == \
        (400, "Invalid value '-1' for parameter 'min_disk': Cannot be a negative value")


def test_create_for_another_project_is_403(service: ImageService) -> None:
    assert error_of(service.create, MEMBER_A, {"owner": B}) == \
        (403, f"You are not permitted to create images owned by '{B}'.")


def test_admin_may_create_for_another_project(service: ImageService) -> None:
    assert service.create(ADMIN, {"owner": B}).owner == B


def test_reader_cannot_create(service: ImageService) -> None:
    assert error_of(service.create, READER_A, {}) == \
        (403, "You are not authorized to complete add_image action.")


def test_member_cannot_create_public_image(service: ImageService) -> None:
    assert error_of(service.create, MEMBER_A, {"visibility": "public"}) == \
        (403, "You are not authorized to complete publicize_image action.")


def test_member_can_create_community_image(service: ImageService) -> None:
    assert service.create(MEMBER_A, {"visibility": "community"}).visibility == "community"


def test_unauthenticated_admin_creates_ownerless_images(service: ImageService) -> None:
    assert service.create(ADMIN, {}).owner is None


def test_property_quota_on_create(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_property_quota": 1}})
    assert error_of(service.create, MEMBER_A, {"a": "1", "b": "2"}) == (413, (
        "The limit has been exceeded on the number of allowed image properties. "
        "Attempted: 2, Maximum: 1"))


def test_tag_quota_on_create(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_tag_quota": 1}})
    assert error_of(service.create, MEMBER_A, {"tags": ["a", "b"]})[0] == 413


def test_negative_quota_is_unlimited(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_property_quota": -1}})
    assert len(service.create(MEMBER_A, {f"p{i}": "v" for i in range(200)}).properties) == 200


# -- get and visibility (404, never 403) ---------------------------------------------------
def test_get_own_private_image(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "private"})
    assert service.get(READER_A, image.id).id == image.id


def test_other_projects_private_image_is_404(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "private"})
    assert error_of(service.get, MEMBER_B, image.id) == (404, f"No image found with ID {image.id}")


def test_shared_image_is_404_for_non_members(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.get, MEMBER_B, image.id)[0] == 404


def test_pending_member_can_already_see_a_shared_image(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    make_members(service).create(MEMBER_A, image.id, B)
    assert service.get(MEMBER_B, image.id).id == image.id


def test_community_image_is_visible_to_all(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "community"})
    assert service.get(MEMBER_B, image.id).id == image.id


def test_ownerless_shared_image_is_visible_to_all(service: ImageService) -> None:
    image = service.create(ADMIN, {})
    assert service.get(MEMBER_B, image.id).id == image.id


def test_ownerless_private_image_is_hidden_by_get_image_policy(service: ImageService) -> None:
    image = service.create(ADMIN, {"visibility": "private"})
    assert error_of(service.get, MEMBER_B, image.id)[0] == 404


def test_admin_sees_other_projects_private_images(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "private"})
    assert service.get(RequestContext(project_id=B, roles=["admin"], is_admin=True),
                       image.id).id == image.id


def test_missing_image_is_404(service: ImageService) -> None:
    assert error_of(service.get, MEMBER_A, ID) == (404, f"No image found with ID {ID}")


def test_enforce_on_visible_image_is_403(service: ImageService) -> None:
    image = service.create(ADMIN, {"visibility": "public"})
    assert error_of(service.enforce, MEMBER_B, "modify_image", image) == \
        (403, "You are not authorized to complete modify_image action.")


def test_enforce_on_invisible_image_is_404(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"visibility": "private"})
    assert error_of(service.enforce, MEMBER_B, "modify_image", image)[0] == 404


def test_policy_target_aliases(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"foo": "bar"})
    target = service.policy_target(MEMBER_B, image)
    assert (target["project_id"], target["member_id"], target["id"], target["foo"]) == \
        (A, B, image.id, "bar")


def test_policy_target_member_id_is_none_for_the_owner(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert service.policy_target(MEMBER_A, image)["member_id"] is None


# -- list ----------------------------------------------------------------------------------
def test_list_passes_a_parsed_query(service: ImageService) -> None:
    service.list(MEMBER_A, [("name", "x"), ("limit", "5")])
    query = service.repo.queries[-1]
    assert (query.columns, query.limit, query.project_id, query.is_admin) == \
        ({"name": ["x"]}, 5, A, False)


def test_full_page_gives_next_marker(service: ImageService) -> None:
    ids = [service.create(MEMBER_A, {}).id for _ in range(3)]
    images, marker = service.list(MEMBER_A, [("limit", "2")])
    assert (len(images), marker) == (2, images[-1].id) and marker in ids


def test_short_page_has_no_next_marker(service: ImageService) -> None:
    service.create(MEMBER_A, {})
    assert service.list(MEMBER_A, [("limit", "2")])[1] is None


def test_list_needs_get_images(service: ImageService) -> None:
    nobody = RequestContext(project_id=A, roles=[])
    assert error_of(service.list, nobody, [])[0] == 403


def test_bad_filter_is_400_before_policy(service: ImageService) -> None:
    nobody = RequestContext(project_id=A, roles=[])
    assert error_of(service.list, nobody, [("limit", "x")])[0] == 400


# -- delete ---------------------------------------------------------------------------------
def test_delete_queued_image(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    service.delete(MEMBER_A, image.id)
    stored = service.repo.get(image.id, include_deleted=True)
    assert (stored.status, stored.deleted) == ("deleted", True)


def test_delete_removes_data_and_staging(tmp_path: Path) -> None:
    stores = RecordingStores()
    service = make_service(tmp_path, stores=stores)
    image = active(service)
    service.delete(MEMBER_A, image.id)
    stored = service.repo.get(image.id, include_deleted=True)
    assert (stores.deleted, stores.unstaged, stored.locations[0].status) == \
        ([f"file:///data/{image.id}"], [image.id], "deleted")


def test_delayed_delete_keeps_data_for_the_scrubber(tmp_path: Path) -> None:
    stores = RecordingStores()
    service = make_service(tmp_path, {"DEFAULT": {"delayed_delete": True}}, stores)
    image = active(service)
    service.delete(MEMBER_A, image.id)
    stored = service.repo.get(image.id, include_deleted=True)
    assert (stored.status, stored.locations[0].status, stores.deleted) == \
        ("pending_delete", "pending_delete", [])


def test_delayed_delete_without_data_is_immediate(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"delayed_delete": True}})
    image = service.create(MEMBER_A, {})
    service.delete(MEMBER_A, image.id)
    assert service.repo.get(image.id, include_deleted=True).status == "deleted"


def test_delayed_delete_of_deactivated_image_with_data_is_400(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"delayed_delete": True}})
    image = active(service)
    service.deactivate(MEMBER_A, image.id)
    assert error_of(service.delete, MEMBER_A, image.id) == \
        (400, "Image status transition from deactivated to pending_delete is not allowed")


def test_deleted_image_is_404(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    service.delete(MEMBER_A, image.id)
    assert error_of(service.get, MEMBER_A, image.id)[0] == 404


def test_delete_missing_image_message(service: ImageService) -> None:
    assert error_of(service.delete, MEMBER_A, ID) == \
        (404, f"Failed to find image {ID} to delete")


def test_protected_image_cannot_be_deleted(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"protected": True})
    assert error_of(service.delete, MEMBER_A, image.id) == \
        (403, f"Image {image.id} is protected and cannot be deleted.")


def test_reader_cannot_delete(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.delete, READER_A, image.id) == \
        (403, "You are not authorized to complete delete_image action.")


def test_delete_retries_when_status_changed_meanwhile(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    original = service.repo.mark_deleted
    calls = []

    def racing(img, **kw):  # noqa: ANN001, ANN003, ANN202
        calls.append(kw)
        if len(calls) == 1:
            raise errors.StaleStatus("changed")
        return original(img, **kw)

    service.repo.mark_deleted = racing  # type: ignore[method-assign]
    service.delete(MEMBER_A, image.id)
    assert len(calls) == 2


# -- deactivate / reactivate ------------------------------------------------------------------
def test_deactivate_active_image(service: ImageService) -> None:
    image = active(service)
    service.deactivate(MEMBER_A, image.id)
    assert service.repo.get(image.id).status == "deactivated"


def test_deactivate_twice_is_a_no_op(service: ImageService) -> None:
    image = active(service)
    service.deactivate(MEMBER_A, image.id)
    saves = service.repo.saves
    service.deactivate(MEMBER_A, image.id)
    assert service.repo.saves == saves


def test_deactivate_queued_image_is_403(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.deactivate, MEMBER_A, image.id) == \
        (403, "Not allowed to deactivate image in status 'queued'")


def test_reactivate(service: ImageService) -> None:
    image = active(service)
    service.deactivate(MEMBER_A, image.id)
    service.reactivate(MEMBER_A, image.id)
    assert service.repo.get(image.id).status == "active"


def test_reactivate_active_is_a_no_op(service: ImageService) -> None:
    image = active(service)
    service.reactivate(MEMBER_A, image.id)
    assert service.repo.get(image.id).status == "active"


def test_reactivate_queued_is_403(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.reactivate, MEMBER_A, image.id) == \
        (403, "Not allowed to reactivate image in status 'queued'")


def test_reader_cannot_deactivate(service: ImageService) -> None:
    image = active(service)
    assert error_of(service.deactivate, READER_A, image.id) == \
        (403, "You are not authorized to complete deactivate action.")


# -- tags -----------------------------------------------------------------------------------
def test_add_tag(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    service.add_tag(MEMBER_A, image.id, "t")
    assert service.repo.get(image.id).tags == {"t"}


def test_add_existing_tag_is_idempotent(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"tags": ["t"]})
    service.add_tag(MEMBER_A, image.id, "t")
    assert service.repo.get(image.id).tags == {"t"}


def test_tag_over_255_characters_is_400(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.add_tag, MEMBER_A, image.id, "t" * 256)[0] == 400


def test_tag_quota_is_413(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_tag_quota": 1}})
    image = service.create(MEMBER_A, {"tags": ["a"]})
    assert error_of(service.add_tag, MEMBER_A, image.id, "b") == (413, (
        "The limit has been exceeded on the number of allowed image tags. "
        "Attempted: 2, Maximum: 1"))


def test_delete_tag(service: ImageService) -> None:
    image = service.create(MEMBER_A, {"tags": ["a", "b"]})
    service.delete_tag(MEMBER_A, image.id, "a")
    assert service.repo.get(image.id).tags == {"b"}


def test_delete_absent_tag_is_404(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.delete_tag, MEMBER_A, image.id, "a") == (404, "Tag a not found.")


def test_reader_cannot_tag(service: ImageService) -> None:
    image = service.create(MEMBER_A, {})
    assert error_of(service.add_tag, READER_A, image.id, "a")[0] == 403


# -- legacy defaults (enforce_new_defaults = False) ------------------------------------------
@pytest.fixture
def legacy(tmp_path: Path) -> ImageService:
    return make_service(tmp_path, {"oslo_policy": {"enforce_new_defaults": False}})


def test_legacy_non_owner_cannot_delete_a_public_image(legacy: ImageService) -> None:
    image = legacy.create(ADMIN, {"visibility": "public", "owner": A})
    assert error_of(legacy.delete, RequestContext(project_id=B), image.id) == \
        (403, "You do not own this image")


def test_legacy_owner_without_roles_may_modify(legacy: ImageService) -> None:
    owner = RequestContext(project_id=A)
    image = legacy.create(owner, {})
    legacy.add_tag(owner, image.id, "t")
    assert legacy.repo.get(image.id).tags == {"t"}


def test_legacy_create_for_another_owner_is_403(legacy: ImageService) -> None:
    assert error_of(legacy.create, RequestContext(project_id=A), {"owner": B}) == \
        (403, f"You are not permitted to create images owned by '{B}'.")
