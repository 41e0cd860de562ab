"""Image sharing (spec §3.7): the owner adds projects as members; a member accepts or
rejects; only ``shared`` images have members.

Who sees which member rows is decided here, as Glance's database layer does it: admins
and the image owner see every member, any other project only its own row. Each call first
needs the image to be visible (404 otherwise), then the member rule of spec §8.2 (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import quotas
from glance_svc.domain.image import MEMBER_STATUSES, Image, Member
from glance_svc.domain.policy import forbidden_message

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.access import ImageAccess
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository

SHARED_ONLY = "Only shared images have members."


class MemberService:
    """Members of one image: list, add, show, change status, remove."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, policy: Enforcer,
                 images: ImageAccess) -> None:
        self.conf = conf
        self.repo = repo
        self.policy = policy
        self.images = images  # only to find the image and to build its policy target

    # -- helpers ----------------------------------------------------------------------------
    def _image(self, ctx: RequestContext, image_id: str) -> Image:
        try:
            return self.images.get(ctx, image_id)
        except errors.NotFound:
            raise errors.NotFound(f"Image {image_id} not found.") from None

    def _shared_image(self, ctx: RequestContext, image_id: str, verb: str
                      ) -> tuple[Image, str]:
        """The image a member change is about, and the prefix of its 403 messages.

        404 if the caller cannot see it; 403 if it is not shared, or if Glance's legacy
        owner rules forbid the caller to ``verb`` its members.
        """
        image = self._image(ctx, image_id)
        failure = f"Not allowed to {verb} members for image {image_id}:"
        if image.visibility != "shared":
            raise errors.Forbidden(f"{failure} {SHARED_ONLY}")
        self._legacy_owner_rules(ctx, image, verb)
        return image, failure

    def _enforce(self, ctx: RequestContext, rule: str, image: Image, failure: str) -> None:
        """404 if the image is invisible to the caller's policy, else 403 with ``failure``."""
        target = self.images.policy_target(ctx, image)
        if not self.policy.check(ctx, "get_image", target):
            raise errors.NotFound(f"Image {image.id} not found.")
        if not self.policy.check(ctx, rule, target):
            raise errors.Forbidden(f"{failure} {forbidden_message(rule)}")

    def _sees_all_members(self, ctx: RequestContext, image: Image) -> bool:
        return bool(ctx.is_admin) or (ctx.project_id is not None
                                      and ctx.project_id == image.owner)

    def _lookup(self, ctx: RequestContext, image: Image, member_id: str) -> Member:
        """The member row, if the caller may see it (404 otherwise)."""
        missing = errors.NotFound(
            f"{member_id} not found in the member list of the image {image.id}.")
        if not self._sees_all_members(ctx, image) and member_id != ctx.project_id:
            raise missing
        try:
            return self.repo.get_member(image.id, member_id)
        except errors.NotFound:
            raise missing from None

    def _legacy_owner_rules(self, ctx: RequestContext, image: Image, action: str) -> None:
        """Glance's hard-coded checks, active only under the legacy policy defaults."""
        if not self.policy.legacy_defaults or ctx.is_admin:
            return
        owner = image.owner
        if action == "create" and (owner is None or owner != ctx.project_id):
            raise errors.Forbidden("You are not permitted to create image members for the "
                                   "image.")
        if action == "update" and ctx.project_id == owner:
            raise errors.Forbidden("You are not permitted to modify 'status' on this image "
                                   "member.")
        if action == "delete" and ctx.project_id != owner:
            raise errors.Forbidden("You cannot delete image member.")

    # -- operations -------------------------------------------------------------------------
    def list(self, ctx: RequestContext, image_id: str) -> list[Member]:
        image = self._image(ctx, image_id)
        failure = f"Not allowed to list members for image {image_id}:"
        if image.visibility != "shared":
            raise errors.Forbidden(f"{failure} {SHARED_ONLY}")
        self._enforce(ctx, "get_members", image, failure)
        members = self.repo.list_members(image.id)
        if self._sees_all_members(ctx, image):
            return members
        return [m for m in members if m.member_id == ctx.project_id]

    def create(self, ctx: RequestContext, image_id: str, member_id: str) -> Member:
        image, failure = self._shared_image(ctx, image_id, "create")
        self._enforce(ctx, "add_member", image, failure)
        limits = quotas.Limits.from_conf(self.conf)
        attempted = self.repo.count_members(image.id) + 1
        if quotas.over_quota(attempted, limits.members):  # early; add_member re-checks
            raise quotas.members_exceeded(image_id, attempted, limits.members)
        try:
            return self.repo.add_member(Member(image_id=image.id, member_id=member_id),
                                        limits=limits)
        except errors.Duplicate:
            raise errors.Duplicate(
                f"Member {member_id} is duplicated for image {image_id}") from None

    def get(self, ctx: RequestContext, image_id: str, member_id: str) -> Member:
        """One member; every failure, even a refusal, is reported as 404 (no leaks)."""
        try:
            image = self._image(ctx, image_id)
            if image.visibility != "shared":
                raise errors.Forbidden(SHARED_ONLY)
            self._enforce(ctx, "get_member", image,
                          f"You are not authorized to lookup the members of the image "
                          f"{image_id}.")
            return self._lookup(ctx, image, member_id)
        except errors.Forbidden as exc:
            raise errors.NotFound(exc.message) from None

    def update(self, ctx: RequestContext, image_id: str, member_id: str,
               status: str) -> Member:
        """The member project (or an admin) accepts, rejects or resets its membership."""
        image, failure = self._shared_image(ctx, image_id, "update")
        self._enforce(ctx, "get_member", image, failure)
        member = self._lookup(ctx, image, member_id)
        self._enforce(ctx, "modify_member", image, failure)
        if status not in MEMBER_STATUSES:
            raise errors.BadRequest(f"Incorrect request: Invalid status value: {status}")
        member.status = status
        return self.repo.save_member(member)

    def delete(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        """Only the owner (or an admin) removes a member; the member itself gets 403."""
        image, failure = self._shared_image(ctx, image_id, "delete")
        self._enforce(ctx, "get_member", image, failure)
        member = self._lookup(ctx, image, member_id)
        self._enforce(ctx, "delete_member", image, failure)
        self.repo.delete_member(image.id, member.member_id)
