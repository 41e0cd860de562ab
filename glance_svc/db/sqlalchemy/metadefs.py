"""Seed, empty and export the metadata definitions catalog (``glance-manage db
load_metadefs``, ``unload_metadefs``, ``export_metadefs``).

The files use Glance's metadef format (namespace, display_name, description, visibility,
protected, resource_type_associations, properties, objects, tags), so catalogs written for
Glance load too. A namespace already in the database is left alone: loading twice, or
after an operator edited the catalog through the API, changes nothing. Every write goes
through ``SqlMetadefRepository``, the repository the API serves the catalog from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

from glance_svc import errors
from glance_svc.db.sqlalchemy.metadef_catalog import NAMESPACE_FIELDS, SqlMetadefRepository
from glance_svc.domain.metadef_repository import Record, embedded_items, full_namespace

PACKAGED_DIR = Path(__file__).resolve().parents[2] / "metadefs"
# Loaded namespaces belong to no project: Glance's loader names the owner "admin".
DEFAULT_OWNER = "admin"
_TIMESTAMPS = ("created_at", "updated_at")


class MetadefError(ValueError):
    """A metadef file cannot be loaded; the message names the file and the problem."""


@dataclasses.dataclass
class LoadReport:
    loaded: list[str] = dataclasses.field(default_factory=list)
    merged: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class LoadMode:
    """What happens to a namespace the database already has (Glance's three flags).

    ``merge``: add the file's objects, properties, tags and associations it lacks;
    ``prefer_new``: also overwrite the namespace's fields and same-named items with the
    file's; ``overwrite``: first remove every object, property and tag. Without ``merge``
    the namespace is left alone.
    """

    merge: bool = False
    prefer_new: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        if (self.prefer_new or self.overwrite) and not self.merge:
            raise MetadefError("--prefer_new and --overwrite only go with --merge")


def load_metadefs(repo: SqlMetadefRepository, path: str | os.PathLike[str] | None = None,
                  mode: LoadMode | None = None) -> LoadReport:
    """Load every ``*.json`` namespace file in ``path`` (default: the packaged catalog)."""
    mode = mode or LoadMode()
    directory = Path(path) if path else PACKAGED_DIR
    if not directory.is_dir():
        raise MetadefError(f"{directory}: not a directory")
    report = LoadReport()
    for file in sorted(directory.glob("*.json")):
        document = _with_defaults(_read(file))
        name = document["namespace"]
        try:
            if not _exists(repo, name):
                repo.create_namespace(document, create_resource_types=True)
                report.loaded.append(name)
            elif mode.merge:
                _merge(repo, document, mode)
                report.merged.append(name)
            else:
                report.skipped.append(name)
        except (KeyError, TypeError, errors.Duplicate) as exc:
            raise MetadefError(f"{file}: cannot load namespace {name}: {exc}") from None
    return report


def _exists(repo: SqlMetadefRepository, name: str) -> bool:
    try:
        repo.get_namespace(name)
    except errors.NotFound:
        return False
    return True


def _merge(repo: SqlMetadefRepository, document: Record, mode: LoadMode) -> None:
    name = document["namespace"]
    if mode.prefer_new:
        repo.update_namespace(name, {k: document.get(k) for k in NAMESPACE_FIELDS})
    for kind, items in embedded_items(document).items():
        if mode.overwrite:
            repo.delete_items(name, kind)
        stored = {item["name"] for item in repo.list_items(name, kind)}
        for item in items:
            if item["name"] not in stored:
                repo.create_items(name, kind, [item])
            elif mode.prefer_new:
                repo.update_item(name, kind, item["name"], item)
    linked = {a["name"] for a in repo.get_namespace(name)["resource_type_associations"]}
    for association in document.get("resource_type_associations") or []:
        if association["name"] not in linked:
            repo.add_association(name, association, create_resource_type=True)


def unload_metadefs(repo: SqlMetadefRepository) -> list[str]:
    """Remove every namespace (and what it holds); return their names."""
    names = [ns["namespace"] for ns in repo.list_namespaces()]
    for name in names:
        repo.delete_namespace(name)
    return names


def export_metadefs(repo: SqlMetadefRepository, path: str | os.PathLike[str] | None = None
                    ) -> list[Path]:
    """Write each namespace to ``<path>/<name>.json`` in the format ``load_metadefs``
    reads (default: the packaged directory, as Glance writes to its etc/metadefs)."""
    directory = Path(path) if path else PACKAGED_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MetadefError(f"{directory}: {exc}") from None
    written = []
    for namespace in repo.list_namespaces():
        name = namespace["namespace"]
        file = directory / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".json")
        try:
            file.write_text(json.dumps(export_document(full_namespace(repo, name)),
                                       indent=4, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as exc:
            raise MetadefError(f"{file}: {exc}") from None
        written.append(file)
    return written


def export_document(document: Record) -> Record:
    """A stored namespace without its timestamps or unset fields: a loadable file."""
    def strip(record: Record) -> Record:
        return {k: v for k, v in record.items() if k not in _TIMESTAMPS and v is not None}

    exported = strip(document)
    for key in ("resource_type_associations", "objects", "tags"):
        exported[key] = [strip(item) for item in document[key]]
    return exported


def _with_defaults(document: dict[str, Any]) -> dict[str, Any]:
    return {"visibility": "public", "protected": True, "owner": DEFAULT_OWNER, **document}


def _read(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MetadefError(f"{file}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("namespace"), str):
        raise MetadefError(f"{file}: expected a JSON object with a \"namespace\" string")
    return document
