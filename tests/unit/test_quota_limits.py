"""``quotas.Limits`` and ``Image.remember``: what the repository re-checks after a write,
and the read state a save is compared with (no I/O)."""

from __future__ import annotations

import pytest

from glance_svc import errors
from glance_svc.domain.image import Image, Location
from glance_svc.domain.quotas import Limits


def test_remembered_state_does_not_follow_later_changes() -> None:
    image = Image(properties={"a": "1"}, tags={"t"}, locations=[Location("file:///1")])
    image.remember()

    image.properties["b"] = "2"
    image.tags.add("u")
    image.locations[0].status = "deleted"

    assert image.loaded is not None
    assert (image.loaded.properties, image.loaded.tags, image.loaded.locations[0].status) == (
        {"a": "1"}, {"t"}, "active")


def test_the_remembered_state_is_not_part_of_equality() -> None:
    assert Image(id="x").remember() == Image(id="x")


def test_reserved_properties_do_not_count_against_the_property_limit() -> None:
    image = Image(properties={"a": "1", "os_glance_import_task": "t"})

    Limits(properties=1).check_image(image, properties=True)


def test_over_the_property_limit_is_413_with_glances_text() -> None:
    with pytest.raises(errors.LimitExceeded) as refused:
        Limits(properties=1).check_image(Image(properties={"a": "1", "b": "2"}),
                                         properties=True)

    assert refused.value.message == ("The limit has been exceeded on the number of allowed "
                                     "image properties. Attempted: 2, Maximum: 1")


def test_only_what_the_write_added_is_checked() -> None:
    Limits(properties=0, tags=0, locations=0).check_image(
        Image(properties={"a": "1"}, tags={"t"}, locations=[Location("file:///1")]))


def test_negative_limits_are_unlimited() -> None:
    Limits().check_image(Image(tags={str(n) for n in range(500)}), tags=True)
