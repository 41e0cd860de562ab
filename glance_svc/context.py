"""The request context: who is calling, from which project, with which roles."""

from __future__ import annotations

from oslo_context import context


class RequestContext(context.RequestContext):
    """An oslo.context with the two Glance specifics: lower-cased roles and an owner.

    ``owner`` is the project that new images belong to (``None`` for the unauthenticated
    context, whose images are then visible to everyone, as in Glance).
    """

    def __init__(self, **kwargs: object) -> None:
        roles = kwargs.pop("roles", None) or []
        kwargs["roles"] = [str(r).strip().lower() for r in roles if str(r).strip()]
        super().__init__(**kwargs)

    @property
    def owner(self) -> str | None:
        return self.project_id

    @classmethod
    def admin(cls, **kwargs: object) -> RequestContext:
        """A context with full rights, for the unauthenticated pipeline and the tools."""
        kwargs.setdefault("roles", ["admin", "member", "reader"])
        return cls(is_admin=True, **kwargs)
