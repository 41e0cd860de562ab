"""A broker that goes away mid-run never fails or stalls the API (spec part 2 §1.1: with
Glance, the default ``retry = -1`` blocks the request until the broker is back).

A broker of its own, killed and restarted in the middle of the module.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import PROJECT_A, ApiClient, trusted_server_with
from tests.fixtures import rabbitmq
from tests.fixtures.rabbitmq import EventListener, RabbitMQServer, about
from tests.fixtures.service import GlanceServer
from tests.functional.test_notifications import notification_conf

pytestmark = pytest.mark.skipif(not rabbitmq.available(),
                                reason="Debian's rabbitmq-server is not installed")

# Generous: the API call itself takes milliseconds; Glance's would hang until the
# broker returns.
BOUND_SECONDS = 5.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    yield from rabbitmq.broker(tmp_path_factory.mktemp("rabbitmq-down"))


@pytest.fixture(scope="module")
def server(broker: RabbitMQServer, database_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[GlanceServer]:
    yield from trusted_server_with(notification_conf(broker.url), database_url,
                                   tmp_path_factory)


def timed(call: object) -> float:
    start = time.monotonic()
    assert callable(call)
    call()
    return time.monotonic() - start


def test_api_calls_stay_fast_while_the_broker_is_down_and_events_resume(
        broker: RabbitMQServer, server: GlanceServer) -> None:
    api = ApiClient(server.url).as_user(PROJECT_A)
    with EventListener(broker.url) as listener:
        before = api.create_image()
        listener.wait_for(about(before["id"]))  # the server's connection is up
    broker.stop()

    during: dict[str, str] = {}
    create = timed(lambda: during.update(api.create_image(disk_format="raw",
                                                          container_format="bare")))
    upload = timed(lambda: api.upload(during["id"], b"x" * 4096).raise_for_status())
    download = timed(lambda: api.get(f"/v2/images/{during['id']}/file").raise_for_status())
    print(f"\nbroker down: create {create * 1000:.0f} ms, upload {upload * 1000:.0f} ms, "
          f"download {download * 1000:.0f} ms")
    assert max(create, upload, download) < BOUND_SECONDS

    broker.start()
    with EventListener(broker.url) as listener:
        after = api.create_image()
        listener.wait_for(about(after["id"]), timeout=120)
        # What was emitted during the outage waited in the queue and went out in order.
        assert [e["event_type"] for e in listener.matching(about(during["id"]))] == [
            "image.create", "image.update", "image.prepare", "image.upload",
            "image.activate", "image.update", "image.send"]
