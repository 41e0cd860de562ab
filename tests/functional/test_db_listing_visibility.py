"""Who sees which images in a listing (spec §3.2, §4.2), and which markers they may use.

Read-only tests over one catalog per backend: images of every visibility, membership and
unlisted status, owned by projects A and B or by nobody.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from glance_svc import errors
from glance_svc.db.sqlalchemy.api import SqlImageRepository
from glance_svc.domain.image import Image, Member
from glance_svc.domain.query import ImageQuery
from tests.fixtures import mariadb as dbfix

backend_url = dbfix.backend_url
module_repo = dbfix.module_repo

A, B, C = "project-a", "project-b", "project-c"


@pytest.fixture(scope="module")
def catalog(module_repo: SqlImageRepository) -> dict[str, Image]:
    repo = dbfix.empty(module_repo)
    made: dict[str, Image] = {}

    def add(name: str, owner: str | None, visibility: str, member: str | None = None,
            **fields: Any) -> Image:
        image = repo.create(Image(name=name, owner=owner, visibility=visibility, **fields))
        if member:
            repo.add_member(Member(image.id, B, status=member))
        made[name] = image
        return image

    add("a-public", A, "public")
    add("a-private", A, "private")
    add("a-private-member-b", A, "private", "accepted")
    add("a-shared-b-accepted", A, "shared", "accepted")
    add("a-shared-b-pending", A, "shared", "pending")
    add("a-shared-b-rejected", A, "shared", "rejected")
    repo.delete_member(add("a-shared-b-removed", A, "shared", "accepted").id, B)
    add("a-community", A, "community")
    add("b-private", B, "private")
    add("b-community", B, "community")
    add("nobody-private", None, "private")
    add("a-public-hidden", A, "public", os_hidden=True)
    add("a-public-killed", A, "public", status="killed")
    repo.mark_deleted(add("a-public-deleted", A, "public"), status="deleted")
    repo.mark_deleted(add("a-public-pending-delete", A, "public", status="active"),
                      status="pending_delete")
    return made


def names(repo: SqlImageRepository, **query: Any) -> set[str]:
    return {image.name or "" for image in repo.list(ImageQuery(limit=1000, **query))}


EVERYONE = {"a-public", "nobody-private"}
A_SHARED = {"a-shared-b-accepted", "a-shared-b-pending", "a-shared-b-rejected",
            "a-shared-b-removed"}


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param({"project_id": A},
                 EVERYONE | A_SHARED | {"a-private", "a-private-member-b", "a-community"},
                 id="owner-sees-all-own-images-including-community"),
    pytest.param({"project_id": B},
                 EVERYONE | {"a-shared-b-accepted", "b-private", "b-community"},
                 id="member-sees-accepted-shares-by-default"),
    pytest.param({"project_id": B, "member_status": "pending"},
                 EVERYONE | {"a-shared-b-pending", "b-private", "b-community"},
                 id="member-status-pending"),
    pytest.param({"project_id": B, "member_status": "rejected"},
                 EVERYONE | {"a-shared-b-rejected", "b-private", "b-community"},
                 id="member-status-rejected"),
    pytest.param({"project_id": B, "member_status": "all"},
                 EVERYONE | {"a-shared-b-accepted", "a-shared-b-pending",
                             "a-shared-b-rejected", "b-private", "b-community"},
                 id="member-status-all"),
    pytest.param({"project_id": B, "visibility": "shared"}, {"a-shared-b-accepted"},
                 id="visibility-shared-for-a-member"),
    pytest.param({"project_id": B, "visibility": "private"}, {"b-private", "nobody-private"},
                 id="visibility-private-includes-ownerless"),
    pytest.param({"project_id": C}, EVERYONE, id="stranger-sees-public-and-ownerless"),
    pytest.param({"project_id": C, "visibility": "community"}, {"a-community", "b-community"},
                 id="community-of-others-when-asked"),
    pytest.param({"project_id": C, "visibility": "all"},
                 EVERYONE | {"a-community", "b-community"}, id="visibility-all"),
    pytest.param({"project_id": None}, EVERYONE, id="no-project-sees-public-and-ownerless"),
    pytest.param({"project_id": A, "os_hidden": True}, {"a-public-hidden"},
                 id="os-hidden-true-lists-only-hidden"),
    pytest.param({"project_id": C, "is_admin": True},
                 EVERYONE | A_SHARED | {"a-private", "a-private-member-b", "b-private"},
                 id="admin-sees-every-project-but-not-their-community"),
    pytest.param({"project_id": C, "is_admin": True, "visibility": "community"},
                 {"a-community", "b-community"}, id="admin-community-when-asked"),
    pytest.param({"project_id": A, "is_admin": True, "visibility": "all",
                  "columns": {"status": ["killed", "deleted", "pending_delete"]}}, set(),
                 id="killed-deleted-pending-delete-never-listed"),
])
def test_listing_shows_exactly_the_visible_images(module_repo: SqlImageRepository,
                                                  catalog: dict[str, Image],
                                                  query: dict[str, Any],
                                                  expected: set[str]) -> None:
    assert names(module_repo, **query) == expected


@pytest.mark.parametrize(("caller", "marker"), [
    pytest.param({"project_id": C}, "b-private", id="private-image-of-another-project"),
    pytest.param({"project_id": C}, "a-shared-b-accepted", id="share-with-another-project"),
    pytest.param({"project_id": B}, "a-shared-b-removed", id="share-whose-member-was-removed"),
    pytest.param({"is_admin": True}, "a-public-deleted", id="deleted-image"),
    pytest.param({"is_admin": True}, "a-public-pending-delete", id="pending-delete-image"),
])
def test_a_marker_the_caller_cannot_see_is_bad_request(
        module_repo: SqlImageRepository, catalog: dict[str, Image], caller: dict[str, Any],
        marker: str) -> None:
    marker_id = catalog[marker].id

    with pytest.raises(errors.BadRequest) as caught:
        module_repo.list(ImageQuery(marker=marker_id, **caller))
    assert caught.value.message == f"No image found with ID {marker_id}"


def test_an_unknown_marker_is_bad_request(module_repo: SqlImageRepository,
                                          catalog: dict[str, Image]) -> None:
    marker = str(uuid.uuid4())

    with pytest.raises(errors.BadRequest) as caught:
        module_repo.list(ImageQuery(is_admin=True, marker=marker))
    assert caught.value.message == f"No image found with ID {marker}"


@pytest.mark.parametrize("marker", ["a-shared-b-pending", "nobody-private", "a-community"])
def test_any_image_the_caller_may_read_can_be_the_marker(
        module_repo: SqlImageRepository, catalog: dict[str, Image], marker: str) -> None:
    everything = module_repo.list(ImageQuery(project_id=B, visibility="all",
                                             member_status="all", limit=1000))
    position = next(n for n, i in enumerate(everything) if i.id == catalog[marker].id)

    after = module_repo.list(ImageQuery(project_id=B, visibility="all", member_status="all",
                                        marker=catalog[marker].id, limit=1000))

    assert [i.id for i in after] == [i.id for i in everything[position + 1:]]


def test_limit_zero_is_an_empty_page(module_repo: SqlImageRepository,
                                     catalog: dict[str, Image]) -> None:
    assert module_repo.list(ImageQuery(is_admin=True, limit=0)) == []


def test_limit_caps_the_page(module_repo: SqlImageRepository,
                             catalog: dict[str, Image]) -> None:
    assert len(module_repo.list(ImageQuery(is_admin=True, limit=3))) == 3
