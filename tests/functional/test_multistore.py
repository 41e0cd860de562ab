"""Multi-store over HTTP (spec §3.10, §4.1): stores info, X-Image-Meta-Store, copy-image,
import into several stores, DELETE /v2/stores/{store}/{image}."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OCTET, PROJECT_A, ApiClient, error_text, import_settled
from tests.fixtures.service import GlanceServer

DATA = os.urandom(50_000)


def multi_conf(root: Path) -> dict[str, dict[str, Any]]:
    return {
        "DEFAULT": {"enabled_backends": "fast:file,slow:file,web:http,broken:file"},
        "glance_store": {"default_backend": "fast"},
        "fast": {"filesystem_store_datadir": str(root / "fast"),
                 "store_description": "Fast disks"},
        "slow": {"filesystem_store_datadir": str(root / "slow"), "weight": 5},
        # A directory that cannot be created: the store loads with writes disabled.
        "broken": {"filesystem_store_datadir": "/proc/glance-cannot-write-here"},
    }


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> Iterator[GlanceServer]:
    root = tmp_path_factory.mktemp("glance-multi")
    with GlanceServer(root, multi_conf(root)) as srv:
        yield srv


@pytest.fixture
def api(multi: GlanceServer) -> ApiClient:
    return ApiClient(multi.url)


def files(server: GlanceServer, store: str) -> list[str]:
    path = server.workdir / store
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def new_image(api: ApiClient) -> dict:
    return api.create_image(disk_format="raw", container_format="bare")


def upload(api: ApiClient, image_id: str, store: str | None = None):
    headers = {**OCTET, **({"X-Image-Meta-Store": store} if store else {})}
    return api.put(f"/v2/images/{image_id}/file", data=DATA, headers=headers)


def import_(api: ApiClient, image_id: str, body: dict, **headers: str):
    return api.post(f"/v2/images/{image_id}/import", json=body, headers=headers)


# -- discovery ---------------------------------------------------------------------------
def test_stores_info_lists_the_stores(api):
    assert api.get("/v2/info/stores").json() == {"stores": [
        {"id": "fast", "description": "Fast disks", "default": "true"},
        {"id": "slow"},
        {"id": "web", "read-only": "true"},
        {"id": "broken"},
    ]}


def test_stores_detail_for_an_admin(api, multi):
    stores = {s["id"]: s for s in api.get("/v2/info/stores/detail").json()["stores"]}
    assert stores["slow"] == {
        "id": "slow", "type": "file", "weight": 5,
        "properties": {"data_dir": str(multi.workdir / "slow"), "chunk_size": 65536,
                       "thin_provisioning": False}}
    assert stores["web"] == {"id": "web", "read-only": "true", "type": "http",
                             "properties": {}, "weight": 0}


def test_create_announces_the_store_ids(api):
    response = api.post("/v2/images", json={"name": "x"})
    assert response.headers["OpenStack-image-store-ids"] == "fast,slow,web,broken"


# -- upload --------------------------------------------------------------------------------
def test_upload_goes_to_the_default_store(api, multi):
    image = new_image(api)
    assert upload(api, image["id"]).status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["stores"] == "fast"
    assert image["id"] in files(multi, "fast")


def test_upload_to_a_named_store(api, multi):
    image = new_image(api)
    assert upload(api, image["id"], "slow").status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["stores"] == "slow"
    assert image["id"] in files(multi, "slow")


@pytest.mark.parametrize("store", ["nowhere", "os_glance_staging_store"])
def test_upload_to_an_unknown_store_is_400(api, store):
    image = new_image(api)
    response = upload(api, image["id"], store)
    assert response.status_code == 400
    assert f"Store for identifier {store} not found" in error_text(response)
    assert api.get(f"/v2/images/{image['id']}").json()["status"] == "queued"


def test_upload_to_a_read_only_store_fails_and_leaves_queued(api):
    image = new_image(api)
    assert upload(api, image["id"], "web").status_code == 503
    shown = api.get(f"/v2/images/{image['id']}").json()
    assert shown["status"] == "queued"
    assert "stores" not in shown


def test_queued_image_has_no_stores_field(api):
    assert "stores" not in new_image(api)


# -- import into stores -----------------------------------------------------------------------
def staged(api: ApiClient) -> dict:
    image = new_image(api)
    assert api.put(f"/v2/images/{image['id']}/stage", data=DATA,
                   headers=OCTET).status_code == 204
    return image


def test_glance_direct_into_two_stores(api, multi):
    image = staged(api)
    response = import_(api, image["id"], {"method": {"name": "glance-direct"},
                                          "stores": ["fast", "slow"]})
    assert response.status_code == 202
    done = api.wait_for(image["id"], lambda i: i["status"] == "active" and import_settled(i))
    assert done["stores"] == "fast,slow"
    assert done["checksum"] == hashlib.md5(DATA).hexdigest()
    assert (done["os_glance_importing_to_stores"], done["os_glance_failed_import"]) == ("", "")
    assert image["id"] in files(multi, "fast") and image["id"] in files(multi, "slow")


def test_glance_direct_into_the_store_of_the_header(api):
    image = staged(api)
    import_(api, image["id"], {"method": {"name": "glance-direct"}},
            **{"X-Image-Meta-Store": "slow"})
    assert api.wait_for(image["id"], import_settled)["stores"] == "slow"


def test_all_stores_skips_read_only_stores(api):
    image = staged(api)
    import_(api, image["id"], {"method": {"name": "glance-direct"}, "all_stores": True,
                               "all_stores_must_succeed": False})
    done = api.wait_for(image["id"], import_settled)
    assert done["status"] == "active"
    assert done["stores"] == "fast,slow"
    assert done["os_glance_failed_import"] == "broken"


def test_failing_store_with_all_stores_must_succeed_reverts_to_queued(api, multi):
    image = staged(api)
    import_(api, image["id"], {"method": {"name": "glance-direct"},
                               "stores": ["fast", "broken"]})
    done = api.wait_for(image["id"], lambda i: import_settled(i) and i["status"] == "queued")
    assert done["status"] == "queued"
    assert done["os_glance_failed_import"] == "broken"
    assert "stores" not in done
    assert image["id"] not in files(multi, "fast")


def test_failing_store_may_be_tolerated(api):
    image = staged(api)
    import_(api, image["id"], {"method": {"name": "glance-direct"},
                               "stores": ["broken", "slow"], "all_stores_must_succeed": False})
    done = api.wait_for(image["id"], lambda i: import_settled(i) and i["status"] == "active")
    assert (done["status"], done["stores"]) == ("active", "slow")
    assert done["os_glance_failed_import"] == "broken"


def test_import_into_an_unknown_store_is_409(api):
    image = staged(api)
    response = import_(api, image["id"], {"method": {"name": "glance-direct"},
                                          "stores": ["nowhere"]})
    assert response.status_code == 409


def test_stores_and_header_together_are_400(api):
    image = staged(api)
    response = import_(api, image["id"], {"method": {"name": "glance-direct"},
                                          "stores": ["fast"]},
                       **{"X-Image-Meta-Store": "slow"})
    assert response.status_code == 400


def test_all_stores_with_stores_is_400(api):
    image = staged(api)
    response = import_(api, image["id"], {"method": {"name": "glance-direct"},
                                          "stores": ["fast"], "all_stores": True})
    assert response.status_code == 400


# -- copy-image ------------------------------------------------------------------------------
def test_copy_image_adds_a_store(api, multi):
    image = new_image(api)
    upload(api, image["id"])
    response = import_(api, image["id"], {"method": {"name": "copy-image"},
                                          "stores": ["slow"]})
    assert response.status_code == 202
    done = api.wait_for(image["id"], lambda i: import_settled(i) and i.get("stores") == "fast,slow")
    assert done["stores"] == "fast,slow"
    assert done["status"] == "active"
    assert (multi.workdir / "slow" / image["id"]).read_bytes() == DATA


def test_copy_image_to_a_store_holding_it_is_400(api):
    image = new_image(api)
    upload(api, image["id"])
    response = import_(api, image["id"], {"method": {"name": "copy-image"},
                                          "stores": ["fast"]})
    assert response.status_code == 400
    assert "Image is already present at store 'fast'" in error_text(response)


def test_copy_image_to_all_stores_copies_what_is_missing(api):
    image = new_image(api)
    upload(api, image["id"], "slow")
    assert import_(api, image["id"], {"method": {"name": "copy-image"}, "all_stores": True,
                                      "all_stores_must_succeed": False}).status_code == 202
    done = api.wait_for(image["id"], lambda i: import_settled(i) and "fast" in i["stores"])
    assert sorted(done["stores"].split(",")) == ["fast", "slow"]
    assert done["os_glance_failed_import"] == "broken"


def test_copy_image_is_admin_only(multi, tmp_path):
    # The no-auth server calls everyone admin; a trusted-auth server shows the policy.
    root = tmp_path / "multi-trusted"
    with GlanceServer(root, multi_conf(root), paste_flavor="trusted-auth") as srv:
        member = ApiClient(srv.url).as_user(PROJECT_A)
        image = member.active_image(DATA)
        response = import_(member, image["id"], {"method": {"name": "copy-image"},
                                                 "stores": ["slow"]})
        assert response.status_code == 403
        detail = member.get("/v2/info/stores/detail")
        assert detail.status_code == 403


# -- delete from one store --------------------------------------------------------------------
def in_two_stores(api: ApiClient) -> dict:
    image = staged(api)
    import_(api, image["id"], {"method": {"name": "glance-direct"}, "stores": ["fast", "slow"]})
    return api.wait_for(image["id"], lambda i: import_settled(i) and i["status"] == "active")


def test_delete_from_store_removes_that_copy(api, multi):
    image = in_two_stores(api)
    response = api.delete(f"/v2/stores/slow/{image['id']}")
    assert response.status_code == 204
    assert api.get(f"/v2/images/{image['id']}").json()["stores"] == "fast"
    assert image["id"] not in files(multi, "slow")
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA


def test_delete_from_the_last_store_is_403(api):
    image = new_image(api)
    upload(api, image["id"])
    response = api.delete(f"/v2/stores/fast/{image['id']}")
    assert response.status_code == 403
    assert "Cannot delete image data from the only store containing it" in error_text(response)


def test_delete_from_a_store_not_holding_it_is_404(api):
    image = in_two_stores(api)
    assert api.delete(f"/v2/stores/web/{image['id']}").status_code == 404


def test_delete_from_an_unknown_store_is_409(api):
    image = in_two_stores(api)
    assert api.delete(f"/v2/stores/nowhere/{image['id']}").status_code == 409


def test_delete_from_store_of_a_queued_image_is_409(api):
    image = new_image(api)
    assert api.delete(f"/v2/stores/fast/{image['id']}").status_code == 409


def test_delete_from_store_of_an_unknown_image_is_404(api):
    response = api.delete("/v2/stores/fast/4b0c5b46-2f1e-4bd9-a7a2-3a0b5d5b7c11")
    assert response.status_code == 404
    assert "Failed to find image" in error_text(response)


def test_download_prefers_the_heaviest_store_and_survives_a_lost_copy(api, multi):
    image = in_two_stores(api)
    (multi.workdir / "slow" / image["id"]).unlink()  # slow weighs more: tried first
    assert api.get(f"/v2/images/{image['id']}/file").content == DATA


def test_delete_image_removes_every_copy(api, multi):
    image = in_two_stores(api)
    assert api.delete(f"/v2/images/{image['id']}").status_code == 204
    assert image["id"] not in files(multi, "fast") + files(multi, "slow")


def test_download_with_a_preferred_store(api):
    image = in_two_stores(api)
    response = api.get(f"/v2/images/{image['id']}/file?prefer=fast")
    assert response.status_code == 200
    assert response.content == DATA


def test_download_preferring_an_unknown_store_is_400(api):
    image = in_two_stores(api)
    response = api.get(f"/v2/images/{image['id']}/file?prefer=nowhere")
    assert response.status_code == 400
    assert "Store 'nowhere' is not configured." in error_text(response)
