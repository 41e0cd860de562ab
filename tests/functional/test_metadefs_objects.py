"""Objects of a metadef namespace over HTTP: /v2/metadefs/namespaces/{ns}/objects[/{name}]."""

from __future__ import annotations

import re

from tests.conftest import ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import NAMESPACES

catalog, admin, namespace = fx.catalog, fx.admin, fx.namespace
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CPU = {"cpu": {"title": "CPU", "type": "integer", "minimum": 1}}


def objects(namespace: str, name: str = "") -> str:
    return f"{NAMESPACES}/{namespace}/objects" + (f"/{name}" if name else "")


def test_create_answers_201_with_the_object(admin: ApiClient, namespace: str) -> None:
    response = admin.post(objects(namespace), json={
        "name": "flavor", "description": "sizes", "required": ["cpu"], "properties": CPU})
    body = response.json()
    assert response.status_code == 201
    assert STAMP.match(body.pop("created_at")) and STAMP.match(body.pop("updated_at"))
    assert body == {"name": "flavor", "description": "sizes", "required": ["cpu"],
                    "properties": CPU, "self": objects(namespace, "flavor"),
                    "schema": "/v2/schemas/metadefs/object"}


def test_create_of_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    admin.post(objects(namespace), json={"name": "flavor"})
    response = admin.post(objects(namespace), json={"name": "flavor"})
    assert outcome(response) == (
        409, f"A metadata definition object with name=flavor already exists in "
             f"namespace={namespace}.")


def test_create_without_a_name_is_400(admin: ApiClient, namespace: str) -> None:
    response = admin.post(objects(namespace), json={"description": "nameless"})
    assert outcome(response) == (
        400, "Provided object does not match schema 'object': 'name' is a required property")


def test_create_in_an_unknown_namespace_is_404(admin: ApiClient) -> None:
    response = admin.post(objects("no-such"), json={"name": "flavor"})
    assert outcome(response) == (404, "Metadata definition namespace=no-such was not found.")


def test_list_shows_every_object(admin: ApiClient, namespace: str) -> None:
    for name in ("b", "a"):
        admin.post(objects(namespace), json={"name": name})
    body = admin.get(objects(namespace)).json()
    assert ([o["name"] for o in body["objects"]], body["schema"]) == (
        ["a", "b"], "/v2/schemas/metadefs/objects")


def test_show_returns_the_object(admin: ApiClient, namespace: str) -> None:
    admin.post(objects(namespace), json={"name": "flavor", "properties": CPU})
    response = admin.get(objects(namespace, "flavor"))
    assert (response.status_code, response.json()["properties"]) == (200, CPU)


def test_show_of_an_unknown_object_is_404(admin: ApiClient, namespace: str) -> None:
    assert outcome(admin.get(objects(namespace, "nope"))) == (
        404, f"The metadata definition object with name=nope was not found in "
             f"namespace={namespace}.")


def test_update_replaces_and_renames_the_object(admin: ApiClient, namespace: str) -> None:
    admin.post(objects(namespace), json={"name": "flavor", "description": "old"})
    response = admin.put(objects(namespace, "flavor"), json={"name": "size"})
    assert (response.status_code, response.json()["name"], "description" in response.json(),
            admin.get(objects(namespace, "flavor")).status_code) == (200, "size", False, 404)


def test_update_to_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    for name in ("a", "b"):
        admin.post(objects(namespace), json={"name": name})
    response = admin.put(objects(namespace, "a"), json={"name": "b"})
    assert outcome(response) == (
        409, f"A metadata definition object with name=b already exists in "
             f"namespace={namespace}.")


def test_delete_answers_204_and_the_object_is_gone(admin: ApiClient, namespace: str) -> None:
    admin.post(objects(namespace), json={"name": "flavor"})
    response = admin.delete(objects(namespace, "flavor"))
    assert (response.status_code,
            admin.get(objects(namespace, "flavor")).status_code) == (204, 404)


def test_delete_all_empties_the_namespace(admin: ApiClient, namespace: str) -> None:
    for name in ("a", "b"):
        admin.post(objects(namespace), json={"name": name})
    response = admin.delete(objects(namespace))
    assert (response.status_code, admin.get(objects(namespace)).json()["objects"]) == (204, [])


def test_delete_in_a_protected_namespace_is_403(admin: ApiClient, namespace: str) -> None:
    admin.post(objects(namespace), json={"name": "flavor"})
    admin.put(f"{NAMESPACES}/{namespace}", json={"namespace": namespace,
                                                 "visibility": "public", "protected": True})
    assert outcome(admin.delete(objects(namespace, "flavor"))) == (
        403, "Metadata definition object flavor is protected and cannot be deleted.")
