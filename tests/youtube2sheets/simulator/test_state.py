"""Simulator state: one catalogue, quota, fault list and latency per app, each seeded separately."""

from __future__ import annotations

from exporter.instrumentation import MetricSet
from youtube2sheets.simulator import SimulatorConfig
from youtube2sheets.simulator.state import Simulator, SimulatorMetrics


def fault_outcomes(sim: Simulator) -> list[bool]:
    sim.faults.add({"kind": "error", "status": 500, "rate": 0.5})
    return [sim.faults.pick("videos.list") is not None for _ in range(30)]


def test_the_config_reaches_every_part() -> None:
    sim = Simulator(SimulatorConfig(seed=3, daily_quota=7, latency_median_ms=9.0), MetricSet())
    assert (sim.catalogue.seed, sim.quota.daily_limit, sim.latency.median_ms) == (3, 7, 9.0)


def test_latency_draws_do_not_change_which_faults_fire() -> None:
    quiet = Simulator(SimulatorConfig(seed=3, latency_sigma=0.0), MetricSet())
    noisy = Simulator(SimulatorConfig(seed=3, latency_sigma=1.0), MetricSet())
    for _ in range(10):
        noisy.latency.sample()
    assert fault_outcomes(quiet) == fault_outcomes(noisy)


def test_the_metrics_are_created_in_the_given_set() -> None:
    metrics = MetricSet()
    SimulatorMetrics(metrics)
    assert {f.name for f in metrics.families()} == {
        "youtube_simulator_faults_fired_total",
        "youtube_simulator_quota_units_used_total",
        "youtube_simulator_requests_total",
    }
