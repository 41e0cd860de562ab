"""Two glance-api nodes on one database: each lists only its own cache, and either one
says which nodes cache an image (spec part 2, §3.3, §3.9 test_remote_and_self_cache)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROJECT_A, ApiClient
from tests.fixtures.service import GlanceServer

NODE_A, NODE_B = "http://node-a.example:9292", "http://node-b.example:9292"


def start_node(workdir: Path, node_url: str, database_url: str) -> GlanceServer:
    conf = {"DEFAULT": {"image_cache_dir": str(workdir / "cache"),
                        "worker_self_reference_url": node_url}}
    server = GlanceServer(workdir, conf, paste_flavor="trusted-auth+caching",
                          database_url=database_url)
    server.start()
    return server


@pytest.fixture(scope="module")
def nodes(database_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[ApiClient, ApiClient]]:
    node_a = start_node(tmp_path_factory.mktemp("node-a"), NODE_A, database_url)
    try:
        node_b = start_node(tmp_path_factory.mktemp("node-b"), NODE_B, database_url)
    except BaseException:
        node_a.stop()
        raise
    try:
        yield tuple(ApiClient(s.url).as_user(PROJECT_A, roles="admin,member,reader")
                    for s in (node_a, node_b))  # type: ignore[misc]
    finally:
        node_b.stop()
        node_a.stop()


def cached_ids(node: ApiClient) -> set[str]:
    return {e["image_id"] for e in node.get("/v2/cache").json()["cached_images"]}


def cache_on(node: ApiClient, image_id: str) -> None:
    assert node.put(f"/v2/cache/{image_id}").status_code == 202
    deadline = time.monotonic() + 30
    while image_id not in cached_ids(node):
        assert time.monotonic() < deadline, "the image was never cached"
        time.sleep(0.1)


def test_each_node_lists_only_what_it_caches(nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_on(node_a, image["id"])
    assert image["id"] not in cached_ids(node_b)


def test_either_node_names_every_node_caching_an_image(
        nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_on(node_a, image["id"])
    assert node_b.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A]
    cache_on(node_b, image["id"])
    assert node_a.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A, NODE_B]


def test_clearing_one_node_leaves_the_other_nodes_cache(
        nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_on(node_a, image["id"])
    cache_on(node_b, image["id"])
    assert node_b.delete("/v2/cache").status_code == 204
    assert node_b.get("/v2/cache").json() == {"cached_images": [], "queued_images": []}
    assert image["id"] in cached_ids(node_a)
    assert node_a.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A]
