"""Metadef namespaces over HTTP (spec §3.13): create, show, list, update, delete."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_A, ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import IMAGE_TYPE, NAMESPACES, create_namespace, unique

catalog, admin, namespace = fx.catalog, fx.admin, fx.namespace

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def names(response) -> list[str]:  # noqa: ANN001
    return [ns["namespace"] for ns in response.json()["namespaces"]]


def test_create_answers_201_with_the_namespace(admin: ApiClient) -> None:
    name = unique("ns")
    response = admin.post(NAMESPACES, json={"namespace": name, "display_name": "Shown",
                                            "description": "About", "visibility": "public"})
    body = response.json()
    assert response.status_code == 201
    assert STAMP.match(body.pop("created_at")) and STAMP.match(body.pop("updated_at"))
    assert body == {"namespace": name, "display_name": "Shown", "description": "About",
                    "visibility": "public", "protected": False, "owner": PROJECT_A,
                    "self": f"{NAMESPACES}/{name}",
                    "schema": "/v2/schemas/metadefs/namespace"}
    admin.delete(f"{NAMESPACES}/{name}")


def test_create_defaults_to_private(admin: ApiClient) -> None:
    name = unique("ns")
    response = admin.post(NAMESPACES, json={"namespace": name})
    assert (response.status_code, response.json()["visibility"]) == (201, "private")
    admin.delete(f"{NAMESPACES}/{name}")


def test_create_of_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    response = admin.post(NAMESPACES, json={"namespace": namespace})
    assert outcome(response) == (
        409, f"The metadata definition namespace={namespace} already exists.")


def test_create_without_a_name_is_400(admin: ApiClient) -> None:
    response = admin.post(NAMESPACES, json={"display_name": "nameless"})
    assert outcome(response) == (
        400, "Provided object does not match schema 'namespace': "
             "'namespace' is a required property")


def test_create_with_an_unknown_visibility_is_400(admin: ApiClient) -> None:
    response = admin.post(NAMESPACES, json={"namespace": unique("ns"),
                                            "visibility": "shared"})
    assert outcome(response) == (
        400, "Provided object does not match schema 'namespace': 'shared' is not one of "
             "['public', 'private'] (in visibility)")


def test_create_with_an_unknown_resource_type_is_404_and_stores_nothing(
        admin: ApiClient) -> None:
    name = unique("ns")
    response = admin.post(NAMESPACES, json={
        "namespace": name, "resource_type_associations": [{"name": "OS::No::Such"}]})
    assert outcome(response) == (
        404, "The metadata definition resource-type with name=OS::No::Such, was not found.")
    assert admin.get(f"{NAMESPACES}/{name}").status_code == 404


def test_show_returns_what_the_namespace_embeds(admin: ApiClient) -> None:
    name = create_namespace(admin, resource_type_associations=[
        {"name": IMAGE_TYPE, "prefix": "hw_"}],
        properties={"cpu": {"title": "CPU", "type": "string"}},
        objects=[{"name": "obj", "properties": {"ram": {"title": "RAM",
                                                        "type": "integer"}}}],
        tags=[{"name": "fast"}])["namespace"]
    body = admin.get(f"{NAMESPACES}/{name}").json()
    assert ([a["name"] for a in body["resource_type_associations"]], body["properties"],
            [(o["name"], o["properties"]) for o in body["objects"]],
            [t["name"] for t in body["tags"]]) == (
        [IMAGE_TYPE], {"cpu": {"title": "CPU", "type": "string"}},
        [("obj", {"ram": {"title": "RAM", "type": "integer"}})], ["fast"])
    admin.delete(f"{NAMESPACES}/{name}")


def test_show_for_a_resource_type_prefixes_property_names(admin: ApiClient) -> None:
    name = create_namespace(admin, resource_type_associations=[
        {"name": IMAGE_TYPE, "prefix": "hw_"}],
        properties={"cpu": {"title": "CPU", "type": "string"}})["namespace"]
    body = admin.get(f"{NAMESPACES}/{name}?resource_type={IMAGE_TYPE}").json()
    assert list(body["properties"]) == ["hw_cpu"]
    admin.delete(f"{NAMESPACES}/{name}")


def test_show_of_an_unknown_namespace_is_404(admin: ApiClient) -> None:
    response = admin.get(f"{NAMESPACES}/no-such")
    assert outcome(response) == (404, "Metadata definition namespace=no-such was not found.")


def test_list_shows_the_namespace_with_the_links(admin: ApiClient, namespace: str) -> None:
    response = admin.get(f"{NAMESPACES}?limit=1000")
    body = response.json()
    assert (response.status_code, body["first"], body["schema"], "next" in body,
            namespace in names(response)) == (
        200, f"{NAMESPACES}?limit=1000", "/v2/schemas/metadefs/namespaces", False, True)


def test_list_pages_with_limit_and_marker(admin: ApiClient) -> None:
    made = [create_namespace(admin)["namespace"] for _ in range(3)]
    first = admin.get(f"{NAMESPACES}?limit=2&sort_key=created_at&sort_dir=desc")
    marker = names(first)[-1]
    second = admin.get(f"{NAMESPACES}?limit=1000&marker={marker}")
    assert (first.json()["next"], set(made) <= set(names(first) + names(second)),
            set(names(first)) & set(names(second))) == (
        f"{NAMESPACES}?limit=2&sort_key=created_at&sort_dir=desc&marker={marker}", True,
        set())
    for name in made:
        admin.delete(f"{NAMESPACES}/{name}")


def test_list_filters_by_visibility(admin: ApiClient) -> None:
    private = create_namespace(admin, visibility="private")["namespace"]
    public = names(admin.get(f"{NAMESPACES}?visibility=public&limit=1000"))
    assert private not in public and private in names(
        admin.get(f"{NAMESPACES}?visibility=private&limit=1000"))
    admin.delete(f"{NAMESPACES}/{private}")


def test_list_filters_by_resource_types(admin: ApiClient, namespace: str) -> None:
    linked = create_namespace(admin, resource_type_associations=[{"name": IMAGE_TYPE}])
    listed = names(admin.get(f"{NAMESPACES}?resource_types={IMAGE_TYPE}&limit=1000"))
    assert (linked["namespace"] in listed, namespace in listed) == (True, False)
    admin.delete(f"{NAMESPACES}/{linked['namespace']}")


def test_list_with_an_unknown_sort_key_is_400(admin: ApiClient) -> None:
    assert outcome(admin.get(f"{NAMESPACES}?sort_key=owner")) == (
        400, "Invalid sort key: owner. It must be one of the following: created_at, "
             "updated_at, namespace, display_name.")


def test_update_replaces_the_fields(admin: ApiClient, namespace: str) -> None:
    response = admin.put(f"{NAMESPACES}/{namespace}", json={
        "namespace": namespace, "visibility": "private", "description": "new"})
    body = response.json()
    assert (response.status_code, body["visibility"], body["protected"],
            body["description"], "display_name" in body) == (200, "private", False, "new",
                                                             False)


def test_update_renames(admin: ApiClient, namespace: str) -> None:
    renamed = unique("ns")
    response = admin.put(f"{NAMESPACES}/{namespace}", json={"namespace": renamed})
    assert (response.status_code, response.json()["namespace"],
            admin.get(f"{NAMESPACES}/{namespace}").status_code,
            admin.get(f"{NAMESPACES}/{renamed}").status_code) == (200, renamed, 404, 200)
    admin.delete(f"{NAMESPACES}/{renamed}")


def test_update_to_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    other = create_namespace(admin)["namespace"]
    response = admin.put(f"{NAMESPACES}/{namespace}", json={"namespace": other})
    assert outcome(response) == (
        409, f"The metadata definition namespace={other} already exists.")
    admin.delete(f"{NAMESPACES}/{other}")


def test_delete_answers_204_and_the_namespace_is_gone(admin: ApiClient) -> None:
    name = create_namespace(admin, tags=[{"name": "t"}])["namespace"]
    response = admin.delete(f"{NAMESPACES}/{name}")
    assert (response.status_code, response.content,
            admin.get(f"{NAMESPACES}/{name}").status_code) == (204, b"", 404)


def test_delete_of_a_protected_namespace_is_403(admin: ApiClient, namespace: str) -> None:
    admin.put(f"{NAMESPACES}/{namespace}", json={"namespace": namespace,
                                                 "visibility": "public", "protected": True})
    response = admin.delete(f"{NAMESPACES}/{namespace}")
    assert outcome(response) == (
        403, f"Metadata definition namespace {namespace} is protected and cannot be "
             "deleted.")


def test_a_caller_without_a_project_must_name_the_owner(api: ApiClient) -> None:
    response = api.post(NAMESPACES, json={"namespace": unique("ns")},
                        headers={"Accept": "application/json"})
    assert outcome(response) == (
        400, "A namespace needs an owner: give 'owner', or call with a project-scoped "
             "token.")


def test_create_with_a_nameless_embedded_tag_is_400(admin: ApiClient) -> None:
    response = admin.post(NAMESPACES, json={"namespace": unique("ns"), "tags": [{}]})
    assert outcome(response) == (
        400, "Provided object does not match schema 'tag': 'name' is a required property")


def test_create_with_an_overlong_embedded_property_name_is_400(admin: ApiClient) -> None:
    response = admin.post(NAMESPACES, json={
        "namespace": unique("ns"), "properties": {"p" * 81: {"title": "T", "type": "string"}}})
    assert outcome(response) == (
        400, f"Provided object does not match schema 'property': '{'p' * 81}' is too long "
             "(in name)")
