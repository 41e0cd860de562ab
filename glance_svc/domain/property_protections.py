"""Property protections: who may create, read, update and delete which custom properties.

An operator names an INI file in ``property_protection_file``. Each section is a regular
expression matched (``re.search``) against a custom property's name; the first section that
matches decides. Its options ``create``, ``read``, ``update`` and ``delete`` list the roles
allowed (``property_protection_rule_format = roles``) or name one policy rule
(``= policies``); ``@`` allows everyone and ``!`` no one. A property that no section
matches, or an action a section leaves out, is refused, as in Glance: a protection file is a
whitelist. Base attributes (name, visibility, …) are never affected.

Unreadable properties are hidden from every image view and treated as absent by PATCH;
they stay stored, so a user who may not see them cannot lose them either.
"""

from __future__ import annotations

import configparser
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from oslo_config import cfg
from oslo_context import context as oslo_context

from glance_svc import errors
from glance_svc.domain.policy import Enforcer

LOG = logging.getLogger(__name__)

ACTIONS = ("create", "read", "update", "delete")

OPTS = [
    cfg.StrOpt("property_protection_file",
               help="INI file of property protection rules; unset: no protections."),
    cfg.StrOpt("property_protection_rule_format", default="roles",
               choices=["roles", "policies"],
               help="Whether the rules in property_protection_file list roles or name "
                    "policy rules."),
]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, OPTS)]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    allowed: dict[str, frozenset[str]]  # action -> roles (lower case) or one policy name


class PropertyProtections:
    """The rules of one protection file, checked against a request context."""

    def __init__(self, rules: list[_Rule], rule_format: str, policy: Enforcer) -> None:
        self._rules = rules
        self._format = rule_format
        self._policy = policy

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, policy: Enforcer) -> PropertyProtections | None:
        """The configured protections, or None; a bad file stops the service at start."""
        path = conf.property_protection_file
        if not path:
            return None
        return cls(_read_rules(path, conf.property_protection_rule_format),
                   conf.property_protection_rule_format, policy)

    def allows(self, ctx: oslo_context.RequestContext, name: str, action: str) -> bool:
        for rule in self._rules:
            if rule.pattern.search(name):
                break
        else:
            return False
        allowed = rule.allowed.get(action, frozenset())
        if "!" in allowed or not allowed:
            return False
        if "@" in allowed:
            return True
        if self._format == "policies":
            (policy_name,) = allowed
            return self._policy.check_operator_rule(ctx, policy_name)
        roles = {role.lower() for role in (ctx.roles or [])}
        roles.update(role.lower() for role in (getattr(ctx, "service_roles", None) or []))
        return bool(roles & allowed)

    def reader(self, ctx: oslo_context.RequestContext) -> Callable[[str], bool]:
        """A predicate: may this request see the property called ``name``?"""
        seen: dict[str, bool] = {}

        def readable(name: str) -> bool:
            if name not in seen:
                seen[name] = self.allows(ctx, name, "read")
            return seen[name]

        return readable

    def require(self, ctx: oslo_context.RequestContext, name: str, action: str) -> None:
        """403 unless ``action`` on property ``name`` is allowed (Glance's wording)."""
        if not self.allows(ctx, name, action):
            raise errors.Forbidden(f"Attribute '{name}' is reserved.")


def _read_rules(path: str, rule_format: str) -> list[_Rule]:
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise ValueError(f"property_protection_file {path} cannot be read: {exc}") from exc
    rules = []
    for section in parser.sections():
        try:
            pattern = re.compile(section)
        except re.error as exc:
            raise ValueError(f"property_protection_file {path}: section [{section}] is "
                             f"not a valid regular expression: {exc}") from exc
        allowed: dict[str, frozenset[str]] = {}
        for action in ACTIONS:
            if not parser.has_option(section, action):
                LOG.warning("Property protection [%s] has no '%s': nobody may %s it",
                            section, action, action)
                continue
            values = frozenset(v.strip().lower() if rule_format == "roles" else v.strip()
                               for v in parser.get(section, action).split(",") if v.strip())
            if rule_format == "policies" and len(values - {"@", "!"}) > 1:
                raise ValueError(f"property_protection_file {path}: [{section}] {action} "
                                 "names more than one policy rule; name one")
            allowed[action] = values
        unknown = set(parser.options(section)) - set(ACTIONS)
        if unknown:
            raise ValueError(f"property_protection_file {path}: [{section}] has unknown "
                             f"option(s) {', '.join(sorted(unknown))}; use "
                             f"{', '.join(ACTIONS)}")
        rules.append(_Rule(pattern, allowed))
    return rules
