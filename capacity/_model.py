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


@dataclass(frozen=True)
class Efficiency:
    """Per-worker capacity at each worker count load-tested (fewest workers first), and whether it falls.

    ``drop`` is ``1 - per-worker capacity at the most workers / at the fewest``; ``falls`` is
    ``drop > tolerance``: adding workers to an instance stopped paying for itself.
    """

    per_worker: tuple[tuple[int, float], ...]
    drop: float
    falls: bool

    def describe(self) -> str:
        """``per-worker capacity 300 req/s at 2 workers, 200 at 4 (-33 %)``."""
        (w0, r0), (w1, r1) = self.per_worker[0], self.per_worker[-1]
        return f"per-worker capacity {r0:.6g} req/s at {w0} workers, {r1:.6g} at {w1} ({-self.drop:+.0%})"


def efficiency(per_worker: Mapping[int, float], tolerance: float) -> Efficiency | None:
    """How per-worker capacity changes from the fewest to the most workers tested; None below two counts.

    Example:
        >>> efficiency({2: 300.0, 4: 200.0}, 0.1)
        Efficiency(per_worker=((2, 300.0), (4, 200.0)), drop=0.333333333333, falls=True)
        >>> efficiency({2: 300.0, 4: 290.0}, 0.1).falls
        False
    """
    if len(per_worker) < 2:
        return None
    points = tuple(sorted(per_worker.items()))
    drop = round(1 - points[-1][1] / points[0][1], 12)
    return Efficiency(points, drop, drop > tolerance)


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


def replicas_needed(demand: float, capacity: float, target: float) -> int:
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
    targets: Mapping[str, float],
    target_utilisation: float,
    efficiency: Efficiency | None = None,
) -> Recommendation:
    """Scale out, scale up or nothing, in this order of precedence:

    1. scale out when the demand (the larger of the window's peak and the forecast) needs more
       instances than run: ``ceil(demand / (capacity per instance x target_utilisation)) + 1``;
    2. when a resource's p95 (``resources``: the busiest instance's) is over its target, the one
       furthest over is the bottleneck, and
       - scale up when per-worker capacity falls with more workers (``efficiency.falls``): more
         workers on the same instance do not help, a bigger instance does;
       - else scale out until that resource is under its target:
         ``ceil(instances x p95 / target) + 1`` instances, as many workers each as now;
    3. nothing otherwise.

    Example:
        >>> r = recommend(peak_rps=900, forecast_rps=1000, capacity=Capacity(400, 100, "test"),
        ...     instances=2, workers=4, resources={"cpu": 0.5}, targets={"cpu": 0.7}, target_utilisation=0.8)
        >>> r.action, r.instances_needed, r.workers_needed
        ('scale_out', 5, 14)
    """
    demand = max(peak_rps, forecast_rps)
    needed = replicas_needed(demand, capacity.per_instance, target_utilisation)
    workers_needed = replicas_needed(demand, capacity.per_worker, target_utilisation)

    def answer(
        action: Literal["scale_out", "scale_up", "none"],
        reason: str,
        bottleneck: str | None = None,
        at_least: tuple[int, int] = (0, 0),
    ) -> Recommendation:
        instances_needed, all_workers = max(needed, at_least[0]), max(workers_needed, at_least[1])
        return Recommendation(
            action, reason, demand, instances, instances_needed, workers, all_workers, bottleneck
        )

    if needed > instances:
        return answer(
            "scale_out",
            f"demand {demand:.6g} req/s needs ceil({demand:.6g} / ({capacity.per_instance:.6g} x "
            f"{target_utilisation:g})) + 1 = {needed} instances (N+1), {instances} running",
        )
    over = {name: value / targets[name] for name, value in resources.items() if value > targets[name]}
    if not over:
        return answer(
            "none", f"{instances} instances serve {demand:.6g} req/s with N+1 and every resource under target"
        )
    name = max(over, key=lambda n: over[n])
    hot = f"{name} p95 {resources[name]:.1%} is over its {targets[name]:.0%} target"
    if efficiency is not None and efficiency.falls:
        return answer(
            "scale_up", f"{hot} and {efficiency.describe()}: a bigger instance, not more workers", name
        )
    spread = math.ceil(round(instances * resources[name] / targets[name], 9)) + 1
    scaling = (
        "per-worker efficiency not measured (give --summary for two worker counts)"
        if efficiency is None
        else f"workers still scale ({efficiency.describe()})"
    )
    reason = (
        f"{hot}: ceil({instances} x {resources[name]:.1%} / {targets[name]:.0%}) + 1 = {spread} "
        f"instances (N+1) bring it under; {scaling}"
    )
    return answer("scale_out", reason, name, (spread, spread * math.ceil(workers / instances)))


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
