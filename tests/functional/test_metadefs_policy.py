"""Who sees and changes metadefs (spec §8.2, §8.4): public or own namespaces are visible,
others are 404; writes are for admins, a visible namespace refuses others with 403."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT_B, PROJECT_C, ApiClient, outcome
from tests.functional import metadef_fixtures as fx
from tests.functional.metadef_fixtures import NAMESPACES, create_namespace

catalog, admin, reader, namespace = fx.catalog, fx.admin, fx.reader, fx.namespace


@pytest.fixture
def private(admin: ApiClient) -> str:
    """A private namespace of project A (the admin's)."""
    return create_namespace(admin, visibility="private")["namespace"]


def listed(client: ApiClient) -> list[str]:
    return [ns["namespace"] for ns in
            client.get(f"{NAMESPACES}?limit=1000").json()["namespaces"]]


def test_a_reader_sees_a_public_namespace_of_another_project(reader: ApiClient,
                                                             namespace: str) -> None:
    response = reader.get(f"{NAMESPACES}/{namespace}")
    assert (response.status_code, response.json()["namespace"]) == (200, namespace)


def test_a_private_namespace_of_another_project_is_404(reader: ApiClient,
                                                      private: str) -> None:
    assert outcome(reader.get(f"{NAMESPACES}/{private}")) == (
        404, f"Metadata definition namespace={private} was not found.")


def test_the_contents_of_an_invisible_namespace_are_404(reader: ApiClient,
                                                        private: str) -> None:
    assert outcome(reader.get(f"{NAMESPACES}/{private}/objects")) == (
        404, f"Metadata definition namespace={private} was not found.")


def test_a_reader_lists_public_namespaces_but_not_private_ones(
        reader: ApiClient, namespace: str, private: str) -> None:
    names = listed(reader)
    assert (namespace in names, private in names) == (True, False)


def test_a_project_sees_its_own_private_namespace(admin: ApiClient,
                                                  trusted_api: ApiClient) -> None:
    name = create_namespace(admin, visibility="private", owner=PROJECT_B)["namespace"]
    own = fx.json_client(trusted_api).as_user(PROJECT_B)
    stranger = fx.json_client(trusted_api).as_user(PROJECT_C)
    assert (own.get(f"{NAMESPACES}/{name}").status_code,
            stranger.get(f"{NAMESPACES}/{name}").status_code) == (200, 404)
    admin.delete(f"{NAMESPACES}/{name}")


def test_an_admin_sees_private_namespaces_of_other_projects(admin: ApiClient) -> None:
    name = create_namespace(admin, visibility="private", owner=PROJECT_B)["namespace"]
    assert name in listed(admin)
    admin.delete(f"{NAMESPACES}/{name}")


def test_a_reader_may_not_create_a_namespace(reader: ApiClient) -> None:
    response = reader.post(NAMESPACES, json={"namespace": "mine"})
    assert outcome(response) == (
        403, "You are not authorized to complete add_metadef_namespace action.")


def test_a_reader_may_not_delete_a_visible_namespace(reader: ApiClient,
                                                     namespace: str) -> None:
    assert outcome(reader.delete(f"{NAMESPACES}/{namespace}")) == (
        403, "You are not authorized to complete delete_metadef_namespace action.")


def test_a_reader_may_not_add_an_object(reader: ApiClient, namespace: str) -> None:
    response = reader.post(f"{NAMESPACES}/{namespace}/objects", json={"name": "o"})
    assert outcome(response) == (
        403, "You are not authorized to complete add_metadef_object action.")


def test_a_reader_may_not_replace_the_tags(reader: ApiClient, namespace: str) -> None:
    response = reader.post(f"{NAMESPACES}/{namespace}/tags", json={"tags": []})
    assert outcome(response) == (
        403, "You are not authorized to complete add_metadef_tags action.")


def test_a_caller_without_the_reader_role_may_not_list(trusted_api: ApiClient,
                                                       catalog: str) -> None:
    nobody = fx.json_client(trusted_api).as_user(PROJECT_C, roles="")
    assert outcome(nobody.get(NAMESPACES)) == (
        403, "You are not authorized to complete get_metadef_namespaces action.")


def test_opened_write_rules_still_keep_a_namespace_to_its_owner(make_server) -> None:  # noqa: ANN001
    server = make_server(paste_flavor="trusted-auth")
    server.stop()
    (server.workdir / "policy.yaml").write_text('"metadef_admin": "role:member"\n')
    server.start()
    client = ApiClient(server.url, {"Accept": "application/json"})
    name = create_namespace(client.as_user(PROJECT_B))["namespace"]
    stranger = client.as_user(PROJECT_C).put(f"{NAMESPACES}/{name}", json={"namespace": name})
    owner = client.as_user(PROJECT_B).put(f"{NAMESPACES}/{name}", json={"namespace": name})
    assert (outcome(stranger), owner.status_code) == (
        (403, "You are not authorized to complete modify_metadef_namespace action."), 200)
