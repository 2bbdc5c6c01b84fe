"""`Simulator`: one running simulator's state (catalogue, quota, faults, latency) and its metrics.

One instance per app (``app.state.simulator``), all in memory; the endpoints run on one event loop,
so nothing here needs a lock. Every random draw comes from ``random.Random`` seeded from the seed,
one generator per purpose, so latency draws do not shift which faults fire and vice versa.
"""

from __future__ import annotations

import random

from exporter.instrumentation import MetricSet
from youtube2sheets.simulator._ids import key_of
from youtube2sheets.simulator.catalogue import Catalogue
from youtube2sheets.simulator.config import SimulatorConfig
from youtube2sheets.simulator.faults import Faults
from youtube2sheets.simulator.latency import Latency
from youtube2sheets.simulator.paging import PageTokens
from youtube2sheets.simulator.quota import Quota


class SimulatorMetrics:
    """The simulator's own families, in the app's `MetricSet`.

    - ``youtube_simulator_requests_total{method, status}``: API requests answered, by API method
      (``videos.list``...) and HTTP status (``499``: the client went away during a timeout fault);
    - ``youtube_simulator_quota_units_used_total{method}``: units charged;
    - ``youtube_simulator_faults_fired_total{kind, status}``: injected faults that decided a request.

    Example:
        >>> metrics = SimulatorMetrics(MetricSet())
        >>> metrics.requests.labels("videos.list", "200").inc()
    """

    def __init__(self, metrics: MetricSet) -> None:
        self.requests = metrics.counter(
            "youtube_simulator_requests_total", "Simulated API requests answered.", ["method", "status"]
        )
        self.quota_units = metrics.counter(
            "youtube_simulator_quota_units_used_total", "Quota units charged by the simulator.", ["method"]
        )
        self.faults = metrics.counter(
            "youtube_simulator_faults_fired_total",
            "Injected faults that decided a request.",
            ["kind", "status"],
        )


class Simulator:
    """Everything a simulator app serves from.

    Args:
        config: the settings (seed, quota, latency, clock, sleep).
        metrics: where `SimulatorMetrics` live (the app's own `MetricSet`).

    Example:
        >>> sim = Simulator(SimulatorConfig(seed=1), MetricSet())
        >>> sim.catalogue.seed, sim.quota.daily_limit, sim.latency.median_ms
        (1, 10000, 5.0)
    """

    def __init__(self, config: SimulatorConfig, metrics: MetricSet) -> None:
        self.config = config
        self.catalogue = Catalogue(config.seed)
        self.tokens = PageTokens(key_of(config.seed))
        self.quota = Quota(config.daily_quota, clock=config.clock)
        # Simulated chance, not security: seeded Random is what makes runs reproducible.
        faults_rng = random.Random(f"{config.seed}:faults")  # noqa: S311
        latency_rng = random.Random(f"{config.seed}:latency")  # noqa: S311
        self.faults = Faults(faults_rng)
        self.latency = Latency(config.latency_median_ms, config.latency_sigma, latency_rng)
        self.metrics = SimulatorMetrics(metrics)
        self.sleep = config.sleep
