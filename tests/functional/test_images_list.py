"""GET /v2/images over HTTP (spec §3.2): filters, sorting, paging links, errors.

The no-auth server is shared by the session, so every test tags its own images and
filters by that tag.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import ApiClient

JSON = {"Accept": "application/json"}


@pytest.fixture
def tag() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def listed(api: ApiClient, query: str) -> dict[str, Any]:
    response = api.get(f"/v2/images?{query}")
    assert response.status_code == 200, response.text
    return response.json()


def names(api: ApiClient, query: str) -> list[str]:
    return [image["name"] for image in listed(api, query)["images"]]


def error(api: ApiClient, query: str) -> tuple[int, str]:
    response = api.get(f"/v2/images?{query}", headers=JSON)
    return response.status_code, response.json()["message"].split("<br")[0]


def test_filter_by_tag(api: ApiClient, tag: str) -> None:
    api.create_image(name="mine", tags=[tag])
    api.create_image(name="other")
    assert names(api, f"tag={tag}") == ["mine"]


def test_every_tag_must_match(api: ApiClient, tag: str) -> None:
    api.create_image(name="both", tags=[tag, "x"])
    api.create_image(name="one", tags=[tag])
    assert names(api, f"tag={tag}&tag=x") == ["both"]


def test_default_order_is_newest_first(api: ApiClient, tag: str) -> None:
    api.create_image(name="older", tags=[tag])
    time.sleep(1.1)  # timestamps have second precision
    api.create_image(name="newer", tags=[tag])
    assert names(api, f"tag={tag}") == ["newer", "older"]


def test_sort_by_name_ascending(api: ApiClient, tag: str) -> None:
    for name in ("b", "c", "a"):
        api.create_image(name=name, tags=[tag])
    assert names(api, f"tag={tag}&sort_key=name&sort_dir=asc") == ["a", "b", "c"]


def test_new_sort_syntax(api: ApiClient, tag: str) -> None:
    for name in ("b", "c", "a"):
        api.create_image(name=name, tags=[tag])
    assert names(api, f"tag={tag}&sort=name:desc") == ["c", "b", "a"]


def test_name_in_filter_with_quoted_comma(api: ApiClient, tag: str) -> None:
    for name in ("a,b", "c", "d"):
        api.create_image(name=name, tags=[tag])
    assert sorted(names(api, f'tag={tag}&name=in:"a,b",c')) == ["a,b", "c"]


def test_name_with_colon_needs_eq(api: ApiClient, tag: str) -> None:
    api.create_image(name="ubuntu:22.04", tags=[tag])
    assert names(api, f"tag={tag}&name=eq:ubuntu:22.04") == ["ubuntu:22.04"]


def test_name_with_colon_without_eq_is_400(api: ApiClient) -> None:
    assert error(api, "name=ubuntu:22.04") == \
        (400, "Unable to filter by unknown operator 'ubuntu'.")


def test_custom_property_filter(api: ApiClient, tag: str) -> None:
    api.create_image(name="deb", tags=[tag], os_distro="debian")
    api.create_image(name="ubu", tags=[tag], os_distro="ubuntu")
    assert names(api, f"tag={tag}&os_distro=debian") == ["deb"]


def test_disk_format_filter(api: ApiClient, tag: str) -> None:
    api.create_image(name="q", tags=[tag], disk_format="qcow2")
    api.create_image(name="r", tags=[tag], disk_format="raw")
    assert names(api, f"tag={tag}&disk_format=qcow2") == ["q"]


def test_status_filter(api: ApiClient, tag: str) -> None:
    api.create_image(name="q", tags=[tag])
    assert names(api, f"tag={tag}&status=active") == []


def test_hidden_images_are_left_out_by_default(api: ApiClient, tag: str) -> None:
    api.create_image(name="shown", tags=[tag])
    api.create_image(name="hidden", tags=[tag], os_hidden=True)
    assert names(api, f"tag={tag}") == ["shown"]


def test_os_hidden_true_lists_only_hidden_images(api: ApiClient, tag: str) -> None:
    api.create_image(name="shown", tags=[tag])
    api.create_image(name="hidden", tags=[tag], os_hidden=True)
    assert names(api, f"tag={tag}&os_hidden=true") == ["hidden"]


def test_protected_filter(api: ApiClient, tag: str) -> None:
    api.create_image(name="p", tags=[tag], protected=True)
    api.create_image(name="u", tags=[tag])
    assert names(api, f"tag={tag}&protected=true") == ["p"]


def test_created_at_filter(api: ApiClient, tag: str) -> None:
    image = api.create_image(name="now", tags=[tag])
    stamp = image["created_at"]
    assert (names(api, f"tag={tag}&created_at=gte:{stamp}"),
            names(api, f"tag={tag}&created_at=lt:{stamp}")) == (["now"], [])


def test_deleted_images_are_not_listed(api: ApiClient, tag: str) -> None:
    image = api.create_image(name="gone", tags=[tag])
    api.delete(f"/v2/images/{image['id']}")
    assert names(api, f"tag={tag}") == []


def test_paging_follows_next_links(api: ApiClient, tag: str) -> None:
    for name in ("a", "b", "c"):
        api.create_image(name=name, tags=[tag])
    first = listed(api, f"tag={tag}&limit=2&sort_key=name&sort_dir=asc")
    second = api.get(first["next"]).json()
    assert ([i["name"] for i in first["images"]], [i["name"] for i in second["images"]],
            "next" in second) == (["a", "b"], ["c"], False)


def test_full_last_page_still_has_next(api: ApiClient, tag: str) -> None:
    for name in ("a", "b"):
        api.create_image(name=name, tags=[tag])
    page = listed(api, f"tag={tag}&limit=2")
    assert api.get(page["next"]).json()["images"] == []


def test_links_keep_the_query(api: ApiClient, tag: str) -> None:
    for name in ("a", "b"):
        api.create_image(name=name, tags=[tag])
    page = listed(api, f"limit=1&tag={tag}&sort=name:asc")
    marker = page["images"][0]["id"]
    assert (page["first"], page["next"], page["schema"]) == (
        f"/v2/images?limit=1&tag={tag}&sort=name%3Aasc",
        f"/v2/images?limit=1&tag={tag}&sort=name%3Aasc&marker={marker}",
        "/v2/schemas/images")


def test_first_without_a_query(api: ApiClient) -> None:
    assert listed(api, "")["first"] == "/v2/images"


def test_first_drops_the_marker(api: ApiClient, tag: str) -> None:
    for name in ("a", "b"):
        api.create_image(name=name, tags=[tag])
    page = listed(api, f"tag={tag}&limit=1")
    following = api.get(page["next"]).json()
    assert dict(parse_qsl(urlsplit(following["first"]).query)) == {"tag": tag, "limit": "1"}


def test_limit_zero_is_an_empty_page(api: ApiClient, tag: str) -> None:
    api.create_image(tags=[tag])
    assert listed(api, f"tag={tag}&limit=0")["images"] == []


def test_limit_is_capped_at_api_limit_max(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"api_limit_max": 2}})
    client = ApiClient(server.url)
    for _ in range(3):
        client.create_image()
    assert len(client.get("/v2/images?limit=100").json()["images"]) == 2


def test_default_page_size_is_limit_param_default(make_server) -> None:
    server = make_server(conf={"DEFAULT": {"limit_param_default": 1}})
    client = ApiClient(server.url)
    client.create_image()
    client.create_image()
    assert len(client.get("/v2/images").json()["images"]) == 1


def test_unknown_marker_is_400(api: ApiClient) -> None:
    marker = str(uuid.uuid4())
    assert error(api, f"marker={marker}") == (400, f"No image found with ID {marker}")


def test_negative_limit_is_400(api: ApiClient) -> None:
    assert error(api, "limit=-1") == (400, "limit param must be positive")


def test_bad_sort_key_is_400(api: ApiClient) -> None:
    assert error(api, "sort_key=owner")[0] == 400


def test_mixed_sort_syntax_is_400(api: ApiClient) -> None:
    assert error(api, "sort=name&sort_dir=asc") == \
        (400, "Old and new sorting syntax cannot be combined")


def test_changes_since_is_400(api: ApiClient) -> None:
    assert error(api, "changes-since=2026-01-01T00:00:00Z") == \
        (400, 'The "changes-since" filter is no longer available on v2.')


def test_bad_visibility_is_400(api: ApiClient) -> None:
    assert error(api, "visibility=world") == (400, "Invalid visibility value: world")


def test_non_numeric_size_is_400(api: ApiClient) -> None:
    assert error(api, "size_min=big") == \
        (400, "Unable to filter on a range with a non-numeric value.")


def test_bad_os_hidden_is_400(api: ApiClient) -> None:
    assert error(api, "os_hidden=maybe")[0] == 400


# -- who sees what (trusted identity headers) ----------------------------------------------
def test_admin_lists_every_projects_images(trusted_api: ApiClient, tag: str) -> None:
    from tests.conftest import PROJECT_A, PROJECT_B, PROJECT_C

    trusted_api.as_user(PROJECT_A).create_image(name="a", tags=[tag], visibility="private")
    trusted_api.as_user(PROJECT_B).create_image(name="b", tags=[tag], visibility="private")
    admin = trusted_api.as_user(PROJECT_C, roles="admin,member,reader")
    assert sorted(names(admin, f"tag={tag}")) == ["a", "b"]


def test_community_images_of_others_only_when_asked(trusted_api: ApiClient, tag: str) -> None:
    from tests.conftest import PROJECT_A, PROJECT_B

    trusted_api.as_user(PROJECT_A).create_image(name="c", tags=[tag], visibility="community")
    other = trusted_api.as_user(PROJECT_B)
    assert (names(other, f"tag={tag}"), names(other, f"tag={tag}&visibility=community")) == \
        ([], ["c"])


def test_owner_lists_its_own_community_image(trusted_api: ApiClient, tag: str) -> None:
    from tests.conftest import PROJECT_A

    owner = trusted_api.as_user(PROJECT_A)
    owner.create_image(name="c", tags=[tag], visibility="community")
    assert names(owner, f"tag={tag}") == ["c"]


def test_other_projects_private_images_are_not_listed(trusted_api: ApiClient,
                                                      tag: str) -> None:
    from tests.conftest import PROJECT_A, PROJECT_B

    trusted_api.as_user(PROJECT_A).create_image(name="p", tags=[tag], visibility="private")
    assert names(trusted_api.as_user(PROJECT_B), f"tag={tag}") == []
