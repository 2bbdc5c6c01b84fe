"""SimulatorConfig: the flags' defaults and checks."""

from __future__ import annotations

import pytest

from youtube2sheets.simulator import SimulatorConfig
from youtube2sheets.simulator._errors import InputError


def test_the_defaults_are_the_documented_command() -> None:
    config = SimulatorConfig()
    assert (config.host, config.port, config.seed, config.daily_quota) == ("127.0.0.1", 8001, 42, 10_000)
    assert (config.latency_median_ms, config.latency_sigma, config.log_level) == (5.0, 0.0, "warning")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", ""),
        ("port", 65_536),
        ("port", -1),
        ("seed", 1.5),
        ("daily_quota", -1),
        ("latency_median_ms", 60_001),
        ("latency_sigma", float("nan")),
        ("log_level", "loud"),
    ],
)
def test_bad_values_name_their_field(field: str, value: object) -> None:
    with pytest.raises(InputError) as caught:
        SimulatorConfig(**{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_zero_quota_is_allowed() -> None:
    assert SimulatorConfig(daily_quota=0).daily_quota == 0
