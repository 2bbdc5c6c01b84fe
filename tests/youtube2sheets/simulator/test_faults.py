"""Faults: validation, order, count, methods filter and seeded rates."""

from __future__ import annotations

from typing import Any

import pytest

from tests.youtube2sheets.simulator.conftest import seeded
from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.faults import Faults, parse_fault


@pytest.fixture
def faults() -> Faults:
    return Faults(seeded(42))


def test_an_error_fault_has_the_defaults() -> None:
    assert parse_fault({"kind": "error", "status": 503}, 7).as_json() == {
        "id": 7,
        "kind": "error",
        "status": 503,
        "rate": 1.0,
        "count": None,
        "methods": None,
        "retry_after": None,
        "delay_ms": None,
        "fired": 0,
    }


def test_a_timeout_holds_30_seconds_by_default_and_answers_504() -> None:
    fault = parse_fault({"kind": "timeout"}, 1)
    assert (fault.status, fault.delay_ms) == (504, 30_000)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "kind"),
        ({"kind": "crash"}, "kind"),
        ({"kind": "error"}, "status"),
        ({"kind": "error", "status": 404}, "status"),
        ({"kind": "error", "status": "500"}, "status"),
        ({"kind": "timeout", "status": 503}, "status"),
        ({"kind": "error", "status": 500, "delay_ms": 10}, "delay_ms"),
        ({"kind": "timeout", "delay_ms": -1}, "delay_ms"),
        ({"kind": "timeout", "delay_ms": 600_001}, "delay_ms"),
        ({"kind": "error", "status": 500, "rate": 1.5}, "rate"),
        ({"kind": "error", "status": 500, "rate": "high"}, "rate"),
        ({"kind": "error", "status": 500, "count": 0}, "count"),
        ({"kind": "error", "status": 500, "methods": []}, "methods"),
        ({"kind": "error", "status": 500, "methods": "videos.list"}, "methods"),
        ({"kind": "error", "status": 500, "methods": ["videos.get"]}, "methods"),
        ({"kind": "error", "status": 500, "retry_after": -5}, "retry_after"),
        ({"kind": "error", "status": 500, "colour": "red"}, "colour"),
    ],
)
def test_bad_faults_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_fault(body, 1)
    assert caught.value.field == field


def test_the_first_fault_that_fires_decides(faults: Faults) -> None:
    faults.add({"kind": "error", "status": 500, "rate": 0.0})
    second = faults.add({"kind": "error", "status": 503})
    faults.add({"kind": "error", "status": 429})
    assert faults.pick("videos.list") is second


def test_a_count_limits_how_often_a_fault_fires(faults: Faults) -> None:
    fault = faults.add({"kind": "error", "status": 500, "count": 2})
    picked = [faults.pick("videos.list") for _ in range(4)]
    assert picked == [fault, fault, None, None] and fault.fired == 2


def test_the_methods_filter_limits_where_a_fault_fires(faults: Faults) -> None:
    fault = faults.add({"kind": "error", "status": 500, "methods": ["videos.list", "search.list"]})
    assert faults.pick("channels.list") is None and faults.pick("search.list") is fault


def test_rates_are_drawn_from_the_seeded_generator() -> None:
    def outcomes(seed: int) -> list[bool]:
        faults = Faults(seeded(seed))
        faults.add({"kind": "error", "status": 500, "rate": 0.5})
        return [faults.pick("videos.list") is not None for _ in range(40)]

    assert outcomes(1) == outcomes(1)
    assert outcomes(1) != outcomes(2)
    assert 0 < sum(outcomes(1)) < 40


def test_fired_counts_only_the_requests_a_fault_decided(faults: Faults) -> None:
    fault = faults.add({"kind": "error", "status": 500, "rate": 0.25})
    fired = sum(faults.pick("videos.list") is not None for _ in range(100))
    assert fault.fired == fired


def test_ids_are_never_reused(faults: Faults) -> None:
    faults.add({"kind": "timeout"})
    faults.clear()
    assert faults.add({"kind": "timeout"}).id == 2


def test_remove_takes_out_one_fault(faults: Faults) -> None:
    first = faults.add({"kind": "timeout"})
    second = faults.add({"kind": "timeout"})
    assert faults.remove(first.id) is first and faults.remove(first.id) is None
    assert faults.all() == [second]


def test_duplicate_methods_are_listed_once() -> None:
    fault = parse_fault({"kind": "error", "status": 500, "methods": ["videos.list", "videos.list"]}, 1)
    assert fault.methods == ("videos.list",)
