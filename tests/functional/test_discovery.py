"""/v2/info/* over HTTP (spec §3.9, §3.10)."""

from __future__ import annotations

import pytest

from tests.conftest import ApiClient


def test_import_info_follows_enabled_import_methods(make_server):
    server = make_server(conf={"DEFAULT": {"enabled_import_methods": "glance-direct"}})
    response = ApiClient(server.url).get("/v2/info/import")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["import-methods"]["value"] == ["glance-direct"]


def test_usage_is_empty_without_keystone_limits(api):
    response = api.get("/v2/info/usage")
    assert response.status_code == 200
    assert response.json() == {"usage": {}}


@pytest.mark.parametrize("path", ["/v2/info/stores", "/v2/info/stores/detail"])
def test_stores_info_is_404_without_enabled_backends(api, path):
    response = api.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert "Multi backend is not supported at this site." in response.json()["message"]


def test_delete_from_store_is_404_without_enabled_backends(api):
    image = api.active_image()
    assert api.delete(f"/v2/stores/file/{image['id']}").status_code == 404

