"""Image sharing (spec §3.7) through MemberService, with the real policy rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from glance_svc import errors
from glance_svc.context import RequestContext
from glance_svc.domain.images import ImageService
from glance_svc.domain.members import MemberService
from tests.unit.fake_repository import make_members, make_service

A, B, C = "a" * 32, "b" * 32, "c" * 32
ADMIN = RequestContext.admin()
OWNER = RequestContext(project_id=A, roles=["member", "reader"])
MEMBER_B = RequestContext(project_id=B, roles=["member", "reader"])
READER_B = RequestContext(project_id=B, roles=["reader"])
MEMBER_C = RequestContext(project_id=C, roles=["member", "reader"])


@pytest.fixture
def service(tmp_path: Path) -> ImageService:
    return make_service(tmp_path)


@pytest.fixture
def members(service: ImageService) -> MemberService:
    return make_members(service)


@pytest.fixture
def shared(members: MemberService, service: ImageService) -> str:
    image = service.create(OWNER, {})
    members.create(OWNER, image.id, B)
    return image.id


def error_of(call, *args):  # noqa: ANN001, ANN201
    with pytest.raises(errors.GlanceError) as caught:
        call(*args)
    return caught.value.status, caught.value.message


def test_owner_adds_a_pending_member(members: MemberService, service: ImageService) -> None:
    image = service.create(OWNER, {})
    member = members.create(OWNER, image.id, B)
    assert (member.member_id, member.image_id, member.status) == (B, image.id, "pending")


def test_duplicate_member_is_409(members: MemberService, shared: str) -> None:
    assert error_of(members.create, OWNER, shared, B) == \
        (409, f"Member {B} is duplicated for image {shared}")


@pytest.mark.parametrize("visibility", ["private", "public", "community"])
def test_only_shared_images_have_members(members: MemberService, service: ImageService,
                                         visibility: str) -> None:
    image = service.create(ADMIN, {"owner": A, "visibility": visibility})
    assert error_of(members.create, OWNER, image.id, B) == (403, (
        f"Not allowed to create members for image {image.id}: "
        "Only shared images have members."))


def test_member_quota_is_413(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"DEFAULT": {"image_member_quota": 1}})
    members = make_members(service)
    image = service.create(OWNER, {})
    members.create(OWNER, image.id, B)
    assert error_of(members.create, OWNER, image.id, C)[0] == 413


def test_member_cannot_add_members(members: MemberService, shared: str) -> None:
    assert error_of(members.create, MEMBER_B, shared, C) == (403, (
        f"Not allowed to create members for image {shared}: "
        "You are not authorized to complete add_member action."))


def test_stranger_adding_members_gets_404(members: MemberService, shared: str) -> None:
    assert error_of(members.create, MEMBER_C, shared, C) == \
        (404, f"Image {shared} not found.")


def test_owner_lists_every_member(members: MemberService, shared: str) -> None:
    members.create(OWNER, shared, C)
    assert {m.member_id for m in members.list(OWNER, shared)} == {B, C}


def test_member_sees_only_its_own_row(members: MemberService, shared: str) -> None:
    members.create(OWNER, shared, C)
    assert [m.member_id for m in members.list(MEMBER_B, shared)] == [B]


def test_listing_members_of_private_image_is_403(members: MemberService,
                                                 service: ImageService) -> None:
    image = service.create(OWNER, {"visibility": "private"})
    assert error_of(members.list, OWNER, image.id) == (403, (
        f"Not allowed to list members for image {image.id}: Only shared images have members."))


def test_member_accepts(members: MemberService, shared: str) -> None:
    assert members.update(MEMBER_B, shared, B, "accepted").status == "accepted"


def test_owner_cannot_change_member_status(members: MemberService, shared: str) -> None:
    assert error_of(members.update, OWNER, shared, B, "accepted") == (403, (
        f"Not allowed to update members for image {shared}: "
        "You are not authorized to complete modify_member action."))


def test_reader_member_cannot_accept(members: MemberService, shared: str) -> None:
    assert error_of(members.update, READER_B, shared, B, "accepted")[0] == 403


def test_invalid_member_status_is_400(members: MemberService, shared: str) -> None:
    assert error_of(members.update, MEMBER_B, shared, B, "maybe") == \
        (400, "Incorrect request: Invalid status value: maybe")


def test_admin_may_change_member_status(members: MemberService, shared: str) -> None:
    assert members.update(ADMIN, shared, B, "rejected").status == "rejected"


def test_member_cannot_touch_another_members_row(members: MemberService, shared: str) -> None:
    members.create(OWNER, shared, C)
    assert error_of(members.update, MEMBER_B, shared, C, "accepted") == \
        (404, f"{C} not found in the member list of the image {shared}.")


def test_owner_removes_a_member(members: MemberService, shared: str) -> None:
    members.delete(OWNER, shared, B)
    assert members.list(OWNER, shared) == []


def test_member_cannot_remove_itself(members: MemberService, shared: str) -> None:
    assert error_of(members.delete, MEMBER_B, shared, B) == (403, (
        f"Not allowed to delete members for image {shared}: "
        "You are not authorized to complete delete_member action."))


def test_removing_unknown_member_is_404(members: MemberService, shared: str) -> None:
    assert error_of(members.delete, OWNER, shared, C)[0] == 404


def test_member_shows_its_own_row(members: MemberService, shared: str) -> None:
    assert members.get(MEMBER_B, shared, B).member_id == B


def test_member_show_of_another_row_is_404(members: MemberService, shared: str) -> None:
    members.create(OWNER, shared, C)
    assert error_of(members.get, MEMBER_B, shared, C)[0] == 404


def test_member_show_on_private_image_is_404_not_403(members: MemberService,
                                                     service: ImageService) -> None:
    image = service.create(OWNER, {"visibility": "private"})
    assert error_of(members.get, OWNER, image.id, B) == \
        (404, "Only shared images have members.")


def test_member_show_for_stranger_is_404(members: MemberService, shared: str) -> None:
    assert error_of(members.get, MEMBER_C, shared, B)[0] == 404


def test_rows_survive_a_visibility_change_but_stop_granting(service: ImageService,
                                                            shared: str) -> None:
    image = service.get(OWNER, shared)
    image.visibility = "private"
    service.repo.save(image)
    assert (error_of(service.get, MEMBER_B, shared)[0], len(service.repo.list_members(shared))) \
        == (404, 1)


def test_legacy_owner_check_on_member_create(tmp_path: Path) -> None:
    service = make_service(tmp_path, {"oslo_policy": {"enforce_new_defaults": False}})
    members = make_members(service)
    image = service.create(ADMIN, {"owner": A})
    members.create(ADMIN, image.id, B)
    assert error_of(members.create, RequestContext(project_id=B), image.id, C) == \
        (403, "You are not permitted to create image members for the image.")
