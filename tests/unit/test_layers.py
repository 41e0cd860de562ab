"""The layers of glance_svc, written once: no import cycle, no arrow from a lower layer up.

Every ``import`` and ``from ... import`` of every module counts, wherever it stands: at the
top, inside a function (a lazy import still ties two modules together), or under
``TYPE_CHECKING`` (an annotation is still a dependency a reader has to follow). Imports
are read with ``ast``, never by importing, so a module that cannot even be imported is
still checked.

The order, lowest first. A module belongs to the layer of the longest prefix that names
it, and may import its own layer and the layers below, never one above.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterator

import pytest

import glance_svc

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Leaves: the error vocabulary and the request context, used everywhere.
    ("leaves", ("glance_svc", "glance_svc.errors", "glance_svc.context")),
    # What the domain owns and the adapters implement or carry: the entities, the list
    # query, the repository port, and the quota limits a repository write enforces inside
    # its own transaction.
    ("model", ("glance_svc.domain.image", "glance_svc.domain.task", "glance_svc.domain.query",
               "glance_svc.domain.repository", "glance_svc.domain.quotas",
               "glance_svc.domain.metadef_repository")),
    # Adapters: the data path, the SQL repository and the registry's client side. The
    # registry client implements the same port as the SQL repository, so it sits beside it;
    # the oslo.messaging notifier implements the domain's notifier port.
    ("adapters", ("glance_svc.store", "glance_svc.db", "glance_svc.registry.client",
                  "glance_svc.registry.wire", "glance_svc.messaging")),
    # The domain services: rules, policy, quotas, the image state machine's callers; the
    # image cache, whose rules the data service applies to downloads.
    ("domain", ("glance_svc.domain", "glance_svc.cache")),
    # The WSGI applications, the scrubber and crash recovery, each of which composes the
    # services.
    ("apps", ("glance_svc.api", "glance_svc.registry", "glance_svc.scrubber",
              "glance_svc.recovery")),
    # Entry points and the catalogue of every option (it imports every declaring module).
    ("entry", ("glance_svc.cmd", "glance_svc.config", "glance_svc.config_check")),
)

# Inside the adapters, the database package reaches the registry client only where a
# config's ``data_api`` is turned into a repository.
DB_TO_REGISTRY_ALLOWED = frozenset({"glance_svc.db.api", "glance_svc.db.registry.api"})

PACKAGE_DIR = pathlib.Path(glance_svc.__file__).parent


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, pathlib.Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def import_base(name: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` in module ``name`` reads from."""
    base = node.module or ""
    if node.level:
        anchor = name.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[:len(anchor) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    return base


def imported_modules(name: str, path: pathlib.Path, known: set[str]) -> Iterator[str]:
    """The glance_svc modules ``name`` imports, anywhere in its text."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = import_base(name, is_package, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in known:
                    yield candidate  # ``from pkg import module``
                elif base in known:
                    yield base  # ``from module import name``


def missing_modules(name: str, path: pathlib.Path, known: set[str]) -> Iterator[str]:
    """The glance_svc modules ``name`` imports that do not exist (left behind by a move).

    Under ``TYPE_CHECKING`` such an import never runs, so nothing else would notice it,
    and the graph above would silently leave it out.
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = import_base(name, is_package, node)
            targets = [base]
        else:
            continue
        for target in targets:
            if target.split(".")[0] == "glance_svc" and target not in known:
                yield target


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {name: set(imported_modules(name, path, known)) - {name}
            for name, path in modules.items()}


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for index, (_label, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_every_module_has_a_layer(graph: dict[str, set[str]]) -> None:
    for module in graph:
        layer_of(module)


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_import_from_a_lower_layer_to_a_higher_one(graph: dict[str, set[str]]) -> None:
    upward = sorted(
        f"{module} ({LAYERS[layer_of(module)][0]}) -> {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in graph.items() for target in targets
        if layer_of(target) > layer_of(module))
    assert upward == []


def test_db_reaches_the_registry_client_only_through_the_chooser(
        graph: dict[str, set[str]]) -> None:
    crossing = sorted(
        f"{module} -> {target}" for module, targets in graph.items()
        if module.startswith("glance_svc.db") and module not in DB_TO_REGISTRY_ALLOWED
        for target in targets if target.startswith("glance_svc.registry"))
    assert crossing == []


def test_a_cycle_is_found() -> None:
    """The checker itself: a two-module loop and a three-module loop are reported."""
    loops = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert cycles(loops) == [["a", "b"], ["c", "d", "e"]]


def test_imports_inside_functions_and_type_checking_count(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from glance_svc.api import deps\n"
        "def f():\n"
        "    from glance_svc.domain.images import ImageService\n"
        "    from . import errors\n")
    known = {"glance_svc.api", "glance_svc.api.deps", "glance_svc.domain.images",
             "glance_svc.errors"}
    found = set(imported_modules("glance_svc.mod", source, known))
    assert found == {"glance_svc.api.deps", "glance_svc.domain.images", "glance_svc.errors"}


def test_every_import_of_glance_svc_names_a_module_that_exists():
    modules = all_modules()
    known = set(modules)
    missing = sorted(f"{name} -> {target}" for name, path in modules.items()
                     for target in missing_modules(name, path, known))
    assert missing == []
