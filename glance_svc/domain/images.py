"""The image service: create, show, list, update, delete, deactivate, tags.

Every image-scoped call starts with ``get``, which hides what the caller may not see
(404, never 403: spec §8.4); the specific rule is checked next with ``enforce`` (403).
Both come from ``access``, which the service extends. The service knows nothing of HTTP:
it takes plain values and raises ``glance_svc.errors``. Members live in
``glance_svc.domain.members``, location edits in ``image_locations``, PATCH parsing in
``image_patch``, list parsing in ``listing``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import listing
from glance_svc.domain.access import ImageAccess
from glance_svc.domain.image import (
    ACTIVE,
    API_VIEWS,
    DEACTIVATED,
    DELETED,
    PENDING_DELETE,
    QUEUED,
    RESERVED,
    RESERVED_PREFIX,
    SERVICE_SET,
    Image,
)
from glance_svc.domain.image_locations import LocationEditor
from glance_svc.domain.image_patch import Change
from glance_svc.domain.policy import forbidden_message
from glance_svc.domain.property_protections import PropertyProtections
from glance_svc.domain.quotas import Limits
from glance_svc.domain.schemas import Schemas

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.repository import ImageRepository
    from glance_svc.domain.stage_forwarding import StageForwarding

LOG = logging.getLogger(__name__)
T = TypeVar("T")

image_opts = [
    cfg.IntOpt("limit_param_default", default=25, min=1,
               help="Page size of image lists when the client gives no limit."),
    cfg.IntOpt("api_limit_max", default=1000, min=1,
               help="Largest page a client may ask for; larger limits are cut to this."),
    cfg.BoolOpt("show_image_direct_url", default=False,
                help="Show the first location of an image as 'direct_url'."),
    cfg.BoolOpt("show_multiple_locations", default=False,
                help="Show and allow editing of the 'locations' of an image."),
    cfg.BoolOpt("delayed_delete", default=False,
                help="Deleting an image with data moves it to pending_delete and leaves "
                     "the data for glance-scrubber to remove after scrub_time."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, image_opts)]


# Base attributes a client may write (create and PATCH); everything else it sends is a
# custom property, unless read-only or reserved.
WRITABLE = ("name", "visibility", "protected", "os_hidden", "min_ram", "min_disk",
            "disk_format", "container_format", "owner", "tags")
# Refused on create as reserved (API_VIEWS are refused before the body is even validated,
# Glance's "disallowed"; SERVICE_SET after it, as read-only).
CREATE_RESERVED = (*RESERVED, "locations")
FORMAT_MUTABLE_STATUSES = (QUEUED, "importing")
SAVE_ATTEMPTS = 3


def _retry_on_stale(func: Callable[..., T]) -> Callable[..., T]:
    """Re-run a read-modify-save when another request changed the status meanwhile.

    Each attempt re-reads the image, so the compare-and-set save never writes back a
    status, size or checksum that an upload changed in between.
    """
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        for _attempt in range(SAVE_ATTEMPTS - 1):
            try:
                return func(*args, **kwargs)
            except errors.StaleStatus:
                LOG.debug("Image changed during %s; retrying", func.__name__)
        return func(*args, **kwargs)
    return wrapper


class ImageService(ImageAccess):
    """Image metadata operations, with visibility, policy and quotas applied."""

    def __init__(self, conf: cfg.ConfigOpts, repo: ImageRepository, policy: Enforcer,
                 stores: Any, *, forwarding: StageForwarding | None = None) -> None:
        """``forwarding``: sends a delete to the worker holding the staged data."""
        super().__init__(repo, policy)
        self.forwarding = forwarding
        self.conf = conf
        self.stores = stores
        self.schemas = Schemas(conf)
        self.protections = PropertyProtections.from_conf(conf, policy)

    def readable(self, ctx: RequestContext) -> Callable[[str], bool] | None:
        """Which custom properties this request may see (None: all of them)."""
        return self.protections.reader(ctx) if self.protections is not None else None

    def _protect(self, ctx: RequestContext, name: str, action: str) -> None:
        if self.protections is not None:
            self.protections.require(ctx, name, action)

    def _has_property(self, ctx: RequestContext, image: Image, name: str) -> bool:
        """Whether the image has this custom property as far as this request can tell."""
        if name not in image.properties:
            return False
        return self.protections is None or self.protections.allows(ctx, name, "read")

    def locations_shown(self, ctx: RequestContext, images: Sequence[Image]) -> list[bool]:
        """Per image, whether the caller may see where its data is (``locations``,
        ``direct_url``, ``stores``): the ``get_image_location`` rule, as Glance's views
        apply it, and never a deactivated image's for a non-admin (it would bypass the
        download block). One policy decision per distinct owner, not per image.
        """
        shows_any = (self.conf.show_multiple_locations or self.conf.show_image_direct_url
                     or getattr(self.stores, "multi_store", False))
        if not shows_any:  # nothing to hide: spare a list the policy targets
            return [False] * len(images)
        allowed = self.policy.check_all(ctx, "get_image_location",
                                        [self.policy_target(ctx, image) for image in images])
        return [ok and (image.status != DEACTIVATED or bool(ctx.is_admin))
                for image, ok in zip(images, allowed, strict=True)]

    def _enforce_visibility(self, ctx: RequestContext, visibility: Any,
                            target: dict[str, Any]) -> None:
        rule = {"public": "publicize_image", "community": "communitize_image"}.get(visibility)
        if rule is not None:
            self.policy.enforce(ctx, rule, target)

    # -- create ------------------------------------------------------------------------
    def create(self, ctx: RequestContext, body: dict[str, Any]) -> Image:
        """A new ``queued`` image from a POST body (spec §3.3)."""
        for key in API_VIEWS:
            if key in body:
                raise errors.Forbidden(f"Attribute '{key}' is read-only.")
        self.schemas.validate_image(body)
        extra = dict(body)
        tags = extra.pop("tags", [])
        image_id = extra.pop("id", None)
        base = {key: extra.pop(key) for key in WRITABLE if key in extra}
        read_only = [key for key in SERVICE_SET if key in extra]
        for key in extra:
            if len(key) > 255:
                raise errors.BadRequest(
                    "Custom property should not be greater than 255 characters.")
            if key in CREATE_RESERVED or key.startswith(RESERVED_PREFIX):
                raise errors.Forbidden(f"Attribute '{key}' is reserved.")
        if read_only:
            raise errors.Forbidden(f"Attribute '{read_only[0]}' is read-only.")
        for key in extra:
            self._protect(ctx, key, "create")

        owner = base.get("owner", ctx.project_id)
        target = {"project_id": owner, "owner": owner,
                  "visibility": base.get("visibility", "private")}
        if not self.policy.check(ctx, "add_image", target):
            if owner != ctx.project_id:
                raise errors.Forbidden(
                    f"You are not permitted to create images owned by '{owner}'.")
            raise errors.Forbidden(forbidden_message("add_image"))
        self._enforce_visibility(ctx, target["visibility"], target)
        if self.policy.legacy_defaults and not ctx.is_admin and owner != ctx.project_id:
            raise errors.Forbidden(f"You are not permitted to create images owned by '{owner}'.")
        if owner is None and not ctx.is_admin:
            # An image without an owner is seen by every project; only admins make them
            # (the no-auth pipeline does). The legacy rules alone would let this through.
            raise errors.Forbidden(forbidden_message("add_image"))

        for key in ("min_ram", "min_disk"):
            _check_not_negative(key, base.get(key))
        image = Image(
            name=base.get("name"),
            visibility=base.get("visibility", "shared"),
            protected=base.get("protected", False),
            os_hidden=base.get("os_hidden", False),
            min_ram=base.get("min_ram", 0),
            min_disk=base.get("min_disk", 0),
            disk_format=base.get("disk_format"),
            container_format=base.get("container_format"),
            owner=owner,
            properties={k: _as_property(v) for k, v in extra.items() if v is not None},
            tags=set(tags),
        )
        if image_id is not None:
            image.id = image_id
        Limits.from_conf(self.conf).check_image(image, properties=True, tags=True)
        try:
            return self.repo.create(image)
        except errors.Duplicate:
            raise errors.Duplicate(f"Image ID {image.id} already exists!") from None

    # -- list ------------------------------------------------------------------------------
    def list(self, ctx: RequestContext, params: Sequence[tuple[str, str]]
             ) -> tuple[list[Image], str | None]:
        """One page of images and the marker of the next page (None: last page).

        There is a next page whenever the repository filled the page, even if the policy
        then hid some of its images (as Glance: the next page may be empty).
        """
        query = listing.parse_image_query(
            params, project_id=ctx.project_id, is_admin=bool(ctx.is_admin),
            limit_default=self.conf.limit_param_default, limit_max=self.conf.api_limit_max)
        self.policy.enforce(ctx, "get_images", {"project_id": ctx.project_id})
        if self.protections is not None and any(
                not self.protections.allows(ctx, key, "read") for key in query.properties):
            return [], None  # a filter on a property the caller cannot see matches nothing
        rows = self.repo.list(query)
        allowed = self.policy.check_all(ctx, "get_image",
                                        [self.policy_target(ctx, image) for image in rows])
        images = [image for image, ok in zip(rows, allowed, strict=True) if ok]
        next_marker = images[-1].id if images and len(rows) == query.limit else None
        return images, next_marker

    # -- update ------------------------------------------------------------------------------
    @_retry_on_stale
    def update(self, ctx: RequestContext, image_id: str, changes: Sequence[Change]) -> Image:
        """Apply PATCH operations in order, then save once (spec §3.4)."""
        image = self.get(ctx, image_id)
        if not changes:
            return image
        locations = LocationEditor(self.conf, self.stores,
                                   lambda rule: self.enforce(ctx, rule, image), image)
        previous = image.status
        had_properties = set(image.properties)
        had_tags = set(image.tags)
        for change in changes:
            if change.name == "locations":
                locations.apply(change)
            elif change.op == "replace":
                self._replace(ctx, image, change)
            elif change.op == "add":
                self._add(ctx, image, change)
            else:
                self._remove(ctx, image, change)
        # Refused early here; the repository checks again after its write, which is
        # what holds when parallel requests add at the same time.
        limits = Limits.from_conf(self.conf)
        limits.check_image(image, properties=bool(set(image.properties) - had_properties),
                           tags=image.tags != had_tags)
        saved = self.repo.save(image, from_status=previous, limits=limits)
        locations.after_save()
        return saved

    def _update_property(self, ctx: RequestContext, image: Image, name: str,
                         value: Any = None) -> None:
        """Policy for changing one attribute: visibility rules first, then modify_image."""
        if name == "visibility":
            self._enforce_visibility(ctx, value, self.policy_target(ctx, image))
        self.enforce(ctx, "modify_image", image)

    def _replace(self, ctx: RequestContext, image: Image, change: Change) -> None:
        if change.name == "owner" and not ctx.is_admin:
            raise errors.Forbidden("Owner can't be updated by non admin.")
        self._update_property(ctx, image, change.name, change.value)
        if change.name in WRITABLE:
            self._set_base(image, change.name, change.value)
        elif self._has_property(ctx, image, change.name):
            self._protect(ctx, change.name, "update")
            self._set_property(image, change.name, change.value)
        else:
            raise errors.Conflict(f"Property {change.name} does not exist.")

    def _add(self, ctx: RequestContext, image: Image, change: Change) -> None:
        self._update_property(ctx, image, change.name, change.value)
        exists = change.name in WRITABLE or self._has_property(ctx, image, change.name)
        if exists and change.draft == 4:
            raise errors.Conflict(f"Property {change.name} already present.")
        if change.name in WRITABLE:
            self._set_base(image, change.name, change.value)
        else:
            self._protect(ctx, change.name, "update" if exists else "create")
            self._set_property(image, change.name, change.value)

    def _remove(self, ctx: RequestContext, image: Image, change: Change) -> None:
        self._update_property(ctx, image, change.name)
        if change.name in WRITABLE:
            raise errors.Forbidden(f"Property {change.name} may not be removed.")
        if not self._has_property(ctx, image, change.name):
            raise errors.Conflict(f"Property {change.name} does not exist.")
        self._protect(ctx, change.name, "delete")
        del image.properties[change.name]

    @staticmethod
    def _set_base(image: Image, name: str, value: Any) -> None:
        if name in ("disk_format", "container_format") \
                and image.status not in FORMAT_MUTABLE_STATUSES:
            raise errors.Forbidden(
                f"Attribute {name} can be only replaced for a queued image.")
        if name in ("min_ram", "min_disk"):
            _check_not_negative(name, value)
        if name == "tags":
            value = set(value)
        setattr(image, name, value)

    @staticmethod
    def _set_property(image: Image, name: str, value: Any) -> None:
        if len(name) > 255:
            raise errors.BadRequest("Custom property should not be greater than 255 "
                                    "characters.")
        if value is None:  # a nullable schema-image.json property set to null: unset it
            image.properties.pop(name, None)
        else:
            image.properties[name] = _as_property(value)

    # -- delete ------------------------------------------------------------------------------
    @_retry_on_stale
    def delete(self, ctx: RequestContext, image_id: str) -> None:
        """Delete an image and (unless delayed) its data (spec §3.5, §5.3).

        The data goes first, synchronously: if a store refuses (in use, timeout) the
        image stays as it was. With ``delayed_delete`` an image with data only moves to
        ``pending_delete`` and the scrubber removes the data later. An image whose staged
        data (or location hash) is on another worker is deleted there (``forwarding``).
        """
        try:
            image = self.get(ctx, image_id)
        except errors.NotFound:
            raise errors.NotFound(f"Failed to find image {image_id} to delete") from None
        self.enforce(ctx, "delete_image", image)
        if self.forwarding is not None and self.forwarding.delete_elsewhere(ctx, image):
            return
        if image.protected:
            raise errors.Forbidden(f"Image {image.id} is protected and cannot be deleted.")
        active = image.active_locations
        delayed = bool(self.conf.delayed_delete and active)
        try:
            previous = image.transition(PENDING_DELETE if delayed else DELETED)
        except errors.InvalidStatusTransition as exc:
            raise errors.BadRequest(exc.message) from None
        if self.stores is not None:
            self.stores.delete_staged(image.id)
        for location in active:
            if not delayed:
                self.stores.delete(location)
            location.status = PENDING_DELETE if delayed else DELETED
        self.repo.mark_deleted(image, status=image.status, from_status=previous)

    # -- deactivate / reactivate ---------------------------------------------------------------
    def deactivate(self, ctx: RequestContext, image_id: str) -> None:
        """active -> deactivated; already deactivated is a no-op; anything else 403."""
        self._toggle(ctx, image_id, "deactivate", ACTIVE, DEACTIVATED)

    def reactivate(self, ctx: RequestContext, image_id: str) -> None:
        """deactivated -> active; already active is a no-op; anything else 403."""
        self._toggle(ctx, image_id, "reactivate", DEACTIVATED, ACTIVE)

    def _toggle(self, ctx: RequestContext, image_id: str, rule: str, source: str,
                destination: str) -> None:
        image = self.get(ctx, image_id)
        self.enforce(ctx, rule, image)
        if image.status == destination:
            return
        if image.status != source:
            raise errors.Forbidden(f"Not allowed to {rule} image in status '{image.status}'")
        previous = image.transition(destination)
        self.repo.save(image, from_status=previous)

    # -- tags ------------------------------------------------------------------------------------
    @_retry_on_stale
    def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        """Add a tag (idempotent); 400 over 255 characters, 413 over the tag quota."""
        self.schemas.validate_image({"tags": [tag]})
        image = self.get(ctx, image_id)
        self.enforce(ctx, "modify_image", image)
        if tag in image.tags:
            return
        image.tags.add(tag)
        limits = Limits.from_conf(self.conf)
        limits.check_image(image, tags=True)
        self.repo.save(image, from_status=image.status, limits=limits)

    @_retry_on_stale
    def delete_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        """Remove a tag; 404 if the image does not carry it."""
        image = self.get(ctx, image_id)
        self.enforce(ctx, "modify_image", image)
        if tag not in image.tags:
            raise errors.NotFound(f"Tag {tag} not found.")
        image.tags.discard(tag)
        self.repo.save(image, from_status=image.status)


def _check_not_negative(name: str, value: Any) -> None:
    if value is not None and value < 0:
        raise errors.BadRequest(
            f"Invalid value '{value}' for parameter '{name}': Cannot be a negative value")


def _as_property(value: Any) -> str:
    """Custom properties are strings; schema-image.json may type a few otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
