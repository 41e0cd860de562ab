"""Every role variable has one default and one argument spec in the whole bundle.

A variable declared in two roles' ``defaults/main.yml`` or ``meta/argument_specs.yml`` can
drift: a default changed in one copy only makes one stage behave differently from another,
silently. So each variable lives once: the glance role holds every ``glance_*`` variable and
its stages share one options mapping (entry points alias it with ``*glance_options``); the
lab roles hold their own ``mariadb_*`` and ``keystone_*`` ones.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _spec_option_sets(role: Path) -> list[dict[str, Any]]:
    """The distinct options mappings of a role's entry points.

    A YAML alias loads as the very same dict, so entry points that share one mapping count
    once, and a second mapping written out again counts twice.
    """
    specs = (_load(role / "meta/argument_specs.yml") or {}).get("argument_specs", {})
    distinct: dict[int, dict[str, Any]] = {}
    for entry in specs.values():
        options = entry.get("options") or {}
        distinct[id(options)] = options
    return list(distinct.values())


def declarations(roles_dir: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Variable -> the places that give it a default, and the places that specify it."""
    defaults: dict[str, list[str]] = defaultdict(list)
    specs: dict[str, list[str]] = defaultdict(list)
    for role in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        for name in _load(role / "defaults/main.yml") or {}:
            defaults[name].append(role.name)
        for index, options in enumerate(_spec_option_sets(role)):
            for name in options:
                specs[name].append(f"{role.name} options #{index + 1}")
    return defaults, specs


def more_than_once(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: places for name, places in found.items() if len(places) > 1}


def test_every_variable_has_one_default() -> None:
    defaults, _ = declarations(ROOT / "roles")
    assert "glance_scrubber_mode" in defaults
    assert more_than_once(defaults) == {}


def test_every_variable_has_one_argument_spec() -> None:
    _, specs = declarations(ROOT / "roles")
    assert "glance_scrubber_mode" in specs
    assert more_than_once(specs) == {}


def test_every_default_is_in_the_argument_spec() -> None:
    defaults, specs = declarations(ROOT / "roles")
    assert sorted(set(defaults) - set(specs)) == []


def test_the_glance_stages_are_entry_points_of_one_options_mapping() -> None:
    specs = _load(ROOT / "roles/glance/meta/argument_specs.yml")["argument_specs"]
    assert sorted(specs) == ["config", "db", "keystone", "main", "svc"]
    assert len(_spec_option_sets(ROOT / "roles/glance")) == 1


def _role(roles_dir: Path, name: str, defaults: str, options: str) -> None:
    (roles_dir / name / "defaults").mkdir(parents=True)
    (roles_dir / name / "meta").mkdir()
    (roles_dir / name / "defaults/main.yml").write_text(defaults)
    (roles_dir / name / "meta/argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options:\n" + options)


def test_a_second_default_in_another_role_is_found(tmp_path: Path) -> None:
    _role(tmp_path, "one", "glance_user: glance\n", "      glance_user: {type: str}\n")
    _role(tmp_path, "two", "glance_user: glance\n", "")
    defaults, _ = declarations(tmp_path)
    assert more_than_once(defaults) == {"glance_user": ["one", "two"]}


def test_a_second_spec_written_out_again_is_found(tmp_path: Path) -> None:
    _role(tmp_path, "one", "glance_user: glance\n",
          "      glance_user: {type: str}\n  svc:\n    options:\n      glance_user: {type: str}\n")
    _, specs = declarations(tmp_path)
    assert more_than_once(specs) == {"glance_user": ["one options #1", "one options #2"]}


def test_entry_points_sharing_an_alias_count_once(tmp_path: Path) -> None:
    _role(tmp_path, "one", "glance_user: glance\n",
          "      &o\n      glance_user: {type: str}\n  svc:\n    options: *o\n")
    _, specs = declarations(tmp_path)
    assert more_than_once(specs) == {}
