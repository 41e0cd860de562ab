"""Error bodies by ``Accept`` and the request id header (spec §1, §9.1)."""

from __future__ import annotations

from tests.conftest import PROJECT_A, ApiClient

MISSING = "94867a1d-e8db-440f-8384-703f0f3b93d8"
PATH = f"/v2/images/{MISSING}"
EXPLANATION = f"No image found with ID {MISSING}"


def test_json_when_json_is_preferred(api: ApiClient) -> None:
    response = api.get(PATH, headers={"Accept": "application/json"})
    assert (response.status_code, response.headers["Content-Type"], response.json()) == (
        404, "application/json",
        {"message": f"{EXPLANATION}<br /><br />\n\n\n", "code": "404 Not Found",
         "title": "Not Found"})


def test_json_when_listed_with_higher_preference(api: ApiClient) -> None:
    response = api.get(PATH, headers={"Accept": "text/html;q=0.5, application/json"})
    assert response.headers["Content-Type"] == "application/json"


def test_html_for_any_media_type(api: ApiClient) -> None:
    response = api.get(PATH, headers={"Accept": "*/*"})
    assert (response.headers["Content-Type"], response.text) == (
        "text/html; charset=UTF-8",
        "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
        f"  <h1>404 Not Found</h1>\n  {EXPLANATION}<br /><br />\n\n\n\n </body>\n</html>")


def test_plain_text_without_accept(api: ApiClient) -> None:
    response = api.get(PATH, headers={"Accept": None})
    assert (response.headers["Content-Type"], response.text) == (
        "text/plain; charset=UTF-8", f"404 Not Found\n\n{EXPLANATION}\n\n   ")


def test_errors_carry_a_request_id(api: ApiClient) -> None:
    assert api.get(PATH).headers["x-openstack-request-id"].startswith("req-")


def test_successes_carry_a_request_id(api: ApiClient) -> None:
    assert api.get("/v2/images").headers["x-openstack-request-id"].startswith("req-")


def test_each_request_gets_its_own_id(api: ApiClient) -> None:
    first = api.get(PATH).headers["x-openstack-request-id"]
    assert api.get(PATH).headers["x-openstack-request-id"] != first


def test_unauthenticated_pipeline_ignores_the_clients_request_id(api: ApiClient) -> None:
    response = api.get(PATH, headers={"X-Openstack-Request-ID": "req-mine"})
    assert response.headers["x-openstack-request-id"] != "req-mine"


def test_trusted_pipeline_reuses_the_clients_request_id(trusted_api: ApiClient) -> None:
    client = trusted_api.as_user(PROJECT_A)
    response = client.get(PATH, headers={"X-Openstack-Request-ID": "req-mine"})
    assert response.headers["x-openstack-request-id"] == "req-mine"


def test_request_id_gets_the_req_prefix(trusted_api: ApiClient) -> None:
    client = trusted_api.as_user(PROJECT_A)
    response = client.get(PATH, headers={"X-Openstack-Request-ID": "abc"})
    assert response.headers["x-openstack-request-id"] == "req-abc"


def test_policy_refusal_is_html_for_glanceclient(trusted_api: ApiClient) -> None:
    response = trusted_api.as_user(PROJECT_A, roles="reader").post(
        "/v2/images", json={}, headers={"Accept": "*/*"})
    assert (response.status_code, response.headers["Content-Type"],
            "You are not authorized to complete add_image action." in response.text) == \
        (403, "text/html; charset=UTF-8", True)


def test_415_on_patch_is_plain_text_for_openstacksdk(api: ApiClient) -> None:
    image_id = api.create_image()["id"]
    response = api.patch(f"/v2/images/{image_id}", json=[],
                         headers={"Content-Type": "application/json", "Accept": None})
    assert (response.status_code, response.headers["Content-Type"]) == \
        (415, "text/plain; charset=UTF-8")
