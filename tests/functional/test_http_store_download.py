"""GET /v2/images/{id}/file of an image whose data is in the http store.

Such data reaches the client through the worker (no sendfile): it must stream in the
driver's chunks, never be held whole, and a range must be the range's bytes even though
the driver reads the object from its first byte.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from glance_svc.store.bodies import STREAM_CHUNK
from tests.conftest import PROJECT_A, ApiClient, trusted_server_with
from tests.fixtures.origin import ORIGIN_ALLOWED, Origin, serving
from tests.fixtures.service import GlanceServer

MIB = 1024 * 1024
# Large beside what a worker holds (tens of MiB), so a worker that buffered the image
# could not stay under the bound below.
DATA = os.urandom(MIB) * 200
MD5 = hashlib.md5(DATA).hexdigest()
# RSS a worker may gain while sending the image: the chunk being sent and the one being
# read (the driver's generator keeps the first until the second arrives), and slack.
RSS_GROWTH_BOUND = 2 * STREAM_CHUNK + 2 * MIB


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    yield from serving(Origin(DATA))


@pytest.fixture(scope="module")
def trusted_server(database_url: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[GlanceServer]:
    yield from trusted_server_with(ORIGIN_ALLOWED, database_url, tmp_path_factory)


@pytest.fixture(scope="module")
def owner(trusted_server: GlanceServer) -> ApiClient:
    return ApiClient(trusted_server.url).as_user(PROJECT_A)


@pytest.fixture(scope="module")
def image(owner: ApiClient, origin: Origin) -> dict:
    """An image whose only location is the origin's URL, its hashes computed."""
    image = owner.create_image(disk_format="raw", container_format="bare")
    response = owner.post(f"/v2/images/{image['id']}/locations", json={"url": origin.url})
    assert response.status_code == 202, response.text
    hashed = owner.wait_for(image["id"], lambda i: i["checksum"] is not None, timeout=120)
    assert hashed["checksum"] == MD5
    return hashed


def worker_rss(server: GlanceServer) -> int:
    """Bytes resident in the server's worker processes (gunicorn's master excluded)."""
    assert server.process is not None
    total = 0
    for children in Path(f"/proc/{server.process.pid}/task").glob("*/children"):
        for pid in children.read_text().split():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def test_a_range_is_the_ranges_bytes(owner, image):
    response = owner.get(f"/v2/images/{image['id']}/file",
                         headers={"Range": f"bytes={5 * MIB - 7}-{5 * MIB + 9}"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {5 * MIB - 7}-{5 * MIB + 9}/{len(DATA)}"
    assert response.content == DATA[5 * MIB - 7:5 * MIB + 10]


def test_a_slow_client_gets_every_byte_while_the_worker_stays_small(
        trusted_server, owner, image):
    owner.get(f"/v2/images/{image['id']}/file", headers={"Range": "bytes=0-0"})  # warm up
    before = worker_rss(trusted_server)
    peak = before
    digest = hashlib.md5()
    received = 0
    with owner.session.get(f"{owner.base_url}/v2/images/{image['id']}/file",
                           headers=owner.headers, stream=True, timeout=120) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(len(DATA))
        assert response.headers["Content-MD5"] == MD5
        for chunk in response.iter_content(MIB):
            digest.update(chunk)
            received += len(chunk)
            if received % (8 * MIB) == 0:
                time.sleep(0.05)  # the worker must wait for us, not read ahead
                peak = max(peak, worker_rss(trusted_server))
    assert received == len(DATA)
    assert digest.hexdigest() == MD5
    assert peak - before < RSS_GROWTH_BOUND, f"worker grew by {(peak - before) / MIB:.1f} MiB"
