"""Properties of a metadef namespace over HTTP:
/v2/metadefs/namespaces/{ns}/properties[/{name}]."""

from __future__ import annotations

from tests.conftest import ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import IMAGE_TYPE, NAMESPACES, create_namespace

catalog, admin, namespace = fx.catalog, fx.admin, fx.namespace
HYPERVISOR = {"name": "hypervisor", "title": "Hypervisor", "type": "string",
              "enum": ["kvm", "qemu"]}


def properties(namespace: str, name: str = "") -> str:
    return f"{NAMESPACES}/{namespace}/properties" + (f"/{name}" if name else "")


def test_create_answers_201_with_the_property(admin: ApiClient, namespace: str) -> None:
    response = admin.post(properties(namespace), json=HYPERVISOR)
    assert (response.status_code, response.json()) == (201, HYPERVISOR)


def test_create_without_a_title_is_400(admin: ApiClient, namespace: str) -> None:
    response = admin.post(properties(namespace), json={"name": "p", "type": "string"})
    assert outcome(response) == (
        400, "Provided object does not match schema 'property': "
             "'title' is a required property")


def test_create_of_a_taken_name_is_409(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    response = admin.post(properties(namespace), json=HYPERVISOR)
    assert outcome(response) == (
        409, f"A metadata definition property with name=hypervisor already exists in "
             f"namespace={namespace}.")


def test_list_maps_names_to_definitions(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    response = admin.get(properties(namespace))
    definition = {k: v for k, v in HYPERVISOR.items() if k != "name"}
    assert (response.status_code, response.json()) == (
        200, {"properties": {"hypervisor": definition}})


def test_show_returns_the_property(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    response = admin.get(properties(namespace, "hypervisor"))
    assert (response.status_code, response.json()) == (200, HYPERVISOR)


def test_show_with_a_resource_type_takes_its_prefix_off(admin: ApiClient) -> None:
    name = create_namespace(admin, resource_type_associations=[
        {"name": IMAGE_TYPE, "prefix": "hw_"}])["namespace"]
    admin.post(properties(name), json=HYPERVISOR)
    response = admin.get(properties(name, "hw_hypervisor") + f"?resource_type={IMAGE_TYPE}")
    assert (response.status_code, response.json()["name"]) == (200, "hw_hypervisor")
    admin.delete(f"{NAMESPACES}/{name}")


def test_show_of_an_unknown_property_is_404(admin: ApiClient, namespace: str) -> None:
    assert outcome(admin.get(properties(namespace, "nope"))) == (
        404, f"The metadata definition property with name=nope was not found in "
             f"namespace={namespace}.")


def test_update_replaces_the_definition(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    changed = {"name": "hypervisor", "title": "Host", "type": "string"}
    response = admin.put(properties(namespace, "hypervisor"), json=changed)
    assert (response.status_code, response.json(),
            admin.get(properties(namespace, "hypervisor")).json()) == (200, changed, changed)


def test_delete_answers_204_and_the_property_is_gone(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    response = admin.delete(properties(namespace, "hypervisor"))
    assert (response.status_code,
            admin.get(properties(namespace)).json()) == (204, {"properties": {}})


def test_delete_all_empties_the_namespace(admin: ApiClient, namespace: str) -> None:
    admin.post(properties(namespace), json=HYPERVISOR)
    response = admin.delete(properties(namespace))
    assert (response.status_code,
            admin.get(properties(namespace)).json()) == (204, {"properties": {}})
