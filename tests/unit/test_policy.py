"""Policy defaults (spec §8.2), file overrides and the legacy switch, with no I/O beyond
a policy file in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg

from glance_svc import config, errors
from glance_svc.context import RequestContext
from glance_svc.domain import policy

A, B = "a" * 32, "b" * 32

SPEC_RULES = {
    "default", "context_is_admin", "service_api", "metadef_default", "metadef_admin",
    "add_image", "get_images", "get_image", "modify_image", "delete_image", "publicize_image",
    "communitize_image", "upload_image", "download_image", "download_from_store",
    "get_image_location", "set_image_location", "delete_image_location",
    "add_image_location", "fetch_image_location", "add_member", "delete_member",
    "get_member", "get_members", "modify_member", "deactivate", "reactivate", "copy_image",
    "manage_image_cache", "cache_image", "cache_list", "cache_delete", "cache_clean",
    "cache_prune", "list_cached_nodes", "stores_info_detail", "tasks_api_access", "get_task",
    "get_tasks", "add_task", "modify_task", "get_metadef_namespace", "get_metadef_namespaces",
    "get_metadef_object", "get_metadef_objects", "get_metadef_property",
    "get_metadef_properties", "get_metadef_tag", "get_metadef_tags",
    "list_metadef_resource_types", "get_metadef_resource_type", "add_metadef_namespace",
    "modify_metadef_namespace", "delete_metadef_namespace", "add_metadef_object",
    "modify_metadef_object", "delete_metadef_object", "add_metadef_property",
    "modify_metadef_property", "remove_metadef_property", "add_metadef_tag",
    "modify_metadef_tag", "delete_metadef_tag", "add_metadef_tags", "delete_metadef_tags",
    "add_metadef_resource_type_association", "remove_metadef_resource_type_association",
}


def make_conf(tmp_path: Path, policy_yaml: str | None = None, **oslo_policy: object
              ) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    config.register_all(conf)
    conf_file = tmp_path / "glance-api.conf"
    lines = ["[oslo_policy]"] + [f"{k} = {v}" for k, v in oslo_policy.items()]
    conf_file.write_text("\n".join(lines) + "\n")
    if policy_yaml is not None:
        (tmp_path / "policy.yaml").write_text(policy_yaml)
    conf(["--config-file", str(conf_file)], project="glance")
    return conf


@pytest.fixture
def enforcer(tmp_path: Path) -> policy.Enforcer:
    return policy.Enforcer(make_conf(tmp_path))


def user(project: str | None, *roles: str) -> RequestContext:
    return RequestContext(project_id=project, roles=list(roles))


def image_target(owner: str | None, visibility: str = "private",
                 member_id: str | None = None) -> dict[str, object]:
    return {"project_id": owner, "owner": owner, "visibility": visibility,
            "member_id": member_id}


def test_every_rule_of_the_spec_is_registered(enforcer: policy.Enforcer) -> None:
    assert set(enforcer.rule_names()) == SPEC_RULES


def test_list_rules_matches_the_registered_rules(enforcer: policy.Enforcer) -> None:
    assert {r.name for r in policy.list_rules()} == set(enforcer.rule_names())


def test_get_image_check_string_is_glances() -> None:
    rule = next(r for r in policy.list_rules() if r.name == "get_image")
    assert rule.check_str == (
        "rule:context_is_admin or (role:reader and (project_id:%(project_id)s or "
        "project_id:%(member_id)s or 'community':%(visibility)s or "
        "'public':%(visibility)s or 'shared':%(visibility)s))")


def test_get_member_check_string_has_no_parentheses_around_the_and() -> None:
    rule = next(r for r in policy.list_rules() if r.name == "get_member")
    assert rule.check_str == ("rule:context_is_admin or role:reader and "
                              "(project_id:%(project_id)s or project_id:%(member_id)s)")


def test_image_rules_are_project_scoped() -> None:
    rule = next(r for r in policy.list_rules() if r.name == "add_image")
    assert rule.scope_types == ["project"]


def test_unauthenticated_admin_context_passes_admin_only_rules(enforcer) -> None:
    assert enforcer.check(RequestContext.admin(), "publicize_image", image_target(None))


def test_caller_without_project_does_not_own_an_image_without_owner(enforcer) -> None:
    assert not enforcer.check(user(None, "member"), "modify_image", image_target(None))


def test_project_named_none_does_not_own_an_image_without_owner(enforcer) -> None:
    assert not enforcer.check(user("None", "member"), "modify_image", image_target(None))


def test_caller_without_project_cannot_create_an_image_without_owner(enforcer) -> None:
    assert not enforcer.check(user(None, "member"), "add_image", image_target(None))


def test_reader_can_show_own_private_image(enforcer: policy.Enforcer) -> None:
    assert enforcer.check(user(A, "reader"), "get_image", image_target(A))


def test_reader_cannot_show_other_projects_private_image(enforcer) -> None:
    assert not enforcer.check(user(A, "reader"), "get_image", image_target(B))


def test_reader_can_show_a_public_image_of_another_project(enforcer) -> None:
    assert enforcer.check(user(A, "reader"), "get_image", image_target(B, "public"))


def test_reader_cannot_download_own_image(enforcer: policy.Enforcer) -> None:
    assert not enforcer.check(user(A, "reader"), "download_image", image_target(A))


def test_member_can_download_own_image(enforcer: policy.Enforcer) -> None:
    assert enforcer.check(user(A, "member"), "download_image", image_target(A))


def test_member_cannot_modify_another_projects_image(enforcer) -> None:
    assert not enforcer.check(user(A, "member"), "modify_image", image_target(B, "public"))


def test_member_cannot_create_an_image_for_another_project(enforcer) -> None:
    assert not enforcer.check(user(A, "member"), "add_image", image_target(B))


def test_member_cannot_publicize(enforcer: policy.Enforcer) -> None:
    assert not enforcer.check(user(A, "member"), "publicize_image", image_target(A))


def test_member_can_communitize_own_image(enforcer: policy.Enforcer) -> None:
    assert enforcer.check(user(A, "member"), "communitize_image", image_target(A))


def test_image_member_may_accept_the_share(enforcer: policy.Enforcer) -> None:
    target = image_target(B, "shared", member_id=A)
    assert enforcer.check(user(A, "member"), "modify_member", target)


def test_owner_may_not_change_member_status(enforcer: policy.Enforcer) -> None:
    target = image_target(B, "shared", member_id=None)
    assert not enforcer.check(user(B, "member"), "modify_member", target)


def test_roles_from_headers_are_case_insensitive(enforcer: policy.Enforcer) -> None:
    assert enforcer.check(user(A, "Reader"), "get_images", {"project_id": A})


def test_system_scoped_token_is_refused(enforcer: policy.Enforcer) -> None:
    ctx = RequestContext(system_scope="all", roles=["admin"])
    assert not enforcer.check(ctx, "get_images", {"project_id": None})


def test_enforce_raises_forbidden_with_glances_message(enforcer) -> None:
    with pytest.raises(errors.Forbidden) as caught:
        enforcer.enforce(user(A, "reader"), "modify_image", image_target(A))
    assert caught.value.message == "You are not authorized to complete modify_image action."


def test_unknown_rule_is_an_error_not_a_refusal(enforcer: policy.Enforcer) -> None:
    with pytest.raises(Exception, match="has not been registered"):
        enforcer.check(user(A, "admin"), "no_such_rule", {})


def test_policy_file_beside_the_config_overrides_a_default(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, '"get_images": "role:auditor"\n'))
    assert enforcer.check(user(A, "auditor"), "get_images", {"project_id": A})


def test_policy_file_override_keeps_other_defaults(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, '"get_images": "role:auditor"\n'))
    assert enforcer.check(user(A, "reader"), "get_image", image_target(A))


def test_policy_file_path_from_config(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text('"publicize_image": "role:member"\n')
    enforcer = policy.Enforcer(make_conf(tmp_path, policy_file=str(other)))
    assert enforcer.check(user(A, "member"), "publicize_image", image_target(A))


def test_missing_policy_file_means_defaults(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path))
    assert not enforcer.check(user(A, "member"), "publicize_image", image_target(A))


def test_legacy_defaults_allow_members_of_any_project(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, enforce_new_defaults=False))
    assert enforcer.check(user(A), "modify_image", image_target(B))


def test_legacy_defaults_keep_publicize_admin_only(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, enforce_new_defaults=False))
    assert not enforcer.check(user(A, "member"), "publicize_image", image_target(A))


def test_legacy_defaults_flag(tmp_path: Path) -> None:
    assert policy.Enforcer(make_conf(tmp_path, enforce_new_defaults=False)).legacy_defaults


def test_check_all_matches_check_one_by_one(enforcer: policy.Enforcer) -> None:
    targets = [image_target(A), image_target(B), image_target(B, "public"),
               image_target(B, "shared", member_id=A), image_target(A)]
    ctx = user(A, "reader")
    assert enforcer.check_all(ctx, "get_image", targets) == \
        [enforcer.check(ctx, "get_image", t) for t in targets]


def test_check_all_knows_which_keys_get_image_reads(enforcer: policy.Enforcer) -> None:
    assert enforcer._target_keys("get_image") == ("member_id", "project_id", "visibility")


def test_check_all_with_a_custom_key_in_the_policy_file(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, '"get_image": "\'deb\':%(os_distro)s"\n'))
    targets = [{"os_distro": "deb"}, {"os_distro": "rpm"}, {}]
    assert enforcer.check_all(user(A, "reader"), "get_image", targets) == [True, False, False]


def test_check_all_evaluates_opaque_checks_per_target(tmp_path: Path) -> None:
    enforcer = policy.Enforcer(make_conf(tmp_path, '"get_image": "http://127.0.0.1:9/x"\n'))
    assert enforcer._target_keys("get_image") is None
