"""The Tempest stage's runner (tests/tempest/run.py), without running Tempest.

What it writes and what it reports are checked here because the stage itself runs only in
scripts/test, minutes long: a placeholder left in tempest.conf or a summary it fails to
find would otherwise show only there.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from glance_svc.config_check import problems
from tests.fixtures.service import write_ini
from tests.tempest import run

VALUES = {"workdir": "/w", "admin_password": "pw", "auth_url": "http://ks/v3",
          "http_base": "http://127.0.0.1:8000"}

# The tail of a `tempest run` output, as stestr's subunit-trace prints it.
OUTPUT = """\
{0} tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image [0.5s] ... ok
{1} tempest.api.image.v2.test_images.ImportImagesTest.test_remote_import [121.2s] ... FAILED

Captured traceback:
~~~~~~~~~~~~~~~~~~~
    TimeoutException
{0} setUpClass (tempest.api.image.v2.admin.test_x.XTest) [0.000000s] ... FAILED
{1} setUpClass (tempest.api.image.v2.test_y.YTest) ... SKIPPED: Nova is not available

==============================
Failed 2 tests - output below:
==============================

======
Totals
======
Ran: 3 tests in 130.0 sec.
 - Passed: 1
 - Skipped: 1
 - Expected Fail: 0
 - Unexpected Success: 0
 - Failed: 2
Sum of execute time for each test: 121.7 sec.
"""


@pytest.mark.parametrize("name", list(run.CONFIGS))
def test_tempest_conf_has_every_placeholder_filled(tmp_path: Path, name: str) -> None:
    conf = tmp_path / "tempest.conf"
    run.write_tempest_conf(conf, name, VALUES)
    text = conf.read_text()
    assert "${" not in text
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    assert parser.get("identity", "uri_v3") == "http://ks/v3"
    assert parser.get("image", "alternate_image_endpoint") == "image_remote"
    assert parser.get("service_available", "nova") == "False"


def test_tempest_conf_of_multi_store_enables_the_cache_and_locations(tmp_path: Path) -> None:
    conf = tmp_path / "tempest.conf"
    run.write_tempest_conf(conf, "multi-store", VALUES)
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(conf.read_text())
    assert parser.get("image", "image_caching_enabled") == "True"
    assert parser.get("image-feature-enabled", "manage_locations") == "True"
    assert parser.get("image-feature-enabled", "image_format_enforcement") == "False"


@pytest.mark.parametrize("name", list(run.CONFIGS))
def test_glance_conf_of_each_configuration_sets_only_options_glance_svc_reads(
        tmp_path: Path, name: str) -> None:
    build, _flavor = run.CONFIGS[name]
    write_ini(tmp_path / "glance-api.conf", build(tmp_path))
    found = problems([str(tmp_path / "glance-api.conf")])
    assert found == []


def test_report_prints_tempest_totals_and_the_failed_tests(
        capsys: pytest.CaptureFixture[str]) -> None:
    run.report("single-store", 1, OUTPUT, Path("/w/tempest-run.log"), 130.4)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("== tempest single-store: 130 s, exit 1, full output in "
                        "/w/tempest-run.log")
    assert lines[1:3] == [
        "FAILED tempest.api.image.v2.test_images.ImportImagesTest.test_remote_import",
        "FAILED setUpClass (tempest.api.image.v2.admin.test_x.XTest)",
    ]
    assert lines[3:] == ["======", "Totals", "======", "Ran: 3 tests in 130.0 sec.",
                         " - Passed: 1", " - Skipped: 1", " - Expected Fail: 0",
                         " - Unexpected Success: 0", " - Failed: 2"]
