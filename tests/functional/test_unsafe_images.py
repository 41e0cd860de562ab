"""Unsafe disk images are refused whatever container_format the image declares.

A qcow2 with a backing file or an external data file, or a VMDK descriptor whose extent
is a host file, makes whoever probes the image (qemu-img, Nova) read that host file. The
images here are made by qemu-img itself; ova and docker wrap each of them in a tar, the
other containers carry the disk as is. Every refusal is a 415 and leaves the image
``queued`` with no size and no data in the store; the same images declared ``raw`` are
refused too, and a safe qcow2 is accepted in every container. The glance-direct and
web-download imports run through the same inspection.
"""

from __future__ import annotations

import http.server
import io
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator

import pytest

from tests.conftest import OCTET, ApiClient, error_text, import_settled
from tests.fixtures.service import GlanceServer
from tests.functional.test_import import ImageHandler

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img")

CONTAINERS = ["bare", "ovf", "ova", "docker", "compressed", "ami", "ari", "aki"]
TAR_CONTAINERS = {"ova", "docker"}
# The malicious images and the disk_format each one claims to be.
UNSAFE = {"qcow2-backing-file": "qcow2", "qcow2-data-file": "qcow2",
          "vmdk-host-extent": "vmdk"}
MIB = 1024 * 1024
REFUSED = "Image failed safety checks"


@pytest.fixture(scope="session")
def disk_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The malicious images, and a safe qcow2, as qemu-img writes them."""
    work = tmp_path_factory.mktemp("disk-images")
    for args in (
        ["-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", work / "backing.qcow2"],
        ["-f", "qcow2", "-o", f"data_file={work / 'data.raw'},data_file_raw=on",
         work / "data.qcow2"],
        # A monolithicFlat VMDK is a text descriptor and a flat file: aim it at the host's.
        ["-f", "vmdk", "-o", "subformat=monolithicFlat", work / "flat.vmdk"],
        ["-f", "qcow2", work / "safe.qcow2"],
    ):
        subprocess.run(["qemu-img", "create", *map(str, args), "1M"], check=True,
                       capture_output=True, timeout=60)
    descriptor = (work / "flat.vmdk").read_text().replace('"flat-flat.vmdk"',
                                                          '"/etc/passwd"')
    assert '"/etc/passwd"' in descriptor
    return {"qcow2-backing-file": (work / "backing.qcow2").read_bytes(),
            "qcow2-data-file": (work / "data.qcow2").read_bytes(),
            "vmdk-host-extent": descriptor.encode(),
            "safe-qcow2": (work / "safe.qcow2").read_bytes()}


def tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return out.getvalue()


def payload(container_format: str, disk: bytes) -> bytes:
    """What a client uploads: the disk itself, or an ova/docker archive holding it."""
    if container_format == "ova":
        return tar({"vm.ovf": b"<Envelope/>\n", "vm-disk1.img": disk})
    if container_format == "docker":
        return tar({"manifest.json": b"[]\n", "layer/disk.img": disk})
    return disk


def assert_refused_and_clean(api: ApiClient, server: GlanceServer, image_id: str) -> None:
    image = api.get(f"/v2/images/{image_id}").json()
    assert (image["status"], image["size"], image["checksum"]) == ("queued", None, None)
    assert image_id not in server.stored_files()


@pytest.mark.parametrize("container_format", CONTAINERS)
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_unsafe_image_is_415_in_every_container(api, server, disk_images, container_format,
                                                unsafe):
    image = api.create_image(disk_format=UNSAFE[unsafe], container_format=container_format)
    response = api.upload(image["id"], payload(container_format, disk_images[unsafe]))
    assert response.status_code == 415
    assert REFUSED in error_text(response)
    assert_refused_and_clean(api, server, image["id"])


@pytest.mark.parametrize("container_format", CONTAINERS)
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_unsafe_image_declared_raw_is_415_in_every_container(api, server, disk_images,
                                                             container_format, unsafe):
    image = api.create_image(disk_format="raw", container_format=container_format)
    response = api.upload(image["id"], payload(container_format, disk_images[unsafe]))
    assert response.status_code == 415
    assert REFUSED in error_text(response)
    assert_refused_and_clean(api, server, image["id"])


@pytest.mark.parametrize("container_format", sorted(TAR_CONTAINERS))
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_unsafe_image_not_in_a_tar_is_415_under_a_tar_container(api, server, disk_images,
                                                                container_format, unsafe):
    image = api.create_image(disk_format=UNSAFE[unsafe], container_format=container_format)
    response = api.upload(image["id"], disk_images[unsafe])
    assert response.status_code == 415
    assert REFUSED in error_text(response)
    assert_refused_and_clean(api, server, image["id"])


@pytest.mark.parametrize("container_format", CONTAINERS)
def test_safe_qcow2_is_accepted_in_every_container(api, disk_images, container_format):
    image = api.create_image(disk_format="qcow2", container_format=container_format)
    data = payload(container_format, disk_images["safe-qcow2"])
    assert api.upload(image["id"], data).status_code == 204
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert (shown["status"], shown["size"]) == ("active", len(data))
    expected_virtual_size = None if container_format in TAR_CONTAINERS else MIB
    assert shown["virtual_size"] == expected_virtual_size


def test_safe_data_that_is_not_a_tar_is_accepted_as_ova(api, disk_images):
    image = api.create_image(disk_format="qcow2", container_format="ova")
    assert api.upload(image["id"], disk_images["safe-qcow2"]).status_code == 204


# -- imports ----------------------------------------------------------------------------------
@pytest.mark.parametrize("container_format", ["ovf", "ova"])
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_glance_direct_import_of_an_unsafe_image_returns_to_queued(api, server, disk_images,
                                                                   container_format, unsafe):
    image = api.create_image(disk_format=UNSAFE[unsafe], container_format=container_format)
    staged = api.put(f"/v2/images/{image['id']}/stage",
                     data=payload(container_format, disk_images[unsafe]), headers=OCTET)
    assert staged.status_code == 204
    response = api.post(f"/v2/images/{image['id']}/import",
                        json={"method": {"name": "glance-direct"}})
    assert response.status_code == 202
    api.wait_for(image["id"], import_settled)
    assert_refused_and_clean(api, server, image["id"])
    assert not (server.staging_dir / image["id"]).exists()


@pytest.fixture(scope="module")
def web_files(disk_images: dict[str, bytes]) -> Iterator[tuple[int, dict[str, bytes]]]:
    """A local web server offering every malicious image, as is and as an ova."""
    files = {f"/{name}.{container}": payload(container, disk_images[name])
             for name in UNSAFE for container in ("bare", "ova")}
    handler = type("Handler", (ImageHandler,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], files
    httpd.shutdown()


@pytest.fixture(scope="module")
def web_server(web_files, database_url: str, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[GlanceServer]:
    port, _files = web_files
    conf = {"import_filtering_opts": {"allowed_hosts": "127.0.0.1", "allowed_ports": port}}
    with GlanceServer(tmp_path_factory.mktemp("glance-unsafe-web"), conf,
                      database_url=database_url) as srv:
        yield srv


@pytest.mark.parametrize("container_format", ["ovf", "ova"])
@pytest.mark.parametrize("unsafe", UNSAFE)
def test_web_download_of_an_unsafe_image_returns_to_queued(web_files, web_server,
                                                           container_format, unsafe):
    port, _files = web_files
    api = ApiClient(web_server.url)
    image = api.create_image(disk_format=UNSAFE[unsafe], container_format=container_format)
    wrapped = "ova" if container_format == "ova" else "bare"
    response = api.post(f"/v2/images/{image['id']}/import", json={"method": {
        "name": "web-download", "uri": f"http://127.0.0.1:{port}/{unsafe}.{wrapped}"}})
    assert response.status_code == 202
    api.wait_for(image["id"], import_settled)
    assert_refused_and_clean(api, web_server, image["id"])
    assert not (web_server.staging_dir / image["id"]).exists()
