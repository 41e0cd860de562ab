"""The registry over HTTPS: the registry_client_* TLS options reach the connection.

A throwaway CA and a server certificate for 127.0.0.1 are made with openssl; the registry
serves them through the shared gunicorn settings (cert_file/key_file).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from glance_svc import errors
from glance_svc.registry.client import RegistryRepository, registry_client_opts
from tests.fixtures.registry import RegistryServer

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ca.pem, server.pem/server.key (SAN IP:127.0.0.1), client.pem/client.key."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=test-ca", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))
        openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"),
                "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
                "-extfile", str(d / "san.ext"), "-out", str(d / f"{name}.pem"))
    return {p.name: p for p in d.iterdir()}


@pytest.fixture(scope="module")
def tls_registry(pki: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RegistryServer]:
    conf = {"DEFAULT": {"cert_file": str(pki["server.pem"]),
                        "key_file": str(pki["server.key"])}}
    with RegistryServer(tmp_path_factory.mktemp("registry-tls"), conf=conf,
                        scheme="https") as server:
        yield server


def client(registry: RegistryServer, **options: Any) -> RegistryRepository:
    conf = cfg.ConfigOpts()
    conf.register_opts(registry_client_opts)
    conf([], default_config_files=[])
    settings = {"registry_host": "127.0.0.1", "registry_port": registry.port,
                "registry_client_protocol": "https", **options}
    for name, value in settings.items():
        conf.set_override(name, value)
    return RegistryRepository(conf)


def test_client_trusting_the_ca_is_served(tls_registry: RegistryServer,
                                          pki: dict[str, Path]) -> None:
    repo = client(tls_registry, registry_client_ca_file=str(pki["ca.pem"]))
    assert repo.storage_used(uuid.uuid4().hex) == 0


def test_client_not_trusting_the_ca_is_refused(tls_registry: RegistryServer) -> None:
    repo = client(tls_registry)
    with pytest.raises(errors.ServiceUnavailable) as caught:
        repo.storage_used(None)
    assert caught.value.message == f"glance-registry at {repo.url} is unreachable."


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_insecure_client_skips_verification(tls_registry: RegistryServer) -> None:
    repo = client(tls_registry, registry_client_insecure=True)
    assert repo.storage_used(uuid.uuid4().hex) == 0


def test_client_certificate_is_accepted_with_its_key(tls_registry: RegistryServer,
                                                     pki: dict[str, Path]) -> None:
    repo = client(tls_registry, registry_client_ca_file=str(pki["ca.pem"]),
                  registry_client_cert_file=str(pki["client.pem"]),
                  registry_client_key_file=str(pki["client.key"]))
    assert repo.http.cert == (str(pki["client.pem"]), str(pki["client.key"]))
    assert repo.storage_used(uuid.uuid4().hex) == 0


def test_client_certificate_without_key_is_a_config_error(tls_registry: RegistryServer,
                                                          pki: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="must be set together"):
        client(tls_registry, registry_client_cert_file=str(pki["client.pem"]))


def test_plain_http_client_cannot_talk_to_the_tls_registry(tls_registry: RegistryServer
                                                           ) -> None:
    repo = client(tls_registry, registry_client_protocol="http")
    with pytest.raises(errors.ServiceUnavailable):
        repo.storage_used(None)
