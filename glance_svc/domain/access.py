"""Who may see an image and act on it: visibility, policy targets, the owner check.

Every image-scoped service call starts here: ``get`` hides what the caller may not see
(404, never 403: spec §8.4) and ``enforce`` checks the specific rule next (403). Members,
locations and data need only this, not the image service, so it is its own small class
that ``ImageService`` extends and the composition root hands to the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from glance_svc import errors
from glance_svc.domain.image import Image
from glance_svc.domain.policy import forbidden_message

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository

# Rules that, under the legacy defaults, Glance also limits to admins and the owner.
OWNER_ONLY_RULES = frozenset({"modify_image", "delete_image", "upload_image", "deactivate",
                              "reactivate", "delete_image_location"})


class ImageAccess:
    """Visibility and policy checks over one repository and one policy enforcer."""

    def __init__(self, repo: ImageRepository, policy: Enforcer) -> None:
        self.repo = repo
        self.policy = policy

    def policy_target(self, ctx: RequestContext, image: Image) -> dict[str, Any]:
        """What policy rules see of an image (spec §8.1).

        Every attribute and custom property, plus the aliases Glance's check strings use:
        ``project_id`` is the owner; ``member_id`` is the caller's project when the image is
        shared and the caller is not the owner (it can only see it as a member).
        """
        target: dict[str, Any] = dict(image.properties)
        target.update({
            "id": image.id, "image_id": image.id, "name": image.name,
            "status": image.status, "visibility": image.visibility,
            "protected": image.protected, "os_hidden": image.os_hidden,
            "checksum": image.checksum, "os_hash_algo": image.os_hash_algo,
            "os_hash_value": image.os_hash_value, "size": image.size,
            "virtual_size": image.virtual_size, "min_disk": image.min_disk,
            "min_ram": image.min_ram, "disk_format": image.disk_format,
            "container_format": image.container_format, "owner": image.owner,
            "created_at": image.created_at, "updated_at": image.updated_at,
            "tags": sorted(image.tags), "project_id": image.owner,
        })
        shared_member = image.visibility == "shared" and ctx.project_id != image.owner
        target["member_id"] = ctx.project_id if shared_member else None
        return target

    def is_visible(self, ctx: RequestContext, image: Image) -> bool:
        """The database-level rule of who may see an image at all (spec §4.2)."""
        if ctx.is_admin or image.owner is None or image.visibility in ("public", "community"):
            return True
        if ctx.project_id is None:
            return False
        if ctx.project_id == image.owner:
            return True
        if image.visibility != "shared":
            return False
        try:
            self.repo.get_member(image.id, ctx.project_id)
        except errors.NotFound:
            return False
        return True

    def get(self, ctx: RequestContext, image_id: str) -> Image:
        """The image, or 404 when it does not exist or the caller may not see it."""
        try:
            image = self.repo.get(image_id)
        except errors.NotFound:
            raise errors.NotFound(f"No image found with ID {image_id}") from None
        if not self.is_visible(ctx, image) or not self.policy.check(
                ctx, "get_image", self.policy_target(ctx, image)):
            raise errors.NotFound(f"No image found with ID {image_id}")
        return image

    def enforce(self, ctx: RequestContext, rule: str, image: Image) -> None:
        """403 unless ``rule`` allows the caller on ``image``; 404 if it cannot even see it.

        Under the legacy defaults the mutating rules also require admin or owner, as
        Glance hard-codes them.
        """
        target = self.policy_target(ctx, image)
        if not self.policy.check(ctx, rule, target):
            if rule == "get_image" or not self.policy.check(ctx, "get_image", target):
                raise errors.NotFound(f"No image found with ID {image.id}")
            raise errors.Forbidden(forbidden_message(rule))
        if rule in OWNER_ONLY_RULES and self.policy.legacy_defaults:
            self.check_owner(ctx, image)

    @staticmethod
    def check_owner(ctx: RequestContext, image: Image) -> None:
        if ctx.is_admin:
            return
        if image.owner is None or ctx.project_id is None or image.owner != ctx.project_id:
            raise errors.Forbidden("You do not own this image")
