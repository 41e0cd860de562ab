"""Tags of a metadef namespace over HTTP: /v2/metadefs/namespaces/{ns}/tags[/{name}]."""

from __future__ import annotations

import re

from tests.conftest import ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import NAMESPACES

catalog, admin, namespace = fx.catalog, fx.admin, fx.namespace
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
APPEND = {"X-Openstack-Append": "true"}


def tags(namespace: str, name: str = "") -> str:
    return f"{NAMESPACES}/{namespace}/tags" + (f"/{name}" if name else "")


def tag_names(client: ApiClient, namespace: str) -> list[str]:
    return [t["name"] for t in client.get(tags(namespace)).json()["tags"]]


def batch(*names: str) -> dict[str, list[dict[str, str]]]:
    return {"tags": [{"name": name} for name in names]}


def test_create_one_answers_201_with_the_tag(admin: ApiClient, namespace: str) -> None:
    response = admin.post(tags(namespace, "fast"))
    body = response.json()
    assert (response.status_code, sorted(body), body["name"]) == (
        201, ["created_at", "name", "updated_at"], "fast")
    assert STAMP.match(body["created_at"])


def test_create_one_with_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace, "fast"))
    assert outcome(admin.post(tags(namespace, "fast"))) == (
        409, f"A metadata tag with name=fast already exists in namespace={namespace}.")


def test_create_one_with_a_body_is_400(admin: ApiClient, namespace: str) -> None:
    response = admin.post(tags(namespace, "fast"), json={"name": "other"})
    assert outcome(response) == (400, "A body is not expected with this request.")


def test_batch_answers_201_with_the_tags(admin: ApiClient, namespace: str) -> None:
    response = admin.post(tags(namespace), json=batch("a", "b", "c"))
    assert (response.status_code, [t["name"] for t in response.json()["tags"]]) == (
        201, ["a", "b", "c"])


def test_batch_replaces_the_tags(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace), json=batch("old"))
    admin.post(tags(namespace), json=batch("a", "b"))
    assert tag_names(admin, namespace) == ["a", "b"]


def test_batch_with_append_keeps_the_tags(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace), json=batch("old"))
    admin.post(tags(namespace), json=batch("new"), headers=APPEND)
    assert tag_names(admin, namespace) == ["new", "old"]


def test_batch_appending_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace), json=batch("old"))
    response = admin.post(tags(namespace), json=batch("old"), headers=APPEND)
    assert outcome(response) == (
        409, f"A metadata tag with name=old already exists in namespace={namespace}.")


def test_batch_naming_a_tag_twice_is_409_and_keeps_the_tags(admin: ApiClient,
                                                             namespace: str) -> None:
    admin.post(tags(namespace), json=batch("old"))
    response = admin.post(tags(namespace), json=batch("a", "a"))
    assert (outcome(response), tag_names(admin, namespace)) == (
        (409, f"A metadata tag with name=a already exists in namespace={namespace}."),
        ["old"])


def test_batch_without_a_tags_list_is_400(admin: ApiClient, namespace: str) -> None:
    assert outcome(admin.post(tags(namespace), json={"name": "a"})) == (
        400, 'Expected tags in the form {"tags": [{"name": "..."}]}')


def test_show_returns_the_tag(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace, "fast"))
    response = admin.get(tags(namespace, "fast"))
    assert (response.status_code, response.json()["name"]) == (200, "fast")


def test_show_of_an_unknown_tag_is_404(admin: ApiClient, namespace: str) -> None:
    assert outcome(admin.get(tags(namespace, "nope"))) == (
        404, f"The metadata definition tag with name=nope was not found in "
             f"namespace={namespace}.")


def test_update_renames_the_tag(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace, "fast"))
    response = admin.put(tags(namespace, "fast"), json={"name": "quick"})
    assert (response.status_code, response.json()["name"],
            tag_names(admin, namespace)) == (200, "quick", ["quick"])


def test_delete_answers_204_and_the_tag_is_gone(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace, "fast"))
    response = admin.delete(tags(namespace, "fast"))
    assert (response.status_code, tag_names(admin, namespace)) == (204, [])


def test_delete_all_removes_every_tag(admin: ApiClient, namespace: str) -> None:
    admin.post(tags(namespace), json=batch("a", "b"))
    response = admin.delete(tags(namespace))
    assert (response.status_code, tag_names(admin, namespace)) == (204, [])
