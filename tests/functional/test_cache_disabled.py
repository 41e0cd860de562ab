"""The cache routes and versions on a node without ``image_cache_dir`` (spec part 2,
§3.7, §7.2): policy first, then 404; versions stop at 2.17."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_A, ApiClient, outcome

JSON = {"Accept": "application/json"}
DISABLED = "Caching via API is not supported at this site."


@pytest.fixture
def admin(trusted_api: ApiClient) -> ApiClient:
    return trusted_api.as_user(PROJECT_A, roles="admin,member,reader")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v2/cache"), ("DELETE", "/v2/cache"), ("POST", "/v2/cache/clean"),
    ("POST", "/v2/cache/prune"), ("GET", "/v2/cache/nodes/5a0c2f8e-6b1d-4e3f-8a9b-0c1d2e3f4a5b")])
def test_without_a_cache_the_cache_api_is_404(admin: ApiClient, method: str,
                                              path: str) -> None:
    assert outcome(admin.request(method, path, headers=JSON)) == (404, DISABLED)


def test_without_a_cache_queueing_an_active_image_is_404(admin: ApiClient) -> None:
    image = admin.active_image()
    assert outcome(admin.put(f"/v2/cache/{image['id']}", headers=JSON)) == (404, DISABLED)


def test_without_a_cache_the_policy_is_still_checked_first(admin: ApiClient) -> None:
    member = admin.as_user(PROJECT_A)
    assert outcome(member.get("/v2/cache", headers=JSON)) == (
        403, "You are not authorized to complete cache_list action.")


def test_without_a_cache_2_17_is_current_and_the_cache_versions_are_absent(
        admin: ApiClient) -> None:
    versions = [(v["id"], v["status"]) for v in admin.get("/versions").json()["versions"]]
    assert versions == [("v2.15", "SUPPORTED"), ("v2.9", "SUPPORTED"), ("v2.17", "CURRENT"),
                        *[(f"v2.{n}", "SUPPORTED") for n in range(7, -1, -1)]]


@pytest.mark.parametrize("version", ["v2.14", "v2.16", "v2.18"])
def test_without_a_cache_the_cache_version_prefixes_get_the_versions_document(
        admin: ApiClient, version: str) -> None:
    assert admin.get(f"/{version}/images").status_code == 300


def test_the_cache_filter_without_a_cache_directory_stops_the_start(make_server) -> None:  # noqa: ANN001
    with pytest.raises(RuntimeError, match="image_cache_dir is not set"):
        make_server(paste_flavor="trusted-auth+caching")
