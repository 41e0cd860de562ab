"""Reading a property protection file and deciding with it (no server, no database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.context import RequestContext
from glance_svc.domain.policy import Enforcer
from glance_svc.domain.property_protections import PropertyProtections


def protections(tmp_path: Path, rules: str, rule_format: str = "roles"
                ) -> PropertyProtections | None:
    path = tmp_path / "protections.conf"
    path.write_text(rules)
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    conf_file = tmp_path / "glance-api.conf"
    conf_file.write_text(f"[DEFAULT]\nproperty_protection_file = {path}\n"
                         f"property_protection_rule_format = {rule_format}\n")
    conf(["--config-file", str(conf_file)], project="glance")
    return PropertyProtections.from_conf(conf, Enforcer(conf))


def ctx(*roles: str) -> RequestContext:
    return RequestContext(project_id="p" * 32, roles=list(roles))


def test_no_file_means_no_protections():
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    conf([], project="glance")
    assert PropertyProtections.from_conf(conf, Enforcer(conf)) is None


def test_the_first_matching_section_decides(tmp_path: Path):
    rules = protections(tmp_path, "[^x_a]\nread = admin\n\n[^x_]\nread = @\n")
    assert rules is not None
    assert not rules.allows(ctx("member"), "x_abc", "read")
    assert rules.allows(ctx("member"), "x_other", "read")


def test_roles_match_without_regard_to_case(tmp_path: Path):
    rules = protections(tmp_path, "[.*]\nupdate = Billing\n")
    assert rules is not None
    assert rules.allows(ctx("BILLING"), "x", "update")


def test_an_action_left_out_allows_no_one(tmp_path: Path):
    rules = protections(tmp_path, "[.*]\ncreate = @\n")
    assert rules is not None
    assert not rules.allows(ctx("admin"), "x", "delete")


def test_bang_allows_no_one_even_beside_a_role(tmp_path: Path):
    rules = protections(tmp_path, "[.*]\ndelete = admin,!\n")
    assert rules is not None
    assert not rules.allows(ctx("admin"), "x", "delete")


def test_require_raises_forbidden_with_the_property_name(tmp_path: Path):
    rules = protections(tmp_path, "[.*]\ncreate = admin\n")
    assert rules is not None
    with pytest.raises(errors.Forbidden, match="Attribute 'x_y' is reserved."):
        rules.require(ctx("member"), "x_y", "create")


def test_an_undefined_policy_rule_refuses(tmp_path: Path):
    rules = protections(tmp_path, "[.*]\nread = no_such_rule\n", rule_format="policies")
    assert rules is not None
    assert not rules.allows(ctx("admin"), "x", "read")


@pytest.mark.parametrize(("text", "rule_format", "message"), [
    ("[x_(]\nread = @\n", "roles", "section [x_(] is not a valid regular expression"),
    ("[.*]\nraed = @\n", "roles", "[.*] has unknown option(s) raed"),
    ("[.*]\nread = one,two\n", "policies", "[.*] read names more than one policy rule"),
    ("not an ini file\n", "roles", "cannot be read"),
])
def test_a_bad_file_is_refused_with_the_reason(tmp_path: Path, text: str, rule_format: str,
                                               message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        protections(tmp_path, text, rule_format)
