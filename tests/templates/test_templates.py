"""The config templates render, parse, and set only options glance_svc really reads.

The files are rendered by the glance role's config stage (playbooks/render_config.yml),
once with the role defaults and once with every feature switched on, so what is checked
is exactly what an operator gets. A misspelt option must fail here, never be ignored.
"""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from oslo_config import cfg
from oslo_context.context import RequestContext

from glance_svc import config_check

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CONF_FILES = ["glance-api.conf", "glance-registry.conf", "glance-scrubber.conf",
              "glance-manage.conf"]
FULL_VARS = ROOT / "playbooks/vars/render_full.yml"
VARIANTS = {
    "defaults": [],
    "full": ["-e", f"@{FULL_VARS}"],
}
PASTE_FILES = ["glance-api-paste.ini", "glance-registry-paste.ini"]


def render(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local",
         str(ROOT / "playbooks/render_config.yml"), "-e", f"render_dir={out}", *extra],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
        env={"PATH": f"{ANSIBLE_PLAYBOOK.parent}:/usr/bin:/bin", "HOME": str(out.parent),
             "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
             "USER": "root"},
    )


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Path:
    out = tmp_path_factory.mktemp(f"render-{request.param}") / "etc"
    result = render(out, *VARIANTS[request.param])
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.mark.parametrize("name", CONF_FILES)
def test_every_option_is_one_glance_svc_reads_and_parses(rendered: Path, name: str) -> None:
    assert config_check.problems([str(rendered / name)]) == []


@pytest.mark.parametrize("name", [*CONF_FILES, *PASTE_FILES])
def test_ini_file_parses(rendered: Path, name: str) -> None:
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.read_string((rendered / name).read_text())
    assert parser.sections()


def _sections(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """An INI file as PasteDeploy sees it: sections and options in order, case kept."""
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return [(section, list(parser.items(section))) for section in parser.sections()]


def _overrides(rendered: Path, name: str) -> dict[str, dict[str, str]]:
    """The variant's override dict of a paste file (glance_api_paste_ini_overrides ...)."""
    if not rendered.parent.name.startswith("render-full"):
        return {}
    variable = "glance_" + name.removeprefix("glance-").replace("-", "_").replace(".", "_")
    return yaml.safe_load(FULL_VARS.read_text()).get(variable + "_overrides") or {}


@pytest.mark.parametrize("name", PASTE_FILES)
def test_paste_file_is_the_packaged_one_with_its_healthcheck_path_and_overrides(
        rendered: Path, name: str) -> None:
    """glance_svc/etc holds the one source of each pipeline; the template only renders it.

    With the defaults this is the packaged file itself, but for the healthcheck's disable
    file, which follows glance_config_dir.
    """
    expected = configparser.RawConfigParser(strict=True, interpolation=None)
    expected.optionxform = str  # type: ignore[assignment,method-assign]
    expected.read_string((ROOT / "glance_svc/etc" / name).read_text())
    expected.set("app:healthcheck", "disable_by_file_path", f"{rendered}/healthcheck_disable")
    expected.read_dict(_overrides(rendered, name))
    assert _sections((rendered / name).read_text()) == [
        (section, list(expected.items(section))) for section in expected.sections()]


def test_policy_file_names_only_known_rules(rendered: Path) -> None:
    from glance_svc.domain import policy

    rules = yaml.safe_load((rendered / "policy.yaml").read_text()) or {}
    known = {rule.name for rule in policy.list_rules()}
    assert isinstance(rules, dict)
    assert sorted(set(rules) - known) == []


def test_property_protections_file_is_read_by_glance_svc(rendered: Path) -> None:
    from glance_svc import config
    from glance_svc.domain.policy import Enforcer
    from glance_svc.domain.property_protections import PropertyProtections

    # A fresh ConfigOpts, not the global one: other tests register auth_token options there.
    # No default config files, so a host's own /etc/glance cannot leak into the test.
    conf = config.parse_args(["--config-file", str(rendered / "glance-api.conf")],
                             prog="glance-api", default_config_files=[], conf=cfg.ConfigOpts())
    protections = PropertyProtections.from_conf(conf, Enforcer(conf))
    if rendered.parent.name.startswith("render-defaults"):
        assert conf.property_protection_file is None
        assert protections is None
        return
    assert conf.property_protection_file == str(rendered / "property-protections.conf")
    member = RequestContext(roles=["member"])
    assert protections is not None
    assert [protections.allows(member, "x_billing_code", action)
            for action in ("create", "read", "update", "delete")] == [False, True, False, False]
    assert [protections.allows(member, "x_frozen", action)
            for action in ("create", "read", "update", "delete")] == [True, True, False, False]
    assert protections.allows(member, "hw_color", "delete")


LOAD_APP = """
import json, sys, webob
from glance_svc import config
from glance_svc.api import app
conf = config.parse_args(["--config-file", sys.argv[1]], prog="glance-api")
wsgi = app.load_paste_app(conf, "glance-api", app.find_paste_file(conf, "glance-api-paste.ini"))
codes = {p: webob.Request.blank(p).get_response(wsgi).status_int for p in ("/", "/versions")}
preflight = webob.Request.blank("/versions", method="OPTIONS", headers={
    "Origin": "https://dashboard.example.org", "Access-Control-Request-Method": "GET"})
cors = preflight.get_response(wsgi).headers.get("Access-Control-Allow-Origin")
print(json.dumps({"codes": codes, "cors": cors}))
"""


@pytest.fixture(scope="module")
def loaded(rendered: Path) -> dict[str, Any]:
    """What the API app loaded from the rendered files answers (see LOAD_APP)."""
    result = subprocess.run([sys.executable, "-c", LOAD_APP, str(rendered / "glance-api.conf")],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    answers: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def test_api_paste_file_loads_the_pipeline_of_the_configured_flavor(
        loaded: dict[str, Any]) -> None:
    assert loaded["codes"] == {"/": 300, "/versions": 200}


def test_api_paste_file_takes_cors_from_glance_api_conf(rendered: Path,
                                                        loaded: dict[str, Any]) -> None:
    """The full variant sets [cors] allowed_origin in glance-api.conf; the defaults none."""
    conf = configparser.RawConfigParser(interpolation=None)
    conf.read(rendered / "glance-api.conf")
    assert loaded["cors"] == conf.get("cors", "allowed_origin", fallback=None)


def _option(conf_file: Path, section: str, option: str) -> str | None:
    conf = configparser.RawConfigParser(interpolation=None)
    conf.read(conf_file)
    return conf.get(section, option, fallback=None)


def test_the_default_flavor_authenticates_with_keystone(rendered: Path) -> None:
    flavor = _option(rendered / "glance-api.conf", "paste_deploy", "flavor") or ""
    assert flavor.split("+")[0] == "keystone"  # +cachemanagement: see the cache test


def test_a_cache_directory_adds_the_cache_filter_to_the_flavor(rendered: Path) -> None:
    api_conf = rendered / "glance-api.conf"
    if rendered.parent.name.startswith("render-defaults"):
        assert _option(api_conf, "DEFAULT", "image_cache_dir") is None
        assert _option(api_conf, "paste_deploy", "flavor") == "keystone"
        return
    assert _option(api_conf, "DEFAULT", "image_cache_dir") == "/var/lib/glance/image-cache"
    assert _option(api_conf, "paste_deploy", "flavor") == "keystone+cachemanagement"


def test_no_authentication_is_refused_without_glance_allow_unauthenticated(
        tmp_path: Path) -> None:
    result = render(tmp_path / "etc", "-e", json.dumps({"glance_paste_flavor": ""}))
    assert result.returncode != 0
    assert "or, for a lab, set glance_allow_unauthenticated: true" in result.stdout
    assert not (tmp_path / "etc").exists()


def test_allowed_no_authentication_warns_and_listens_on_loopback_only(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    result = render(out, "-e", json.dumps({"glance_paste_flavor": "",
                                           "glance_allow_unauthenticated": True}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING: no authentication" in result.stdout
    assert _option(out / "glance-api.conf", "DEFAULT", "bind_host") == "127.0.0.1"
    assert _option(out / "glance-registry.conf", "DEFAULT", "bind_host") == "127.0.0.1"


def test_an_explicit_bind_host_wins_over_the_loopback_default(tmp_path: Path) -> None:
    out = tmp_path / "etc"
    result = render(out, "-e", json.dumps({"glance_paste_flavor": "",
                                           "glance_allow_unauthenticated": True,
                                           "glance_api_bind_host": "0.0.0.0"}))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _option(out / "glance-api.conf", "DEFAULT", "bind_host") == "0.0.0.0"


def test_a_misspelt_option_in_an_override_is_reported(tmp_path: Path) -> None:
    overrides = tmp_path / "typo.json"
    overrides.write_text(json.dumps({"glance_api_conf_overrides": {"DEFAULT": {"bind_prot": 1}}}))
    out = tmp_path / "etc"
    result = render(out, "-e", f"@{overrides}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert config_check.problems([str(out / "glance-api.conf")]) == [
        "[DEFAULT] bind_prot is not an option glance_svc knows"]


def test_notifications_go_to_the_url_assembled_from_host_user_and_password(
        rendered: Path) -> None:
    conf = config_check.load([str(rendered / "glance-api.conf")])
    notifications = conf.oslo_messaging_notifications
    if rendered.parent.name.startswith("render-defaults"):
        assert (notifications.driver, notifications.transport_url) == ([], None)
        return
    from oslo_messaging import TransportURL

    url = TransportURL.parse(conf, notifications.transport_url)
    [host] = url.hosts
    assert (notifications.driver, notifications.topics, url.transport, url.virtual_host,
            host.hostname, host.port, host.username, host.password,
            conf.disabled_notifications) == (
        ["messagingv2"], ["notifications"], "rabbit", "/glance", "rabbit.example.org",
        5672, "glance", "rabbit$render/pass@word", ["image.member.create", "metadef_tag"])


def test_notifications_without_a_password_are_refused(tmp_path: Path) -> None:
    result = render(tmp_path / "etc", "-e", json.dumps({"glance_notification_enabled": True}))
    assert result.returncode != 0
    assert "set glance_notification_password (no default)" in result.stdout


RBD_BACKENDS = {"glance_store_default_backend": "ceph",
                "glance_store_backends": {"ceph": {"type": "rbd", "rbd_store_pool": "images",
                                                   "rbd_store_user": "glance"}}}


def test_an_rbd_backend_without_its_ceph_user_is_refused(tmp_path: Path) -> None:
    backends = json.loads(json.dumps(RBD_BACKENDS))
    del backends["glance_store_backends"]["ceph"]["rbd_store_user"]
    backends.update(glance_ceph_mon_host="192.0.2.30", glance_ceph_client_key="k")
    result = render(tmp_path / "etc", "-e", json.dumps(backends))
    assert result.returncode != 0
    assert "every rbd backend needs rbd_store_pool and rbd_store_user" in result.stdout
    assert not (tmp_path / "etc").exists()


def test_an_rbd_backend_on_an_existing_cluster_needs_its_client_key(tmp_path: Path) -> None:
    result = render(tmp_path / "etc", "-e",
                    json.dumps({**RBD_BACKENDS, "glance_ceph_mon_host": "192.0.2.30"}))
    assert result.returncode != 0
    assert "set glance_ceph_mon_host and glance_ceph_client_key (no default)" in result.stdout
    assert not (tmp_path / "etc").exists()
