"""Pure capacity arithmetic: statistics, trend fits, exhaustion dates, capacity and recommendations.

No I/O here: `capacity.__main__` reads Prometheus and the load-test summary and passes plain numbers.
Times are unix seconds; utilisations are ratios 0..1; request rates are requests per second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._prom import CapacityError

# Seed targets of shared/DESIGN.md: the level each resource should stay below.
TARGETS: dict[str, float] = {"cpu": 0.70, "memory": 0.50, "disk": 0.80}
TARGET_UTILISATION = 0.80  # "resource utilisation < 80 %": plan for demand at 80 % of capacity
DAY = 86400.0


@dataclass(frozen=True)
class Stats:
    """Mean, 95th percentile and peak of a series."""

    mean: float
    p95: float
    peak: float


def utilisation(values: Sequence[float]) -> Stats:
    """Mean, p95 (linear interpolation between closest ranks, as numpy's default) and peak.

    Example:
        >>> utilisation([0.1, 0.2, 0.3, 0.4, 0.5])
        Stats(mean=0.3, p95=0.48, peak=0.5)
    """
    if not values:
        raise CapacityError("capacity: no samples to summarise")
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    p95 = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return Stats(round(sum(ordered) / len(ordered), 12), round(p95, 12), ordered[-1])


@dataclass(frozen=True)
class Fit:
    """A trend: ``linear`` is ``a + b t``; ``exponential`` is ``a exp(b t)``; ``rss`` its residuals.

    ``t`` is measured from ``origin`` so that the coefficients stay readable.
    """

    kind: Literal["linear", "exponential"]
    a: float
    b: float
    origin: float
    rss: float

    def at(self, t: float) -> float:
        """The trend's value at time ``t``."""
        x = t - self.origin
        return self.a + self.b * x if self.kind == "linear" else self.a * math.exp(self.b * x)

    def reaches(self, level: float, now: float) -> float | None:
        """When the trend reaches ``level``: ``now`` if it already has, None if it never does.

        Example:
            >>> fit_linear([0, 10], [1, 2]).reaches(5, now=10)
            40.0
        """
        if self.at(now) >= level:
            return now
        if self.b <= 0 or (self.kind == "exponential" and (self.a <= 0 or level <= 0)):
            return None
        x = (level - self.a) / self.b if self.kind == "linear" else math.log(level / self.a) / self.b
        return self.origin + x

    @property
    def growth_per_day(self) -> float:
        """Linear: units per day; exponential: the daily growth factor minus one."""
        return self.b * DAY if self.kind == "linear" else math.expm1(self.b * DAY)


def _least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, 0.0
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def _check(times: Sequence[float], values: Sequence[float]) -> None:
    if len(times) != len(values) or len(times) < 2:
        raise CapacityError("capacity: a trend needs at least two samples, as many times as values")


def fit_linear(times: Sequence[float], values: Sequence[float]) -> Fit:
    """Least-squares line through the samples.

    Example:
        >>> fit = fit_linear([0, 1, 2], [1, 3, 5])
        >>> fit.a, fit.b, fit.rss
        (1.0, 2.0, 0.0)
    """
    _check(times, values)
    origin = times[0]
    xs = [t - origin for t in times]
    a, b = _least_squares(xs, values)
    rss = sum((a + b * x - y) ** 2 for x, y in zip(xs, values, strict=True))
    return Fit("linear", a, b, origin, round(rss, 9))


def fit_exponential(times: Sequence[float], values: Sequence[float]) -> Fit | None:
    """Least squares on ``log(value)``; None when a value is not positive. ``rss`` is in value units.

    Example:
        >>> fit = fit_exponential([0, 1, 2], [1, 2, 4])
        >>> round(fit.a, 9), round(math.exp(fit.b), 9), fit.rss
        (1.0, 2.0, 0.0)
    """
    _check(times, values)
    if min(values) <= 0:
        return None
    origin = times[0]
    xs = [t - origin for t in times]
    log_a, b = _least_squares(xs, [math.log(v) for v in values])
    a = math.exp(log_a)
    rss = sum((a * math.exp(b * x) - y) ** 2 for x, y in zip(xs, values, strict=True))
    return Fit("exponential", a, b, origin, round(rss, 9))


def best_fit(times: Sequence[float], values: Sequence[float]) -> Fit:
    """The linear or the exponential fit, whichever leaves smaller residuals (a tie goes to linear).

    Example:
        >>> best_fit([0, 1, 2, 3], [1, 2, 4, 8]).kind, best_fit([0, 1, 2, 3], [1, 2, 3, 4]).kind
        ('exponential', 'linear')
    """
    linear = fit_linear(times, values)
    exponential = fit_exponential(times, values)
    if exponential is not None and exponential.rss < linear.rss:
        return exponential
    return linear


@dataclass(frozen=True)
class Capacity:
    """Requests per second one instance (and one worker) serves within the SLOs, and where it came from."""

    per_instance: float
    per_worker: float
    source: str


def capacity_from_summary(doc: Any, instances: int, workers: int) -> Capacity | None:
    """From a load-test ``summary.json``: its breaking point's req/s over the instances and workers tested.

    Returns None when the run found no breaking point; raises `CapacityError` when the document is
    not a summary.

    Example:
        >>> capacity_from_summary({"breaking_point": {"rps": 1200.0, "users": 300}}, 1, 4)
        Capacity(per_instance=1200.0, per_worker=300.0, source='load test breaking point (300 users)')
    """
    if not isinstance(doc, Mapping) or "breaking_point" not in doc:
        raise CapacityError("capacity: --summary: expected a load-test summary.json with a breaking_point")
    point = doc["breaking_point"]
    if point is None:
        return None
    rps, users = (point.get("rps"), point.get("users")) if isinstance(point, Mapping) else (None, None)
    if isinstance(rps, bool) or not isinstance(rps, int | float) or not rps > 0 or not isinstance(users, int):
        raise CapacityError(
            f"capacity: --summary: breaking_point: expected a positive rps and integer users, got {point!r}"
        )
    per_instance = float(rps) / instances
    return Capacity(per_instance, per_instance / workers, f"load test breaking point ({users} users)")


def capacity_from_history(
    rps: Mapping[float, float],
    p95_seconds: Mapping[float, float],
    error_ratio: Mapping[float, float],
    *,
    latency_limit: float,
    error_limit: float,
    instances: int,
    workers: int,
) -> Capacity | None:
    """The highest total request rate seen at a time when p95 and the error ratio were below their limits.

    The three mappings are ``{time: value}`` from the same range query steps. None when no time qualified.

    Example:
        >>> capacity_from_history({0: 100, 1: 300, 2: 500}, {0: 0.1, 1: 0.5, 2: 3.0}, {0: 0, 1: 0, 2: 0},
        ...     latency_limit=2.0, error_limit=0.001, instances=2, workers=3)
        Capacity(per_instance=150.0, per_worker=50.0, source='highest request rate within the SLOs')
    """
    good = [
        value
        for t, value in rps.items()
        if p95_seconds.get(t, math.inf) < latency_limit and error_ratio.get(t, math.inf) < error_limit
    ]
    if not good:
        return None
    per_instance = max(good) / instances
    return Capacity(per_instance, per_instance / workers, "highest request rate within the SLOs")


@dataclass(frozen=True)
class Recommendation:
    """What to do, and the numbers behind it."""

    action: Literal["scale_out", "scale_up", "none"]
    reason: str
    demand_rps: float
    instances: int
    instances_needed: int
    workers: int
    workers_needed: int
    bottleneck: str | None = None


def replicas_needed(demand: float, capacity: float, target: float = TARGET_UTILISATION) -> int:
    """``ceil(demand / (capacity * target)) + 1``: enough to run at ``target`` with one spare (N+1).

    Example:
        >>> replicas_needed(1000, 400, 0.8)
        5
    """
    return math.ceil(round(demand / (capacity * target), 9)) + 1


def recommend(
    *,
    peak_rps: float,
    forecast_rps: float,
    capacity: Capacity,
    instances: int,
    workers: int,
    resources: Mapping[str, float],
    targets: Mapping[str, float] = TARGETS,
    target_utilisation: float = TARGET_UTILISATION,
) -> Recommendation:
    """Scale out when the demand needs more instances; else scale up when a resource's p95 is over its target.

    ``demand`` is the larger of the window's peak and the forecast; ``resources`` are per-resource p95
    utilisations (the busiest instance). Scale-up names the resource furthest over its target.

    Example:
        >>> r = recommend(peak_rps=900, forecast_rps=1000, capacity=Capacity(400, 100, "test"),
        ...     instances=2, workers=4, resources={"cpu": 0.5})
        >>> r.action, r.instances_needed, r.workers_needed
        ('scale_out', 5, 14)
    """
    demand = max(peak_rps, forecast_rps)
    needed = replicas_needed(demand, capacity.per_instance, target_utilisation)
    workers_needed = replicas_needed(demand, capacity.per_worker, target_utilisation)
    common = {
        "demand_rps": demand,
        "instances": instances,
        "instances_needed": needed,
        "workers": workers,
        "workers_needed": workers_needed,
    }
    if needed > instances:
        reason = (
            f"demand {demand:.6g} req/s needs ceil({demand:.6g} / ({capacity.per_instance:.6g} x "
            f"{target_utilisation:g})) + 1 = {needed} instances (N+1), {instances} running"
        )
        return Recommendation("scale_out", reason, **common)  # type: ignore[arg-type]
    over = {name: value / targets[name] for name, value in resources.items() if value > targets[name]}
    if over:
        name = max(over, key=lambda n: over[n])
        reason = f"{name} p95 {resources[name]:.1%} is over its {targets[name]:.0%} target"
        return Recommendation("scale_up", reason, bottleneck=name, **common)  # type: ignore[arg-type]
    reason = f"{instances} instances serve {demand:.6g} req/s with N+1 and every resource under target"
    return Recommendation("none", reason, **common)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Quota:
    """YouTube Data API quota: units per day at the current rate against the daily limit."""

    units_per_day: float
    limit: float
    used_ratio: float
    runs_out: float | None  # unix seconds when the trend of daily use reaches the limit; None = never


def quota(times: Sequence[float], units_per_second: Sequence[float], limit: float, now: float) -> Quota:
    """Daily use from ``rate1h`` samples (units/s x 86400), and when its trend reaches the daily limit.

    Example:
        >>> q = quota([0, DAY], [0.05, 0.1], 10000, now=DAY)
        >>> q.units_per_day, q.used_ratio, q.runs_out / DAY
        (8640.0, 0.864, 1.3148148148148149)
    """
    if limit <= 0:
        raise CapacityError(f"capacity: api_quota_limit_units is {limit:g}; expected a positive limit")
    daily = [u * DAY for u in units_per_second]
    per_day = daily[-1]
    runs_out = best_fit(times, daily).reaches(limit, now) if len(daily) > 1 else None
    return Quota(round(per_day, 9), limit, round(per_day / limit, 12), runs_out)
