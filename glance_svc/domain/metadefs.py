"""The metadata definitions catalog (spec §3.13): who sees and changes which namespace.

Three gates, in Glance's order. Visibility first: a caller sees public namespaces and its
own project's, an admin sees all; any other namespace (and everything in it) is 404, as
if absent. Then the read rule of the namespace (``get_metadef_namespace``): refused is
404 too. Then the rule of the operation (``add_metadef_object``, ...): refused is 403.
A protected namespace refuses deletes, of itself and of what it holds, with 403.

Every write is one method here and one repository call, and the method sends Glance's
``metadef_*`` notifications (spec part 2 §1.4) once that call succeeded: a refused or
failed write sends nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jsonschema
from oslo_config import cfg

from glance_svc import errors
from glance_svc.domain import events, listing
from glance_svc.domain.images import image_opts
from glance_svc.domain.metadef_repository import (
    NOUNS,
    ItemKind,
    MetadefRepository,
    Record,
    association_message,
    embedded_items,
    full_namespace,
    item_duplicate,
    namespace_not_found,
)
from glance_svc.domain.policy import forbidden_message
from glance_svc.domain.schemas import metadef_schemas

if TYPE_CHECKING:
    from oslo_context.context import RequestContext

    from glance_svc.domain.policy import Enforcer

NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name")
VISIBILITIES = ("public", "private")
# What a client may send back from a GET; Glance ignores these on input.
READ_ONLY = frozenset({"created_at", "updated_at", "self", "schema"})

# Per item kind: its schema and the rules of reading one, listing, adding, changing,
# removing one and removing all. Glance guards "remove all objects/properties" with the
# namespace's delete rule, and tags with their own.
_KIND_RULES: dict[str, dict[str, str]] = {
    "objects": {"schema": "object", "get": "get_metadef_object",
                "list": "get_metadef_objects", "add": "add_metadef_object",
                "modify": "modify_metadef_object", "delete": "delete_metadef_object",
                "delete_all": "delete_metadef_namespace"},
    "properties": {"schema": "property", "get": "get_metadef_property",
                   "list": "get_metadef_properties", "add": "add_metadef_property",
                   "modify": "modify_metadef_property", "delete": "remove_metadef_property",
                   "delete_all": "delete_metadef_namespace"},
    "tags": {"schema": "tag", "get": "get_metadef_tag", "list": "get_metadef_tags",
             "add": "add_metadef_tag", "modify": "modify_metadef_tag",
             "delete": "delete_metadef_tag", "delete_all": "delete_metadef_tags"},
}


# Per item kind: the event family of its notifications and their payload builder.
_ITEM_EVENTS: dict[str, tuple[str, Callable[..., Record]]] = {
    "objects": ("metadef_object", events.object_payload),
    "properties": ("metadef_property", events.property_payload),
    "tags": ("metadef_tag", events.tag_payload),
}


def _item_event(action: str, namespace: str, kind: ItemKind, item: Record, *,
                old_name: str | None = None, deleted: bool = False) -> None:
    """``metadef_object.<action>`` (or property, tag) about ``item``."""
    family, payload = _ITEM_EVENTS[kind]
    events.emit(f"{family}.{action}",
                payload(namespace, item, old_name=old_name, deleted=deleted))


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)  # type: ignore[no-any-return]


def _protected(what: str, name: str) -> errors.Forbidden:
    return errors.Forbidden(
        f"Metadata definition {what} {name} is protected and cannot be deleted.")


class MetadefService:
    """Namespaces, their objects, properties, tags and resource type associations."""

    def __init__(self, conf: cfg.ConfigOpts, repo: MetadefRepository, policy: Enforcer
                 ) -> None:
        conf.register_opts(image_opts)  # limit_param_default, api_limit_max
        self.conf = conf
        self.repo = repo
        self.policy = policy
        self._validators = {kind: _validator(schema)
                            for kind, schema in metadef_schemas().items()}

    # -- gates ------------------------------------------------------------------------------
    def _validate(self, kind: str, body: Any) -> Record:
        """``body`` without its read-only keys, or 400 unless it fits schema ``kind``."""
        if not isinstance(body, dict):
            raise errors.BadRequest("Unexpected body type. Expected dict.")
        body = {k: v for k, v in body.items() if k not in READ_ONLY}
        error = jsonschema.exceptions.best_match(self._validators[kind].iter_errors(body))
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path)
            reason = f"{error.message} (in {where})" if where else error.message
            raise errors.BadRequest(f"Provided object does not match schema '{kind}': "
                                    f"{reason}")
        return body

    @staticmethod
    def _visible(ctx: RequestContext, namespace: Record) -> bool:
        return bool(ctx.is_admin) or namespace["visibility"] == "public" or (
            ctx.project_id is not None and namespace["owner"] == ctx.project_id)

    @staticmethod
    def _target(namespace: Record) -> dict[str, Any]:
        return {"project_id": namespace["owner"], "visibility": namespace["visibility"],
                "namespace": namespace["namespace"]}

    def _namespace(self, ctx: RequestContext, name: str, rule: str | None = None) -> Record:
        """The namespace if the caller may see it (else 404) and, with ``rule``, may
        also do that to it (else 403)."""
        namespace = self.repo.get_namespace(name)
        target = self._target(namespace)
        if not self._visible(ctx, namespace) or not self.policy.check(
                ctx, "get_metadef_namespace", target):
            raise errors.NotFound(namespace_not_found(name))
        if rule is not None:
            self.policy.enforce(ctx, rule, target)
            self._owner_check(ctx, namespace, rule)
        return namespace

    def _owner_check(self, ctx: RequestContext, namespace: Record, rule: str) -> None:
        """Glance's database layer lets only the owner (or an admin) change a namespace,
        whatever the policy says; that matters once an operator opens the write rules."""
        if rule.startswith("get_") or ctx.is_admin:
            return
        if namespace["owner"] != ctx.project_id:
            raise errors.Forbidden(forbidden_message(rule))

    # -- namespaces ---------------------------------------------------------------------
    def list_namespaces(self, ctx: RequestContext, params: list[tuple[str, str]]
                        ) -> tuple[list[Record], str | None]:
        """One page of the namespaces the caller sees, and the marker of the next page."""
        self.policy.enforce(ctx, "get_metadef_namespaces", {"project_id": ctx.project_id})
        query = dict(params)
        limit = listing.parse_limit(query.get("limit"), self.conf.limit_param_default,
                                    self.conf.api_limit_max)
        sort_key = listing.sort_key(query.get("sort_key", "created_at"), NAMESPACE_SORT_KEYS)
        sort_dir = listing.sort_dir(query.get("sort_dir", "desc"))
        visible = [ns for ns in self.repo.list_namespaces() if self._visible(ctx, ns)]
        allowed = self.policy.check_all(ctx, "get_metadef_namespace",
                                        [self._target(ns) for ns in visible])
        found = [ns for ns, ok in zip(visible, allowed, strict=True)
                 if ok and self._matches(ns, query)]
        found.sort(key=lambda ns: (ns[sort_key] is not None, ns[sort_key] or "",
                                   ns["namespace"]), reverse=sort_dir == "desc")
        marker = query.get("marker")
        if marker is not None:
            names = [ns["namespace"] for ns in found]
            if marker not in names:
                raise errors.BadRequest(f"Invalid marker: namespace {marker} not found.")
            found = found[names.index(marker) + 1:]
        page = found[:limit]
        more = len(found) > limit and limit > 0
        return page, page[-1]["namespace"] if more else None

    @staticmethod
    def _matches(namespace: Record, query: dict[str, str]) -> bool:
        visibility = query.get("visibility")
        if visibility is not None and namespace["visibility"] != visibility:
            return False
        wanted = query.get("resource_types")
        if wanted:
            names = {a["name"] for a in namespace["resource_type_associations"]}
            return bool(names.intersection(listing.split_list(wanted)))
        return True

    def get_namespace(self, ctx: RequestContext, name: str,
                      resource_type: str | None = None) -> Record:
        """The namespace with its contents; with ``resource_type``, property names carry
        the prefix of that association (how Nova and Cinder name them)."""
        self._namespace(ctx, name)
        document = full_namespace(self.repo, name)
        prefix = next((a["prefix"] for a in document["resource_type_associations"]
                       if a["name"] == resource_type), None)
        return _prefixed(document, prefix) if prefix else document

    def create_namespace(self, ctx: RequestContext, body: Any) -> Record:
        document = self._namespace_fields(ctx, self._validate("namespace", body))
        self.policy.enforce(ctx, "add_metadef_namespace", self._target(document))
        self._validate_embedded(document)
        for kind in ("objects", "tags"):
            self._refuse_repeats(kind, document["namespace"], document.get(kind) or [])
        self._refuse_repeats_of(
            [a["name"] for a in document.get("resource_type_associations") or []],
            lambda n: association_message(n, document["namespace"], "already exists"))
        self.repo.create_namespace(document)
        created = full_namespace(self.repo, document["namespace"])
        self._announce_created(created)
        return created

    @staticmethod
    def _announce_created(document: Record) -> None:
        """The events of a namespace POST, in Glance's order: the namespace, then one
        ``create`` per embedded association, object, tag and property."""
        name = document["namespace"]
        events.emit("metadef_namespace.create", events.namespace_payload(document))
        for association in document["resource_type_associations"]:
            events.emit("metadef_resource_type.create",
                        events.resource_type_payload(name, association))
        items = embedded_items(document)
        for kind in ("objects", "tags", "properties"):
            for item in items[kind]:
                _item_event("create", name, kind, item)

    def _validate_embedded(self, document: Record) -> None:
        """Hold what a new namespace embeds to the schema of each item on its own (the
        namespace schema leaves their names optional and unbounded); replace each by its
        checked form."""
        for key, schema in (("objects", "object"), ("tags", "tag"),
                            ("resource_type_associations", "resource_type")):
            if key in document:
                document[key] = [self._validate(schema, item) for item in document[key]]
        if "properties" in document:
            document["properties"] = {
                name: {k: v for k, v in self._validate(
                    "property", {**definition, "name": name}).items() if k != "name"}
                for name, definition in document["properties"].items()}

    @staticmethod
    def _namespace_fields(ctx: RequestContext, body: Record) -> Record:
        """Glance's defaults for what a POST or PUT leaves out: private, unprotected,
        owned by the caller's project."""
        owner = body.get("owner") or ctx.project_id
        if owner is None:
            raise errors.BadRequest("A namespace needs an owner: give 'owner', or call "
                                    "with a project-scoped token.")
        return {**body, "visibility": body.get("visibility") or "private",
                "protected": bool(body.get("protected")), "owner": owner}

    def update_namespace(self, ctx: RequestContext, name: str, body: Any) -> Record:
        """PUT replaces the namespace's own fields; its contents stay."""
        namespace = self._namespace(ctx, name, "modify_metadef_namespace")
        fields = self._namespace_fields(ctx, self._validate("namespace", body))
        for key in ("resource_type_associations", "properties", "objects", "tags"):
            fields.pop(key, None)
        if fields["owner"] != namespace["owner"] or (
                fields["visibility"] != namespace["visibility"]):
            self.policy.enforce(ctx, "modify_metadef_namespace", self._target(fields))
        fields.setdefault("display_name", None)
        fields.setdefault("description", None)
        self.repo.update_namespace(name, fields)
        updated = full_namespace(self.repo, fields["namespace"])
        events.emit("metadef_namespace.update",
                    events.namespace_payload(updated, old_name=name))
        return updated

    def delete_namespace(self, ctx: RequestContext, name: str) -> None:
        namespace = self._namespace(ctx, name, "delete_metadef_namespace")
        if namespace["protected"]:
            raise _protected("namespace", name)
        self.repo.delete_namespace(name)
        events.emit("metadef_namespace.delete",
                    events.namespace_payload(namespace, deleted=True))

    # -- objects, properties, tags ------------------------------------------------------
    def list_items(self, ctx: RequestContext, namespace: str, kind: ItemKind) -> list[Record]:
        self._namespace(ctx, namespace, _KIND_RULES[kind]["list"])
        return self.repo.list_items(namespace, kind)

    def get_item(self, ctx: RequestContext, namespace: str, kind: ItemKind, name: str,
                 resource_type: str | None = None) -> Record:
        """One item; a property asked for with ``resource_type`` may be named with the
        prefix of that association, which is taken off to find it."""
        ns = self._namespace(ctx, namespace, _KIND_RULES[kind]["get"])
        prefix = next((a["prefix"] for a in ns["resource_type_associations"]
                       if a["name"] == resource_type), None)
        if kind == "properties" and prefix and name.startswith(prefix):
            found = self.repo.get_item(namespace, kind, name[len(prefix):])
            return {**found, "name": name}
        return self.repo.get_item(namespace, kind, name)

    def create_item(self, ctx: RequestContext, namespace: str, kind: ItemKind, body: Any
                    ) -> Record:
        self._namespace(ctx, namespace, _KIND_RULES[kind]["add"])
        item = self._validate(_KIND_RULES[kind]["schema"], body)
        [created] = self.repo.create_items(namespace, kind, [item])
        _item_event("create", namespace, kind, created)
        return created

    def create_tags(self, ctx: RequestContext, namespace: str, body: Any, *, append: bool
                    ) -> list[Record]:
        """The batch of tags in ``body``; without ``append`` they replace every tag."""
        self._namespace(ctx, namespace, "add_metadef_tags")
        if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
            raise errors.BadRequest('Expected tags in the form {"tags": [{"name": "..."}]}')
        tags = [self._validate("tag", tag) for tag in body["tags"]]
        self._refuse_repeats("tags", namespace, tags)
        created = self.repo.create_items(namespace, "tags", tags, replace=not append)
        for tag in created:  # one create each; tags replaced send no delete (Glance)
            _item_event("create", namespace, "tags", tag)
        return created

    def update_item(self, ctx: RequestContext, namespace: str, kind: ItemKind, name: str,
                    body: Any) -> Record:
        """PUT replaces the item (and may rename it)."""
        self._namespace(ctx, namespace, _KIND_RULES[kind]["modify"])
        item = self._validate(_KIND_RULES[kind]["schema"], body)
        updated = self.repo.update_item(namespace, kind, name, item)
        _item_event("update", namespace, kind, updated, old_name=name)
        return updated

    def delete_item(self, ctx: RequestContext, namespace: str, kind: ItemKind, name: str
                    ) -> None:
        ns = self._namespace(ctx, namespace, _KIND_RULES[kind]["delete"])
        if ns["protected"]:
            raise _protected(NOUNS[kind], name)
        item = self.repo.get_item(namespace, kind, name)  # what the event describes
        self.repo.delete_items(namespace, kind, name)
        _item_event("delete", namespace, kind, item, deleted=True)

    def delete_items(self, ctx: RequestContext, namespace: str, kind: ItemKind) -> None:
        """Every object, property or tag of the namespace."""
        ns = self._namespace(ctx, namespace, _KIND_RULES[kind]["delete_all"])
        if ns["protected"]:
            raise _protected("namespace", namespace)
        self.repo.delete_items(namespace, kind)
        events.emit(f"metadef_namespace.delete_{kind}", events.namespace_payload(ns))

    @classmethod
    def _refuse_repeats(cls, kind: ItemKind, namespace: str, items: list[Record]) -> None:
        cls._refuse_repeats_of([item["name"] for item in items],
                               lambda n: item_duplicate(kind, n, namespace))

    @staticmethod
    def _refuse_repeats_of(names: list[str], message: Callable[[str], str]) -> None:
        """409 when one request names the same thing twice, before anything is stored."""
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise errors.Duplicate(message(name))
            seen.add(name)

    # -- resource types -----------------------------------------------------------------
    def list_resource_types(self, ctx: RequestContext) -> list[Record]:
        self.policy.enforce(ctx, "list_metadef_resource_types",
                            {"project_id": ctx.project_id})
        return self.repo.list_resource_types()

    def list_associations(self, ctx: RequestContext, namespace: str) -> list[Record]:
        ns = self._namespace(ctx, namespace, "get_metadef_resource_type")
        return ns["resource_type_associations"]  # type: ignore[no-any-return]

    def add_association(self, ctx: RequestContext, namespace: str, body: Any) -> Record:
        self._namespace(ctx, namespace, "add_metadef_resource_type_association")
        association = self._validate("resource_type", body)
        added = self.repo.add_association(namespace, association)
        events.emit("metadef_resource_type.create",
                    events.resource_type_payload(namespace, added))
        return added

    def remove_association(self, ctx: RequestContext, namespace: str, resource_type: str
                           ) -> None:
        ns = self._namespace(ctx, namespace, "remove_metadef_resource_type_association")
        if ns["protected"]:
            raise _protected("resource-type-association", resource_type)
        self.repo.remove_association(namespace, resource_type)
        association = next((a for a in ns["resource_type_associations"]
                            if a["name"] == resource_type), {"name": resource_type})
        events.emit("metadef_resource_type.delete",
                    events.resource_type_payload(namespace, association, deleted=True))


def _prefixed(document: Record, prefix: str) -> Record:
    """``document`` with ``prefix`` before every property name, also inside objects."""
    out = copy.deepcopy(document)
    out["properties"] = {prefix + k: v for k, v in out["properties"].items()}
    for obj in out["objects"]:
        obj["properties"] = {prefix + k: v for k, v in (obj["properties"] or {}).items()}
        obj["required"] = [prefix + name for name in obj["required"] or []]
    return out
