"""Policy: oslo.policy rules with Glance's rule names and secure-RBAC defaults (spec §8).

Every rule of spec §8.2 is registered as a default in code, under the name Glance uses,
so an operator's existing ``policy.yaml`` keeps working: a rule in the file overrides the
default, a rule missing from the file keeps it. The legacy (pre secure-RBAC) check strings
are registered as deprecated rules, so ``[oslo_policy] enforce_new_defaults = False``
gives Glance's old, permissive behaviour (the image services then add Glance's hard-coded
owner checks, see ``legacy_defaults``).

The file named by ``[oslo_policy] policy_file`` (default ``policy.yaml``) is looked up the
way oslo.policy always does: as given if absolute, else in the config directories.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_policy import _checks, policy
from oslo_policy import opts as policy_opts

from glance_svc import errors

LOG = logging.getLogger(__name__)

# -- check strings (spec §8.2) -------------------------------------------------------------
ADMIN = "rule:context_is_admin"
DEFAULT = "rule:default"
SERVICE = "rule:service_api"
METADEF_DEFAULT = "rule:metadef_default"
METADEF_ADMIN = "rule:metadef_admin"

PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER = "project_id:%(member_id)s"
COMMUNITY = "'community':%(visibility)s"
PUBLIC = "'public':%(visibility)s"
SHARED = "'shared':%(visibility)s"

ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
ADMIN_OR_READER_GET_IMAGE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER} "
    f"or {COMMUNITY} or {PUBLIC} or {SHARED}))"
)
# Download needs the member role, not reader: a reader may look but not take.
ADMIN_OR_MEMBER_DOWNLOAD = (
    f"{ADMIN} or (role:member and (project_id:%(project_id)s or {IMAGE_MEMBER} "
    f"or {COMMUNITY} or {PUBLIC} or {SHARED}))"
)
ADMIN_OR_MEMBER_CREATE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_SHARED_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER})"
# No parentheses around the and-part, exactly as Glance writes it: ``and`` binds tighter.
ADMIN_OR_READER_OR_SHARED_MEMBER = (
    f"{ADMIN} or role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER})"
)
SERVICE_OR_PROJECT_MEMBER = f"{SERVICE} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_SERVICE = f"{ADMIN} or {SERVICE}"
ADMIN_OR_READER_GET_NAMESPACE = (
    f"{ADMIN} or (role:reader and (project_id:%(project_id)s or {PUBLIC}))"
)

_LEGACY_REASON = "The Image API now has project reader and member personas (secure RBAC)."
_LEGACY_SINCE = "Wallaby"
_PROJECT = ["project"]


def _rule(name: str, check_str: str, description: str, method: str, path: str,
          legacy: str | None = None) -> policy.DocumentedRuleDefault:
    deprecated = None
    if legacy is not None:
        deprecated = policy.DeprecatedRule(
            name=name, check_str=legacy,
            deprecated_reason=_LEGACY_REASON, deprecated_since=_LEGACY_SINCE,
        )
    return policy.DocumentedRuleDefault(
        name=name, check_str=check_str, description=description,
        operations=[{"method": method, "path": path}],
        deprecated_rule=deprecated, scope_types=_PROJECT,
    )


def _base_rules() -> list[policy.RuleDefault]:
    return [
        policy.RuleDefault(
            name="default", check_str="",
            description="Rule used by policies whose check is 'rule:default'.",
            deprecated_rule=policy.DeprecatedRule(
                name="default", check_str=ADMIN,
                deprecated_reason="Set 'default' explicitly to 'role:admin' if unlisted "
                                  "rules should be admin-only.",
                deprecated_since="Ussuri",
            ),
        ),
        policy.RuleDefault(name="context_is_admin", check_str="role:admin",
                           description="Who counts as an administrator."),
        policy.RuleDefault(name="service_api", check_str="role:service or role:admin",
                           description="Callers that are other OpenStack services."),
        policy.RuleDefault(name="metadef_default", check_str="",
                           description="Legacy default of the metadata definition reads."),
        policy.RuleDefault(name="metadef_admin", check_str=ADMIN,
                           description="Who may change metadata definitions."),
    ]


def _image_rules() -> list[policy.RuleDefault]:
    img = "/v2/images/{image_id}"
    members = f"{img}/members"
    return [
        _rule("add_image", ADMIN_OR_MEMBER_CREATE, "Create an image.",
              "POST", "/v2/images", DEFAULT),
        _rule("get_images", ADMIN_OR_PROJECT_READER, "List images.",
              "GET", "/v2/images", DEFAULT),
        _rule("get_image", ADMIN_OR_READER_GET_IMAGE, "Show an image.", "GET", img, DEFAULT),
        _rule("modify_image", ADMIN_OR_PROJECT_MEMBER, "Change an image.",
              "PATCH", img, DEFAULT),
        _rule("delete_image", ADMIN_OR_PROJECT_MEMBER, "Delete an image.",
              "DELETE", img, DEFAULT),
        _rule("publicize_image", ADMIN, "Make an image public.", "PATCH", img),
        _rule("communitize_image", ADMIN_OR_PROJECT_MEMBER,
              "Make an image a community image.", "PATCH", img, DEFAULT),
        _rule("upload_image", ADMIN_OR_PROJECT_MEMBER, "Upload image data.",
              "PUT", f"{img}/file", DEFAULT),
        _rule("download_image", ADMIN_OR_MEMBER_DOWNLOAD, "Download image data.",
              "GET", f"{img}/file", DEFAULT),
        _rule("download_from_store", ADMIN_OR_MEMBER_DOWNLOAD,
              "Download image data from chosen stores.", "GET", f"{img}/file"),
        _rule("delete_image_location", ADMIN, "Remove a location of an image.",
              "PATCH", img, DEFAULT),
        _rule("get_image_location", ADMIN_OR_PROJECT_READER, "Read the locations of an image.",
              "GET", img, DEFAULT),
        _rule("set_image_location", ADMIN_OR_PROJECT_MEMBER, "Set the locations of an image.",
              "PATCH", img, DEFAULT),
        _rule("add_image_location", SERVICE_OR_PROJECT_MEMBER, "Add a location to an image.",
              "POST", f"{img}/locations"),
        _rule("fetch_image_location", SERVICE, "List every location of an image.",
              "GET", f"{img}/locations"),
        _rule("add_member", ADMIN_OR_PROJECT_MEMBER, "Share an image with a project.",
              "POST", members, DEFAULT),
        _rule("delete_member", ADMIN_OR_PROJECT_MEMBER, "Stop sharing an image with a project.",
              "DELETE", f"{members}/{{member_id}}", DEFAULT),
        _rule("get_member", ADMIN_OR_READER_OR_SHARED_MEMBER, "Show one image member.",
              "GET", f"{members}/{{member_id}}", DEFAULT),
        _rule("get_members", ADMIN_OR_READER_OR_SHARED_MEMBER, "List image members.",
              "GET", members, DEFAULT),
        _rule("modify_member", ADMIN_OR_SHARED_MEMBER,
              "Accept or reject an image shared with the caller's project.",
              "PUT", f"{members}/{{member_id}}", DEFAULT),
        policy.RuleDefault(name="manage_image_cache", check_str=ADMIN, scope_types=_PROJECT,
                           description="Manage the image cache."),
        _rule("deactivate", ADMIN_OR_PROJECT_MEMBER, "Deactivate an image.",
              "POST", f"{img}/actions/deactivate", DEFAULT),
        _rule("reactivate", ADMIN_OR_PROJECT_MEMBER, "Reactivate an image.",
              "POST", f"{img}/actions/reactivate", DEFAULT),
        _rule("copy_image", ADMIN, "Copy an image's data to more stores.",
              "POST", f"{img}/import"),
        _rule("list_cached_nodes", ADMIN, "List the nodes caching an image.",
              "GET", "/v2/cache/nodes/{image_id}"),
    ]


def _cache_task_discovery_rules() -> list[policy.RuleDefault]:
    cache_legacy = "rule:manage_image_cache"
    return [
        _rule("cache_image", ADMIN, "Queue an image for caching.",
              "PUT", "/v2/cache/{image_id}", cache_legacy),
        _rule("cache_list", ADMIN, "List cached and queued images.",
              "GET", "/v2/cache", cache_legacy),
        _rule("cache_delete", ADMIN, "Remove images from the cache.",
              "DELETE", "/v2/cache", cache_legacy),
        _rule("cache_clean", ADMIN, "Clean the cache.", "POST", "/v2/cache/clean"),
        _rule("cache_prune", ADMIN, "Prune the cache.", "POST", "/v2/cache/prune"),
        _rule("stores_info_detail", ADMIN_OR_SERVICE, "Show store details.",
              "GET", "/v2/info/stores/detail", ADMIN),
        _rule("get_task", DEFAULT, "Show a task.", "GET", "/v2/tasks/{task_id}", DEFAULT),
        _rule("get_tasks", DEFAULT, "List tasks.", "GET", "/v2/tasks", DEFAULT),
        _rule("add_task", DEFAULT, "Create a task.", "POST", "/v2/tasks", DEFAULT),
        _rule("modify_task", DEFAULT, "Change a task.", "PUT", "/v2/tasks/{task_id}"),
        _rule("tasks_api_access", ADMIN, "Use the tasks API at all.", "GET", "/v2/tasks"),
    ]


def _metadef_rules() -> list[policy.RuleDefault]:
    ns = "/v2/metadefs/namespaces"
    one = f"{ns}/{{namespace_name}}"
    reads = [
        ("get_metadef_namespace", "GET", one),
        ("get_metadef_object", "GET", f"{one}/objects/{{object_name}}"),
        ("get_metadef_objects", "GET", f"{one}/objects"),
        ("get_metadef_property", "GET", f"{one}/properties/{{property_name}}"),
        ("get_metadef_properties", "GET", f"{one}/properties"),
        ("get_metadef_tag", "GET", f"{one}/tags/{{tag_name}}"),
        ("get_metadef_tags", "GET", f"{one}/tags"),
        ("list_metadef_resource_types", "GET", "/v2/metadefs/resource_types"),
        ("get_metadef_resource_type", "GET", f"{one}/resource_types"),
    ]
    writes = [
        ("add_metadef_namespace", "POST", ns),
        ("modify_metadef_namespace", "PUT", one),
        ("delete_metadef_namespace", "DELETE", one),
        ("add_metadef_object", "POST", f"{one}/objects"),
        ("modify_metadef_object", "PUT", f"{one}/objects/{{object_name}}"),
        ("delete_metadef_object", "DELETE", f"{one}/objects/{{object_name}}"),
        ("add_metadef_property", "POST", f"{one}/properties"),
        ("modify_metadef_property", "PUT", f"{one}/properties/{{property_name}}"),
        ("remove_metadef_property", "DELETE", f"{one}/properties/{{property_name}}"),
        ("add_metadef_tag", "POST", f"{one}/tags/{{tag_name}}"),
        ("modify_metadef_tag", "PUT", f"{one}/tags/{{tag_name}}"),
        ("delete_metadef_tag", "DELETE", f"{one}/tags/{{tag_name}}"),
        ("add_metadef_tags", "POST", f"{one}/tags"),
        ("delete_metadef_tags", "DELETE", f"{one}/tags"),
        ("add_metadef_resource_type_association", "POST", f"{one}/resource_types"),
        ("remove_metadef_resource_type_association", "DELETE",
         f"{one}/resource_types/{{resource_type}}"),
    ]
    rules = [_rule(name, ADMIN_OR_READER_GET_NAMESPACE, "Read metadata definitions.",
                   method, path, METADEF_DEFAULT) for name, method, path in reads]
    rules.append(_rule("get_metadef_namespaces", ADMIN_OR_PROJECT_READER,
                       "List metadata definition namespaces.", "GET", ns, METADEF_DEFAULT))
    rules += [_rule(name, METADEF_ADMIN, "Change metadata definitions.", method, path)
              for name, method, path in writes]
    return rules


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point, for
    ``oslopolicy-sample-generator --namespace glance``)."""
    return [*_base_rules(), *_image_rules(), *_cache_task_discovery_rules(),
            *_metadef_rules()]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register [oslo_policy] options (policy_file defaults to policy.yaml)."""
    policy_opts.set_defaults(conf, policy_file="policy.yaml")


def forbidden_message(rule: str) -> str:
    return f"You are not authorized to complete {rule} action."


# How often, at most, the policy file is looked for and re-read when changed. oslo.policy
# would search the config directories on every single check when the file is absent.
RELOAD_INTERVAL = 2.0
_TARGET_KEY = re.compile(r"%\((\w+)\)s")


class _ThrottledEnforcer(policy.Enforcer):
    """oslo.policy's Enforcer, checking the policy file for changes every few seconds
    instead of on every call (a list of 100 images makes 100 checks)."""

    _loaded_at = float("-inf")

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if not force_reload and self.rules and now - self._loaded_at < RELOAD_INTERVAL:
            return
        super().load_rules(force_reload)
        self._loaded_at = now


def _known(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without its ``None`` entries.

    oslo.policy compares ``project_id:%(project_id)s`` as strings, so a caller with no
    project would own every image with no owner (``"None" == str(None)``). A check that
    reads a missing key is simply false, on either side.
    """
    return {key: value for key, value in values.items() if value is not None}


class Enforcer:
    """Checks a request context against a named rule and a target dict.

    A thin wrapper over oslo.policy's Enforcer: it registers our defaults, never raises
    oslo.policy's own exceptions (a scope mismatch is simply a refusal) and turns a
    refusal into ``errors.Forbidden`` with Glance's message.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        if "oslo_policy" not in conf:
            register_opts(conf)
        self.conf = conf
        self._enforcer = _ThrottledEnforcer(conf, use_conf=True, overwrite=False)
        # Per rule: the rule set it was computed from, and the target keys it reads.
        self._keys_cache: dict[str, tuple[object, tuple[str, ...] | None]] = {}
        # Every Glance default changed in Wallaby; one warning per rule says nothing useful.
        self._enforcer.suppress_default_change_warnings = True
        self._enforcer.register_defaults(list_rules())

    @property
    def legacy_defaults(self) -> bool:
        """True with ``enforce_new_defaults = False``: the permissive legacy rules apply,
        so the services must add Glance's hard-coded admin-or-owner checks themselves."""
        return not self.conf.oslo_policy.enforce_new_defaults

    def check(self, ctx: oslo_context.RequestContext, rule: str,
              target: Mapping[str, Any] | None = None) -> bool:
        """Whether ``rule`` allows ``ctx`` on ``target``."""
        if rule not in self._enforcer.registered_rules:
            raise policy.PolicyNotRegistered(rule)
        return self._allows(rule, target, ctx)

    def check_operator_rule(self, ctx: oslo_context.RequestContext, rule: str,
                            target: Mapping[str, Any] | None = None) -> bool:
        """Like ``check``, for a rule only the policy file defines (property protections).

        A name the policy file does not define refuses; oslo.policy on its own would fall
        back to the ``default`` rule, which lets anyone through.
        """
        self._enforcer.load_rules()
        if rule not in self._enforcer.rules:
            LOG.warning("Policy rule %s is not defined in the policy file: refused", rule)
            return False
        return self._allows(policy.RuleCheck("rule", rule), target, ctx)

    def _allows(self, rule: str | policy.RuleCheck, target: Mapping[str, Any] | None,
                ctx: oslo_context.RequestContext) -> bool:
        """oslo.policy's verdict, with a scope mismatch counted as a plain refusal."""
        try:
            return bool(self._enforcer.enforce(rule, _known(target or {}),
                                               _known(ctx.to_policy_values()),
                                               do_raise=False))
        except policy.InvalidScope:
            return False

    def enforce(self, ctx: oslo_context.RequestContext, rule: str,
                target: Mapping[str, Any] | None = None) -> None:
        """Raise ``errors.Forbidden`` unless ``rule`` allows ``ctx`` on ``target``."""
        if not self.check(ctx, rule, target):
            LOG.debug("Policy %s refused for project %s", rule, ctx.project_id)
            raise errors.Forbidden(forbidden_message(rule))

    def check_all(self, ctx: oslo_context.RequestContext, rule: str,
                  targets: Sequence[Mapping[str, Any]]) -> list[bool]:
        """``check`` for many targets (an image list), deciding each distinct case once.

        A rule only reads a few target keys (``get_image``: project_id, member_id,
        visibility), found by walking its parsed check tree; targets that agree on those
        keys get the same answer. A rule with a check we cannot see through (an http
        check, a custom class) is evaluated for every target.
        """
        keys = self._target_keys(rule)
        if keys is None:
            return [self.check(ctx, rule, target) for target in targets]
        decided: dict[tuple[Any, ...], bool] = {}
        results = []
        for target in targets:
            key = tuple(repr(target.get(k, _MISSING)) for k in keys)
            if key not in decided:
                decided[key] = self.check(ctx, rule, target)
            results.append(decided[key])
        return results

    def _target_keys(self, rule: str) -> tuple[str, ...] | None:
        self._enforcer.load_rules()
        rules = self._enforcer.rules
        cached = self._keys_cache.get(rule)
        if cached is not None and cached[0] is rules:
            return cached[1]
        keys = self._find_target_keys(rule)
        self._keys_cache[rule] = (rules, keys)
        return keys

    def _find_target_keys(self, rule: str) -> tuple[str, ...] | None:
        found: set[str] = set()
        seen: set[str] = set()

        def walk(check: object) -> bool:
            if isinstance(check, _checks.TrueCheck | _checks.FalseCheck):
                return True
            if isinstance(check, _checks.AndCheck | _checks.OrCheck):
                return all(walk(sub) for sub in check.rules)
            if isinstance(check, _checks.NotCheck):
                return walk(check.rule)
            if isinstance(check, _checks.RuleCheck):
                if check.match in seen:
                    return True
                seen.add(check.match)
                return walk(self._enforcer.rules.get(check.match, _checks.FalseCheck()))
            if type(check) in (_checks.RoleCheck, _checks.GenericCheck):
                found.update(_TARGET_KEY.findall(check.match))
                return True
            return False

        top = self._enforcer.rules.get(rule)
        if top is None or not walk(top):
            return None
        return tuple(sorted(found))

    def rule_names(self) -> Iterable[str]:
        return self._enforcer.registered_rules.keys()


_MISSING = object()
