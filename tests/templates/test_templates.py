"""The config templates render, parse, and set only options glance_svc really reads.

The files are rendered by the glance_config role itself (playbooks/render_config.yml),
once with the role defaults and once with every feature switched on, so what is checked
is exactly what an operator gets. A misspelt option must fail here, never be ignored.
"""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from oslo_config import cfg
from oslo_context.context import RequestContext

from glance_svc import config_check

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CONF_FILES = ["glance-api.conf", "glance-registry.conf", "glance-scrubber.conf",
              "glance-manage.conf"]
VARIANTS = {
    "defaults": [],
    "full": ["-e", f"@{ROOT / 'playbooks/vars/render_full.yml'}"],
}


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


@pytest.mark.parametrize("name", [*CONF_FILES, "glance-api-paste.ini",
                                  "glance-registry-paste.ini"])
def test_ini_file_parses(rendered: Path, name: str) -> None:
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    parser.read_string((rendered / name).read_text())
    assert parser.sections()


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
print(json.dumps(codes))
"""


def test_api_paste_file_loads_the_pipeline_of_the_configured_flavor(rendered: Path) -> None:
    result = subprocess.run([sys.executable, "-c", LOAD_APP, str(rendered / "glance-api.conf")],
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"/": 300, "/versions": 200}


def test_a_misspelt_option_in_an_override_is_reported(tmp_path: Path) -> None:
    overrides = tmp_path / "typo.json"
    overrides.write_text(json.dumps({"glance_api_conf_overrides": {"DEFAULT": {"bind_prot": 1}}}))
    out = tmp_path / "etc"
    result = render(out, "-e", f"@{overrides}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert config_check.problems([str(out / "glance-api.conf")]) == [
        "[DEFAULT] bind_prot is not an option glance_svc knows"]
