"""GET /v2/images query parsing (spec §3.2) and paging links, with Glance's messages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl

import pytest

from glance_svc import errors
from glance_svc.domain import listing
from glance_svc.domain.query import DateFilter, ImageQuery


def parse(query: str, **kw: object) -> ImageQuery:
    params = parse_qsl(query, keep_blank_values=True)
    options = {"project_id": "p", "is_admin": False, "limit_default": 25, "limit_max": 1000}
    options.update(kw)
    return listing.parse_image_query(params, **options)  # type: ignore[arg-type]


def bad(query: str) -> str:
    with pytest.raises(errors.BadRequest) as caught:
        parse(query)
    return caught.value.message


# -- limit ---------------------------------------------------------------------------
def test_default_limit_is_limit_param_default() -> None:
    assert parse("").limit == 25


def test_limit_is_capped_at_api_limit_max() -> None:
    assert parse("limit=5000", limit_max=1000).limit == 1000


def test_limit_zero_is_allowed() -> None:
    assert parse("limit=0").limit == 0


def test_negative_limit_is_400() -> None:
    assert bad("limit=-1") == "limit param must be positive"


def test_non_integer_limit_is_400() -> None:
    assert bad("limit=ten") == "limit param must be an integer"


def test_marker_is_passed_through() -> None:
    assert parse("marker=abc").marker == "abc"


def test_caller_identity_goes_into_the_query() -> None:
    query = parse("", project_id="proj", is_admin=True)
    assert (query.project_id, query.is_admin) == ("proj", True)


# -- sorting ---------------------------------------------------------------------------
def test_default_sort_is_created_at_desc() -> None:
    query = parse("")
    assert (query.sort_keys, query.sort_dirs) == (["created_at"], ["desc"])


def test_classic_sort_keys_repeat() -> None:
    query = parse("sort_key=name&sort_key=size&sort_dir=asc")
    assert (query.sort_keys, query.sort_dirs) == (["name", "size"], ["asc"])


def test_classic_sort_dirs_must_match_keys() -> None:
    assert bad("sort_key=name&sort_key=size&sort_key=id&sort_dir=asc&sort_dir=desc") == \
        "Number of sort dirs does not match the number of sort keys"


def test_new_sort_syntax_defaults_each_key_to_desc() -> None:
    query = parse("sort=name:asc,size")
    assert (query.sort_keys, query.sort_dirs) == (["name", "size"], ["asc", "desc"])


def test_mixing_sort_syntaxes_is_400() -> None:
    assert bad("sort=name&sort_key=size") == "Old and new sorting syntax cannot be combined"


def test_unknown_sort_key_is_400() -> None:
    assert bad("sort_key=owner") == (
        "Invalid sort key: owner. It must be one of the following: name, status, "
        "container_format, disk_format, size, id, created_at, updated_at.")


def test_unknown_sort_dir_is_400() -> None:
    assert bad("sort_key=name&sort_dir=up") == "Invalid sort direction: up"


# -- column filters with operators -------------------------------------------------------
def test_plain_name_is_exact_match() -> None:
    assert parse("name=cirros").columns == {"name": ["cirros"]}


def test_in_operator_splits_on_commas() -> None:
    assert parse("status=in:active,queued").columns == {"status": ["active", "queued"]}


def test_in_operator_keeps_commas_inside_quotes() -> None:
    assert parse('name=in:"a,b",c').columns == {"name": ["a,b", "c"]}


def test_eq_operator_allows_a_colon_in_the_value() -> None:
    assert parse("name=eq:ubuntu:22.04").columns == {"name": ["ubuntu:22.04"]}


def test_colon_without_operator_is_unknown_operator() -> None:
    assert bad("name=ubuntu:22.04") == "Unable to filter by unknown operator 'ubuntu'."


def test_unclosed_quote_is_400() -> None:
    assert bad('name=in:"a,b') == 'Invalid filter value "a,b. The quote is not closed.'


def test_quote_not_after_comma_is_400() -> None:
    assert bad('name=in:a"b",c') == ('Invalid filter value a"b",c. There is no comma '
                                     "before opening quotation mark.")


def test_id_filter_accepts_in() -> None:
    assert parse("id=in:x,y").columns == {"id": ["x", "y"]}


def test_checksum_is_a_column_filter() -> None:
    assert parse("checksum=abc").columns == {"checksum": ["abc"]}


def test_os_hash_value_is_a_column_filter() -> None:
    assert parse("os_hash_value=abc").columns == {"os_hash_value": ["abc"]}


def test_unknown_key_is_a_custom_property_filter() -> None:
    assert parse("os_distro=ubuntu").properties == {"os_distro": "ubuntu"}


def test_deleted_is_not_a_filter() -> None:
    query = parse("deleted=true")
    assert (query.columns, query.properties) == ({}, {})


def test_owner_filter() -> None:
    assert parse("owner=abc").owner == "abc"


def test_tags_repeat_and_all_must_match() -> None:
    assert parse("tag=a&tag=b").tags == ["a", "b"]


# -- ranges, dates, booleans --------------------------------------------------------------
def test_size_range() -> None:
    query = parse("size_min=10&size_max=20")
    assert (query.size_min, query.size_max) == (10, 20)


def test_non_numeric_size_is_400() -> None:
    assert bad("size_min=big") == "Unable to filter on a range with a non-numeric value."


def test_created_at_with_operator() -> None:
    assert parse("created_at=gte:2026-01-02T03:04:05Z").created_at == [
        DateFilter("gte", dt.datetime(2026, 1, 2, 3, 4, 5))]


def test_bare_time_means_eq() -> None:
    assert parse("updated_at=2026-01-02T03:04:05Z").updated_at == [
        DateFilter("eq", dt.datetime(2026, 1, 2, 3, 4, 5))]


def test_time_offset_is_normalized_to_utc() -> None:
    assert parse("created_at=lt:2026-01-02T03:04:05%2B02:00").created_at == [
        DateFilter("lt", dt.datetime(2026, 1, 2, 1, 4, 5))]


def test_unknown_time_operator_is_400() -> None:
    assert bad("created_at=after:2026-01-02T03:04:05Z") == \
        "Unable to filter on a unknown operator."


def test_bad_time_is_400() -> None:
    assert bad("created_at=gt:yesterday") == \
        'Bad "created_at" query filter format. Use ISO 8601 DateTime notation.'


def test_os_hidden_defaults_to_false() -> None:
    assert parse("").os_hidden is False


def test_os_hidden_true_means_only_hidden() -> None:
    assert parse("os_hidden=True").os_hidden is True


def test_os_hidden_other_value_is_400() -> None:
    assert bad("os_hidden=yes") == ("Invalid value 'yes' for 'os_hidden' filter. Valid "
                                    "values are 'true' or 'false'.")


def test_protected_filter() -> None:
    assert parse("protected=false").protected is False


def test_protected_other_value_is_400() -> None:
    assert bad("protected=1") == ("Invalid value '1' for 'protected' filter. Valid values "
                                  "are 'true' or 'false'.")


# -- visibility, member status, changes-since ------------------------------------------------
def test_visibility_all() -> None:
    assert parse("visibility=all").visibility == "all"


def test_bad_visibility_is_400() -> None:
    assert bad("visibility=everyone") == "Invalid visibility value: everyone"


def test_member_status_defaults_to_accepted() -> None:
    assert parse("").member_status == "accepted"


def test_bad_member_status_is_400() -> None:
    assert bad("member_status=maybe") == "Invalid status: maybe"


def test_changes_since_is_gone() -> None:
    assert bad("changes-since=2026-01-01T00:00:00Z") == \
        'The "changes-since" filter is no longer available on v2.'


# -- links ---------------------------------------------------------------------------------
def test_first_without_query_has_no_question_mark() -> None:
    assert listing.page_links([], None) == {"first": "/v2/images"}


def test_first_drops_the_marker_and_keeps_order() -> None:
    params = [("limit", "2"), ("marker", "m"), ("sort_key", "name"), ("sort_dir", "asc")]
    assert listing.page_links(params, None) == {
        "first": "/v2/images?limit=2&sort_key=name&sort_dir=asc"}


def test_next_appends_the_new_marker() -> None:
    params = [("limit", "2"), ("sort_key", "name"), ("sort_dir", "asc")]
    assert listing.page_links(params, "ID")["next"] == \
        "/v2/images?limit=2&sort_key=name&sort_dir=asc&marker=ID"


def test_links_reencode_the_query() -> None:
    assert listing.page_links([("sort", "name:asc")], None)["first"] == \
        "/v2/images?sort=name%3Aasc"


def test_links_keep_every_repeated_tag() -> None:
    assert listing.page_links([("tag", "a"), ("tag", "b")], "M")["next"] == \
        "/v2/images?tag=a&tag=b&marker=M"
