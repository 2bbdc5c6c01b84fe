"""The simulator's quota: per key, per Pacific day, refusals cost nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.youtube2sheets.simulator.conftest import FakeClock
from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.quota import PACIFIC, Quota


@pytest.fixture
def quota(clock: FakeClock) -> Quota:
    return Quota(150, clock=clock)


def test_charges_add_up_per_key(quota: Quota) -> None:
    assert quota.charge("a", 100) and quota.charge("a", 1) and quota.charge("b", 100)
    assert quota.used() == {"a": 101, "b": 100}


def test_reaching_the_limit_exactly_is_allowed(quota: Quota) -> None:
    assert quota.charge("a", 100) and quota.charge("a", 50)


def test_a_charge_that_would_pass_the_limit_is_refused_and_costs_nothing(quota: Quota) -> None:
    quota.charge("a", 100)
    assert not quota.charge("a", 100)
    assert quota.used() == {"a": 100}


def test_usage_restarts_at_midnight_pacific(quota: Quota, clock: FakeClock) -> None:
    clock.set(dt.datetime(2024, 5, 1, 23, 59, 59, tzinfo=PACIFIC))
    quota.charge("a", 150)
    assert not quota.charge("a", 1)
    clock.set(dt.datetime(2024, 5, 2, 0, 0, 0, tzinfo=PACIFIC))
    assert quota.charge("a", 1)
    assert quota.used() == {"a": 1}


def test_midnight_utc_does_not_reset(quota: Quota, clock: FakeClock) -> None:
    clock.set(dt.datetime(2024, 5, 1, 23, 59, tzinfo=dt.UTC))
    quota.charge("a", 150)
    clock.set(dt.datetime(2024, 5, 2, 0, 1, tzinfo=dt.UTC))
    assert quota.used() == {"a": 150}


def test_the_reset_is_the_next_pacific_midnight(quota: Quota) -> None:
    assert quota.resets_at().isoformat() == "2024-05-02T00:00:00-07:00"


def test_the_reset_follows_daylight_saving_time(quota: Quota, clock: FakeClock) -> None:
    clock.set(dt.datetime(2024, 11, 3, 12, 0, tzinfo=PACIFIC))  # the 25-hour day
    assert quota.resets_at().isoformat() == "2024-11-04T00:00:00-08:00"


def test_reset_forgets_todays_usage(quota: Quota) -> None:
    quota.charge("a", 10)
    quota.reset()
    assert quota.used() == {}


def test_update_sets_the_limit_and_the_named_keys(quota: Quota) -> None:
    quota.charge("a", 10)
    quota.charge("b", 10)
    quota.update({"daily_limit": 500, "used": {"a": 400}})
    assert (quota.daily_limit, quota.used()) == (500, {"a": 400, "b": 10})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"limit": 5}, "limit"),
        ({"daily_limit": -1}, "daily_limit"),
        ({"daily_limit": "100"}, "daily_limit"),
        ({"used": [1]}, "used"),
        ({"used": {"": 1}}, "used"),
        ({"used": {"a": 1.5}}, "used.a"),
        ({"daily_limit": 5, "used": {"a": -1}}, "used.a"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(
    quota: Quota, body: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError) as caught:
        quota.update(body)
    assert caught.value.field == field
    assert (quota.daily_limit, quota.used()) == (150, {})


def test_as_json_has_the_admin_shape(quota: Quota) -> None:
    quota.charge("a", 3)
    assert quota.as_json() == {"daily_limit": 150, "used": {"a": 3}, "resets_at": "2024-05-02T00:00:00-07:00"}
