"""Two glance-api nodes on one database: each lists only its own cache, and either one
says which nodes cache an image (spec part 2, §3.3, §3.9 test_remote_and_self_cache)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ApiClient
from tests.fixtures.cache import cache_admin, cache_node, cache_now, cached

NODE_A, NODE_B = "http://node-a.example:9292", "http://node-b.example:9292"


@pytest.fixture(scope="module")
def nodes(database_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[ApiClient, ApiClient]]:
    with cache_node(tmp_path_factory.mktemp("node-a"), database_url, NODE_A) as node_a, \
            cache_node(tmp_path_factory.mktemp("node-b"), database_url, NODE_B) as node_b:
        yield cache_admin(node_a), cache_admin(node_b)


def cached_ids(node: ApiClient) -> set[str]:
    return set(cached(node))


def test_each_node_lists_only_what_it_caches(nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_now(node_a, image["id"])
    assert image["id"] not in cached_ids(node_b)


def test_either_node_names_every_node_caching_an_image(
        nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_now(node_a, image["id"])
    assert node_b.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A]
    cache_now(node_b, image["id"])
    assert node_a.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A, NODE_B]


def test_clearing_one_node_leaves_the_other_nodes_cache(
        nodes: tuple[ApiClient, ApiClient]) -> None:
    node_a, node_b = nodes
    image = node_a.active_image()
    cache_now(node_a, image["id"])
    cache_now(node_b, image["id"])
    assert node_b.delete("/v2/cache").status_code == 204
    assert node_b.get("/v2/cache").json() == {"cached_images": [], "queued_images": []}
    assert image["id"] in cached_ids(node_a)
    assert node_a.get(f"/v2/cache/nodes/{image['id']}").json() == [NODE_A]
