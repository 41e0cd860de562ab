"""How a list request's sort becomes a total order (spec §3.2), without a database."""

from __future__ import annotations

import pytest

from glance_svc import errors
from glance_svc.db.sqlalchemy import listing
from glance_svc.domain.query import ImageQuery


@pytest.mark.parametrize(("keys", "dirs", "order"), [
    pytest.param(["created_at"], ["desc"], [("created_at", "desc"), ("id", "desc")],
                 id="default-gets-id"),
    pytest.param(["name"], ["asc"], [("name", "asc"), ("created_at", "asc"), ("id", "asc")],
                 id="one-direction-applies-to-tie-breakers"),
    pytest.param(["name", "size"], ["asc"],
                 [("name", "asc"), ("size", "asc"), ("created_at", "asc"), ("id", "asc")],
                 id="one-direction-applies-to-every-key"),
    pytest.param(["name", "size"], ["asc", "asc"],
                 [("name", "asc"), ("size", "asc"), ("created_at", "desc"), ("id", "desc")],
                 id="several-directions-leave-tie-breakers-desc"),
    pytest.param(["id", "name"], [], [("id", "desc"), ("name", "desc"),
                                      ("created_at", "desc")],
                 id="no-direction-means-desc"),
])
def test_sort_order_appends_created_at_and_id(keys: list[str], dirs: list[str],
                                              order: list[tuple[str, str]]) -> None:
    assert listing.sort_order(ImageQuery(sort_keys=keys, sort_dirs=dirs)) == order


@pytest.mark.parametrize(("keys", "dirs", "message"), [
    (["owner"], ["asc"], "Invalid sort key: owner."),
    (["name"], ["sideways"], "Invalid sort direction: sideways."),
    (["name", "size", "id"], ["asc", "desc"],
     "The number of sort_dir values must match the sort_key values."),
])
def test_an_invalid_sort_is_bad_request(keys: list[str], dirs: list[str], message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        listing.sort_order(ImageQuery(sort_keys=keys, sort_dirs=dirs))
    assert caught.value.message == message
