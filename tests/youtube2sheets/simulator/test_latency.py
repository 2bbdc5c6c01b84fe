"""Latency: log-normal waits from a seeded generator, changeable at run time."""

from __future__ import annotations

import statistics

import pytest

from tests.youtube2sheets.simulator.conftest import seeded
from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.latency import MAX_WAIT_MS, Latency


def test_sigma_zero_is_a_fixed_wait() -> None:
    latency = Latency(20.0, 0.0, seeded(1))
    assert {latency.sample() for _ in range(10)} == {0.02}


def test_a_zero_median_waits_nothing() -> None:
    assert Latency(0.0, 1.0, seeded(1)).sample() == 0.0


def test_the_same_seed_draws_the_same_waits() -> None:
    first, second = Latency(20.0, 0.5, seeded(7)), Latency(20.0, 0.5, seeded(7))
    assert [first.sample() for _ in range(20)] == [second.sample() for _ in range(20)]


def test_draws_spread_around_the_median() -> None:
    latency = Latency(20.0, 0.5, seeded(3))
    waits = [latency.sample() for _ in range(2001)]
    assert 0.018 < statistics.median(waits) < 0.022
    assert min(waits) < 0.01 and max(waits) > 0.04


def test_one_wait_is_capped() -> None:
    latency = Latency(50_000.0, 5.0, seeded(1))
    assert max(latency.sample() for _ in range(200)) == MAX_WAIT_MS / 1000


def test_update_changes_what_it_names() -> None:
    latency = Latency(20.0, 0.0, seeded(1))
    latency.update({"median_ms": 5})
    assert latency.as_json() == {"median_ms": 5.0, "sigma": 0.0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"median_ms": -1, "sigma": 0.5}, "median_ms"),
        ({"sigma": 6}, "sigma"),
        ({"mean": 3}, "mean"),
    ],
)
def test_bad_updates_name_the_field_and_change_nothing(body: dict[str, object], field: str) -> None:
    latency = Latency(20.0, 0.0, seeded(1))
    with pytest.raises(InputError) as caught:
        latency.update(body)
    assert caught.value.field == field
    assert latency.as_json() == {"median_ms": 20.0, "sigma": 0.0}
