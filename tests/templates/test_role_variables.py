"""Variables that several roles read keep one meaning across the bundle.

A few public variables (``glance_user``, the ports, the registry switch …) are read by
more than one role, so each role declares them in its own ``defaults/main.yml`` and
``meta/argument_specs.yml`` and can run alone. These tests keep those copies identical:
a default changed in one role only would make a role-by-role run behave differently
from ``site.yml``, silently.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults").is_dir())


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def _defaults() -> dict[str, dict[str, Any]]:
    """Variable -> {role: default} for every variable in some role's defaults."""
    found: dict[str, dict[str, Any]] = defaultdict(dict)
    for role in ROLES:
        for name, value in _load(ROOT / "roles" / role / "defaults/main.yml").items():
            found[name][role] = value
    return found


def _specs(role: str) -> dict[str, Any]:
    return _load(ROOT / "roles" / role / "meta/argument_specs.yml")["argument_specs"][
        "main"]["options"]


SHARED = {name: roles for name, roles in _defaults().items() if len(roles) > 1}


def test_some_variables_are_shared_between_roles():
    """Guards the tests below against passing on an empty list."""
    assert "glance_user" in SHARED
    assert {"glance_svc", "glance_config"} <= set(SHARED["glance_user"])


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_variable_has_one_default(name):
    values = SHARED[name]
    assert len({repr(v) for v in values.values()}) == 1, values


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_shared_variable_has_one_argument_spec(name):
    specs = {role: _specs(role).get(name) for role in SHARED[name]}
    assert None not in specs.values(), f"{name} is not in every reading role's spec: {specs}"
    kinds = {role: (spec.get("type"), spec.get("default"), spec.get("choices"))
             for role, spec in specs.items()}
    assert len(set(map(repr, kinds.values()))) == 1, kinds


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_in_the_argument_spec(role):
    defaults = _load(ROOT / "roles" / role / "defaults/main.yml")
    assert sorted(set(defaults) - set(_specs(role))) == []
