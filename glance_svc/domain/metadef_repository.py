"""The metadef repository port: where the metadata definitions catalog lives.

Like ``ImageRepository``, the domain owns this interface and ``db`` (SQL) and ``registry``
(the same calls over HTTP) implement it. Records travel as plain JSON-shaped dicts in
Glance's own catalog format (the one of ``etc/metadefs/*.json`` and of the API bodies),
so one shape serves the API, ``glance-manage db load_metadefs`` / ``export_metadefs`` and
the registry wire:

- namespace: ``namespace, display_name, description, visibility, protected, owner,
  created_at, updated_at, resource_type_associations``;
- association: ``name, prefix, properties_target, created_at, updated_at``;
- object (kind ``objects``): ``name, description, required, properties, created_at,
  updated_at``;
- property (kind ``properties``): ``name`` and the keys of its JSON-schema definition;
- tag (kind ``tags``): ``name, created_at, updated_at``.

Who may see or change what is the domain's job (``glance_svc.domain.metadefs``); the
repository only stores, and raises ``errors.NotFound`` / ``errors.Duplicate`` with
Glance's messages.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

Record = dict[str, Any]
ItemKind = Literal["objects", "properties", "tags"]
ITEM_KINDS: tuple[ItemKind, ...] = ("objects", "properties", "tags")


# The singular of each item kind, as messages name it.
NOUNS = {"objects": "object", "properties": "property", "tags": "tag"}


# Glance's messages: clients and operators read them.
def namespace_not_found(namespace: str) -> str:
    return f"Metadata definition namespace={namespace} was not found."


def namespace_duplicate(namespace: str) -> str:
    return f"The metadata definition namespace={namespace} already exists."


def association_message(resource_type: str, namespace: str, outcome: str) -> str:
    """``outcome``: "already exists" or "was not found"."""
    return (f"The metadata definition resource-type association of resource-type="
            f"{resource_type} to namespace={namespace}, {outcome}.")


def item_not_found(kind: ItemKind, name: str, namespace: str) -> str:
    return (f"The metadata definition {NOUNS[kind]} with name={name} was not found in "
            f"namespace={namespace}.")


def item_duplicate(kind: ItemKind, name: str, namespace: str) -> str:
    if kind == "tags":
        return f"A metadata tag with name={name} already exists in namespace={namespace}."
    return (f"A metadata definition {NOUNS[kind]} with name={name} already exists in "
            f"namespace={namespace}.")


class MetadefRepository(Protocol):
    """Namespaces, their objects, properties and tags, and resource types."""

    # --- namespaces -------------------------------------------------------------------
    def list_namespaces(self) -> list[Record]:
        """Every namespace with its resource type associations, oldest first.

        The catalog holds dozens of namespaces, not millions: the domain filters and
        pages the whole list, which keeps one visibility rule in one place.
        """

    def get_namespace(self, namespace: str) -> Record:
        """The namespace with its associations, or ``errors.NotFound``."""

    def create_namespace(self, document: Record, *, create_resource_types: bool = False
                         ) -> Record:
        """Insert a namespace with whatever objects, properties, tags and associations
        ``document`` embeds, in one transaction; return the namespace as ``get_namespace``.

        ``errors.Duplicate`` if the name (or an embedded item) is taken, ``errors.NotFound``
        if an embedded association names an unknown resource type, unless
        ``create_resource_types`` asks to create them (the loader does).
        """

    def update_namespace(self, namespace: str, values: Record) -> Record:
        """Change the namespace's own fields (possibly its name); ``errors.Duplicate``
        when the new name is taken."""

    def delete_namespace(self, namespace: str) -> None:
        """Remove the namespace and everything in it."""

    # --- objects, properties, tags ----------------------------------------------------
    def list_items(self, namespace: str, kind: ItemKind) -> list[Record]:
        """The namespace's items of ``kind``, by name."""

    def get_item(self, namespace: str, kind: ItemKind, name: str) -> Record:
        """One item, or ``errors.NotFound`` naming the item and the namespace."""

    def create_items(self, namespace: str, kind: ItemKind, items: list[Record], *,
                     replace: bool = False) -> list[Record]:
        """Insert ``items`` (with ``replace``, after removing every item of ``kind``) in one
        transaction; ``errors.Duplicate`` and nothing stored if a name is taken."""

    def update_item(self, namespace: str, kind: ItemKind, name: str, item: Record) -> Record:
        """Replace the item ``name`` by ``item`` (which may rename it)."""

    def delete_items(self, namespace: str, kind: ItemKind, name: str | None = None) -> None:
        """Remove the item ``name`` (``errors.NotFound`` if absent), or with no name every
        item of ``kind``."""

    # --- resource types ---------------------------------------------------------------
    def list_resource_types(self) -> list[Record]:
        """Every resource type: ``name, created_at, updated_at``, by name."""

    def add_association(self, namespace: str, association: Record, *,
                        create_resource_type: bool = False) -> Record:
        """Associate the resource type ``association["name"]`` with the namespace;
        ``errors.Duplicate`` if it already is. The resource type must exist
        (``errors.NotFound``) unless ``create_resource_type`` (the loader's merge)."""

    def remove_association(self, namespace: str, resource_type: str) -> None:
        """``errors.NotFound`` if the namespace is not associated with it."""


def embedded_items(document: Record) -> dict[ItemKind, list[Record]]:
    """The items a namespace document holds; its properties are a dict by name."""
    return {
        "properties": [{"name": name, **definition} for name, definition in
                       (document.get("properties") or {}).items()],
        "objects": document.get("objects") or [],
        "tags": document.get("tags") or [],
    }


def full_namespace(repo: MetadefRepository, namespace: str) -> Record:
    """The namespace with everything in it, in the catalog file format: what
    ``GET /v2/metadefs/namespaces/{ns}`` shows and ``export_metadefs`` writes."""
    document = repo.get_namespace(namespace)
    document["properties"] = {
        p["name"]: {k: v for k, v in p.items() if k != "name"}
        for p in repo.list_items(namespace, "properties")}
    document["objects"] = repo.list_items(namespace, "objects")
    document["tags"] = repo.list_items(namespace, "tags")
    return document
