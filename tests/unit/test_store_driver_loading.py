"""A service imports the drivers of its configured stores and no other.

Each check runs in a fresh interpreter: what the test process itself has imported says
nothing about what a glance-api worker carries.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Parse the config the way glance-api does, load the stores, and name the watched
# modules that ended up imported.
PROBE = """
import json, sys
from glance_svc import config
from glance_svc.api import server
from glance_svc.store import backends

if sys.argv[2] == "served":
    server.keep_eventlet_out()
conf = config.parse_args(["--config-file", sys.argv[1]], prog="glance-api")
gateway = backends.StoreGateway(conf)
watched = ("swiftclient", "boto3", "botocore", "keystoneclient", "eventlet",
           "glance_store._drivers.swift", "glance_store._drivers.s3",
           "glance_store._drivers.rbd", "glance_store._drivers.cinder",
           "glance_store._drivers.vmware_datastore", "glance_store._drivers.filesystem")
print(json.dumps({"loaded": sorted(b.type for b in gateway.backends()),
                  "imported": [m for m in watched if sys.modules.get(m) is not None]}))
"""


def probe(tmp_path: Path, conf_text: str, mode: str = "plain") -> dict[str, list[str]]:
    conf = tmp_path / "glance-api.conf"
    conf.write_text(f"[DEFAULT]\nnode_staging_uri = file://{tmp_path}/staging\n{conf_text}")
    done = subprocess.run([sys.executable, "-c", PROBE, str(conf), mode],
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.splitlines()[-1])


SINGLE_STORE = """
[glance_store]
stores = file, http
filesystem_store_datadir = {tmp}/images
"""
MULTI_STORE = """
enabled_backends = fast:file, web:http
[glance_store]
default_backend = fast
[fast]
filesystem_store_datadir = {tmp}/fast
"""


@pytest.mark.parametrize("conf_text", [SINGLE_STORE, MULTI_STORE], ids=["single", "multi"])
def test_only_the_configured_drivers_are_imported(tmp_path, conf_text):
    found = probe(tmp_path, conf_text.format(tmp=tmp_path))
    assert found["loaded"] == ["file", "http"]
    assert [m for m in found["imported"] if m != "eventlet"] == [
        "glance_store._drivers.filesystem"]


def test_served_process_loads_the_file_store_without_eventlet(tmp_path):
    found = probe(tmp_path, f"""
[glance_store]
stores = file
filesystem_store_datadir = {tmp_path}/images
""", mode="served")
    assert found == {"loaded": ["file"], "imported": ["glance_store._drivers.filesystem"]}
