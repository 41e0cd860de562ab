"""Resource types and their associations with namespaces over HTTP."""

from __future__ import annotations

import re

from tests.conftest import ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import IMAGE_TYPE, NAMESPACES

catalog, admin, namespace = fx.catalog, fx.admin, fx.namespace
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def associations(namespace: str, name: str = "") -> str:
    return f"{NAMESPACES}/{namespace}/resource_types" + (f"/{name}" if name else "")


def associated(client: ApiClient, namespace: str) -> list[str]:
    return [a["name"] for a in
            client.get(associations(namespace)).json()["resource_type_associations"]]


def test_list_shows_the_loaded_resource_types(admin: ApiClient) -> None:
    response = admin.get("/v2/metadefs/resource_types")
    found = {rt["name"]: rt for rt in response.json()["resource_types"]}
    assert (response.status_code, sorted(found[IMAGE_TYPE])) == (
        200, ["created_at", "name", "updated_at"])
    assert STAMP.match(found[IMAGE_TYPE]["created_at"])


def test_associate_answers_201_with_the_association(admin: ApiClient, namespace: str) -> None:
    response = admin.post(associations(namespace), json={
        "name": IMAGE_TYPE, "prefix": "hw_", "properties_target": "image"})
    body = response.json()
    assert (response.status_code, body["name"], body["prefix"], body["properties_target"],
            sorted(body)) == (201, IMAGE_TYPE, "hw_", "image",
                              ["created_at", "name", "prefix", "properties_target",
                               "updated_at"])


def test_associations_are_listed(admin: ApiClient, namespace: str) -> None:
    admin.post(associations(namespace), json={"name": IMAGE_TYPE})
    assert associated(admin, namespace) == [IMAGE_TYPE]


def test_associating_twice_is_409(admin: ApiClient, namespace: str) -> None:
    admin.post(associations(namespace), json={"name": IMAGE_TYPE})
    response = admin.post(associations(namespace), json={"name": IMAGE_TYPE})
    assert outcome(response) == (
        409, f"The metadata definition resource-type association of resource-type="
             f"{IMAGE_TYPE} to namespace={namespace}, already exists.")


def test_associating_an_unknown_resource_type_is_404(admin: ApiClient,
                                                     namespace: str) -> None:
    response = admin.post(associations(namespace), json={"name": "OS::No::Such"})
    assert outcome(response) == (
        404, "The metadata definition resource-type with name=OS::No::Such, was not found.")


def test_associating_without_a_name_is_400(admin: ApiClient, namespace: str) -> None:
    response = admin.post(associations(namespace), json={"prefix": "hw_"})
    assert outcome(response) == (
        400, "Provided object does not match schema 'resource_type': "
             "'name' is a required property")


def test_dissociate_answers_204(admin: ApiClient, namespace: str) -> None:
    admin.post(associations(namespace), json={"name": IMAGE_TYPE})
    response = admin.delete(associations(namespace, IMAGE_TYPE))
    assert (response.status_code, associated(admin, namespace)) == (204, [])


def test_dissociating_what_is_not_associated_is_404(admin: ApiClient,
                                                    namespace: str) -> None:
    assert outcome(admin.delete(associations(namespace, IMAGE_TYPE))) == (
        404, f"The metadata definition resource-type association of resource-type="
             f"{IMAGE_TYPE} to namespace={namespace}, was not found.")
