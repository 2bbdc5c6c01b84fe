"""capacity._model against hand-computed numbers: the six-scenario table and each function alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

import capacity
import capacity.__main__
from capacity import Capacity, CapacityError, _model
from capacity._model import DAY

END = 7 * DAY  # every scenario: daily samples at day 0..7, window 7 d, report at day 7
TIMES = [d * DAY for d in range(8)]


@dataclass(frozen=True)
class Scenario:
    name: str
    rps: list[float]
    instances: int
    resources: dict[str, float]
    # the hand-computed answer
    action: str
    instances_needed: int
    workers_needed: int
    reaches_day: float | None  # day the trend reaches 80 % of capacity (None: never)
    trend: str = "linear"
    bottleneck: str | None = None
    quota_per_second: list[float] = field(default_factory=lambda: [0.05] * 8)  # 4320 units/day
    quota_runs_out_day: float | None = None
    quota_per_day: float = 4320.0
    efficiency: dict[int, float] | None = None  # per-worker capacity by workers load-tested


CAP = Capacity(per_instance=500.0, per_worker=125.0, source="hand")  # 4 workers per instance
QUIET = {"cpu": 0.40, "memory": 0.30, "disk": 0.5, "network": 0.1}
TARGETS = {"cpu": 0.70, "memory": 0.50, "disk": 0.80, "network": 0.80}  # the seed targets
FALLS = {2: 180.0, 4: 125.0}  # per-worker capacity falls 30.6 % from 2 to 4 workers (> 10 %)
HOLDS = {2: 130.0, 4: 125.0}  # 3.8 %: workers still scale

SCENARIOS = [
    # 300 req/s flat on 2 x 500: ceil(300 / 400) + 1 = 2 instances, ceil(300 / 100) + 1 = 4 workers.
    Scenario("steady", [300.0] * 8, 2, QUIET, "none", 2, 4, None),
    # 100 + 50 d: forecast at day 14 = 800; ceil(800 / 400) + 1 = 3; ceil(800 / 100) + 1 = 9;
    # 80 % of 2 x 500 = 800 is reached at day 14.
    Scenario("linear growth", [100.0 + 50 * d for d in range(8)], 2, QUIET, "scale_out", 3, 9, 14.0),
    # 100 x 2^(d/7) on 1 x 500: forecast at day 14 = 400; ceil(400 / 400) + 1 = 2 instances,
    # ceil(400 / 100) + 1 = 5 workers; 80 % of 500 = 400 = 100 x 2^(d/7) at d = 14.
    Scenario(
        "exponential growth",
        [100.0 * 2 ** (d / 7) for d in range(8)],
        1,
        QUIET,
        "scale_out",
        2,
        5,
        14.0,
        trend="exponential",
    ),
    # Traffic fits (as steady) but CPU p95 85 % > 70 %, and per-worker capacity falls with more
    # workers: more workers would not help, a bigger instance would.
    Scenario(
        "cpu-bound",
        [300.0] * 8,
        2,
        QUIET | {"cpu": 0.85},
        "scale_up",
        2,
        4,
        None,
        bottleneck="cpu",
        efficiency=FALLS,
    ),
    # Both over: CPU 80 / 70 = 1.14, memory 65 / 50 = 1.3: memory is the bottleneck.
    Scenario(
        "memory-bound",
        [300.0] * 8,
        2,
        QUIET | {"cpu": 0.80, "memory": 0.65},
        "scale_up",
        2,
        4,
        None,
        bottleneck="memory",
        efficiency=FALLS,
    ),
    # CPU 85 % but workers still scale: spread the load until CPU is under 70 %:
    # ceil(2 x 0.85 / 0.70) + 1 = 4 instances, 4 workers each = 16.
    Scenario(
        "cpu-hot, workers scale",
        [300.0] * 8,
        2,
        QUIET | {"cpu": 0.85},
        "scale_out",
        4,
        16,
        None,
        bottleneck="cpu",
        efficiency=HOLDS,
    ),
    # Network 90 % of the link on the busiest instance, efficiency not measured: spread as above,
    # ceil(2 x 0.9 / 0.8) + 1 = 4 instances.
    Scenario(
        "network-bound",
        [300.0] * 8,
        2,
        QUIET | {"network": 0.90},
        "scale_out",
        4,
        16,
        None,
        bottleneck="network",
    ),
    # Daily quota use 6000 + 500 d units: 9500 at day 7, 10 000 reached at day 8; scaling: nothing.
    Scenario(
        "quota-bound",
        [300.0] * 8,
        2,
        QUIET,
        "none",
        2,
        4,
        None,
        quota_per_second=[(6000 + 500 * d) / DAY for d in range(8)],
        quota_runs_out_day=8.0,
        quota_per_day=9500.0,
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_matches_the_hand_computed_answer(case: Scenario) -> None:
    trend = _model.best_fit(TIMES, case.rps)
    rec = _model.recommend(
        peak_rps=max(case.rps),
        forecast_rps=trend.at(END + 7 * DAY),
        capacity=CAP,
        instances=case.instances,
        workers=4 * case.instances,
        resources=case.resources,
        targets=TARGETS,
        target_utilisation=0.8,
        efficiency=None if case.efficiency is None else _model.efficiency(case.efficiency, 0.1),
    )
    reaches = trend.reaches(0.8 * CAP.per_instance * case.instances, END)
    quota = _model.quota(TIMES, case.quota_per_second, 10000, END)

    assert trend.kind == case.trend
    assert (rec.action, rec.instances_needed, rec.workers_needed, rec.bottleneck) == (
        case.action,
        case.instances_needed,
        case.workers_needed,
        case.bottleneck,
    )
    if case.reaches_day is None:
        assert reaches is None
    else:
        assert reaches == pytest.approx(case.reaches_day * DAY, rel=1e-9)
    assert quota.units_per_day == pytest.approx(case.quota_per_day)
    if case.quota_runs_out_day is None:
        assert quota.runs_out is None
    else:
        assert quota.runs_out == pytest.approx(case.quota_runs_out_day * DAY, rel=1e-9)


def test_six_scenarios_cover_the_issue_table() -> None:
    names = {s.name for s in SCENARIOS}
    assert {
        "steady",
        "linear growth",
        "exponential growth",
        "cpu-bound",
        "memory-bound",
        "quota-bound",
    } <= names


def test_efficiency_needs_two_worker_counts() -> None:
    assert _model.efficiency({4: 100.0}, 0.1) is None


def test_efficiency_at_the_tolerance_holds() -> None:
    # 1 - 90 / 100 = 10 %: not more than the 10 % tolerance
    found = _model.efficiency({4: 90.0, 1: 100.0}, 0.1)
    assert found is not None
    assert (found.per_worker, found.drop, found.falls) == (((1, 100.0), (4, 90.0)), 0.1, False)


def test_scale_up_names_the_efficiency_numbers() -> None:
    rec = _model.recommend(
        peak_rps=300,
        forecast_rps=300,
        capacity=CAP,
        instances=2,
        workers=8,
        resources={"cpu": 0.85},
        targets=TARGETS,
        target_utilisation=0.8,
        efficiency=_model.efficiency(FALLS, 0.1),
    )
    assert rec.reason == (
        "cpu p95 85.0% is over its 70% target and per-worker capacity 180 req/s at 2 workers, "
        "125 at 4 (-31%): a bigger instance, not more workers"
    )


def test_utilisation_of_0_to_100() -> None:
    # rank 0.95 x 100 = 95 exactly; mean 50; peak 100
    assert _model.utilisation([float(v) for v in range(101)]) == _model.Stats(50.0, 95.0, 100.0)


def test_utilisation_of_nothing_is_an_error() -> None:
    with pytest.raises(CapacityError):
        _model.utilisation([])


def test_linear_fit_of_noisy_points() -> None:
    # x = 0, 1, 2; y = 1, 2, 4: b = 3/2, a = 7/3 - 3/2 = 5/6, residuals 1/36 + 1/9 + 1/36 = 1/6
    fit = _model.fit_linear([0, 1, 2], [1, 2, 4])
    assert [fit.a, fit.b, fit.rss] == pytest.approx([5 / 6, 1.5, 1 / 6])


def test_exponential_fit_refuses_zero() -> None:
    assert _model.fit_exponential([0, 1], [0, 1]) is None


def test_a_falling_trend_never_reaches_the_level() -> None:
    assert _model.fit_linear([0, 1], [5, 4]).reaches(10, now=1) is None


def test_a_level_already_passed_is_reached_now() -> None:
    assert _model.fit_linear([0, 1], [5, 6]).reaches(3, now=1) == 1


def test_replicas_at_the_boundary_do_not_round_up_twice() -> None:
    # 800 / (500 x 0.8) = 2 exactly, plus one spare; 0.1 + 0.2 style noise must not make it 4
    assert _model.replicas_needed(800, 500, 0.8) == 3
    assert _model.replicas_needed(0.3 * 1000, 375, 0.8) == 2


def test_capacity_from_summary_divides_by_workers() -> None:
    found = _model.capacity_from_summary({"breaking_point": {"rps": 900, "users": 200}}, 1, 3)
    assert found == Capacity(900.0, 300.0, "load test breaking point (200 users)")


def test_capacity_from_summary_without_a_breaking_point_is_none() -> None:
    assert _model.capacity_from_summary({"breaking_point": None}, 1, 1) is None


@pytest.mark.parametrize(
    "doc",
    [
        [],
        {"rps": 1},
        {"breaking_point": {"rps": "fast", "users": 1}},
        {"breaking_point": {"rps": 0, "users": 1}},
    ],
)
def test_malformed_summary_is_one_clear_error(doc: object) -> None:
    with pytest.raises(CapacityError, match=r"^capacity: --summary: "):
        _model.capacity_from_summary(doc, 1, 1)


def test_quota_limit_must_be_positive() -> None:
    with pytest.raises(CapacityError, match="api_quota_limit_units"):
        _model.quota([0, 1], [1, 1], 0, now=1)


def test_public_surface_is_exact() -> None:
    # ruff's RUF022 keeps __all__ sorted (constants, classes, functions); this keeps it exact.
    modules = {"capacity._model", "capacity._prom"}
    public = {
        name
        for name, value in vars(capacity).items()
        if not name.startswith("_") and getattr(value, "__module__", "capacity._model") in modules
    }
    assert len(capacity.__all__) == len(set(capacity.__all__))
    assert set(capacity.__all__) == public
