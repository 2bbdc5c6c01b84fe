"""``python -m capacity``: the capacity report for a window of Prometheus history.

Everything is queried and computed before anything is written; the report's files are written to
temporary names in ``--out`` and renamed at the end, so bad input never leaves half a report behind.
The figures read the series that `alerting/rules/` record, with the same PromQL as the capacity
recording rules (`alerting/rules/capacity.rules.yml`), so the Capacity dashboard and a report over the
same window (7 d) agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from alerting import CAPACITY_RESOURCES, duration_seconds, load_thresholds

from . import _model
from ._prom import CapacityError, Prometheus, Series
from ._render import render

REQUIRED = ("cpu", "memory")  # disk and network are reported when recorded (not every host has them)
WITHIN_SLO = "job:http_requests_per_instance_within_slo:rate5m"  # capacity.rules.yml
QUOTA_USED = "sum(job_api:api_quota_units_used:rate1h{{job={job}}})"
QUOTA_LIMIT = "max(api_quota_limit_units{{job={job}}})"
CHARTS = {"requests": "capacity-requests.png", "utilisation": "capacity-utilisation.png"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"capacity: {message}\n")


def _parser(default_window: str) -> argparse.ArgumentParser:
    p = _Parser(prog="python -m capacity", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "--prometheus",
        default=os.environ.get("Y2S_PROMETHEUS_URL", "http://127.0.0.1:9090"),
        help="Prometheus base URL (default $Y2S_PROMETHEUS_URL, else the stack's http://127.0.0.1:9090)",
    )
    p.add_argument(
        "--window",
        default=default_window,
        help=f"history to read, a Prometheus duration (default {default_window}: capacity.window)",
    )
    p.add_argument("--end", help="end of the window: ISO 8601 or unix seconds (default: now)")
    p.add_argument(
        "--summary",
        action="append",
        default=[],
        metavar="[WORKERS=]FILE",
        help="a load-test summary.json of a stress test against one instance running WORKERS workers "
        "(default: as many as the instances run); repeat it for other worker counts to measure "
        "per-worker efficiency",
    )
    p.add_argument("--job", default="youtube2sheets", help="the service's Prometheus job")
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes per instance (default: the job's process_worker_start_time_seconds series "
        "per target, else 1)",
    )
    p.add_argument("--instances", type=int, help="instances serving the job (default: its scrape targets)")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument(
        "--out", type=Path, help="write the report (and, for markdown, its PNG charts) into this directory"
    )
    return p


@dataclass(frozen=True)
class Planning:
    """The planning levels of alerting/thresholds.yml's ``capacity`` section."""

    targets: dict[str, float]
    target_utilisation: float
    efficiency_drop: float
    latency_limit: float
    error_limit: float

    @classmethod
    def load(cls) -> Planning:
        t = load_thresholds()
        return cls(
            targets={name: t.ratio("capacity", f"{name}_utilisation") for name in CAPACITY_RESOURCES},
            target_utilisation=t.ratio("capacity", "target_utilisation"),
            efficiency_drop=t.ratio("capacity", "efficiency_drop"),
            latency_limit=t.number("service", "latency_p95_seconds"),
            error_limit=t.ratio("service", "error_ratio"),
        )


def _end(text: str | None) -> float:
    if text is None:
        return time.time()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CapacityError(f"capacity: --end {text!r}: expected ISO 8601 or unix seconds") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _iso(t: float | None) -> str | None:
    if t is None or not math.isfinite(t):
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _summaries(specs: Sequence[str], workers: int) -> dict[int, tuple[Path, Any]]:
    """``[WORKERS=]FILE`` -> {workers: (path, parsed JSON)}; one line on the first bad one."""
    out: dict[int, tuple[Path, Any]] = {}
    for spec in specs:
        count, sep, name = spec.partition("=")
        if not sep:
            count, name = str(workers), spec
        if not count.isdigit() or int(count) < 1:
            raise CapacityError(f"capacity: --summary {spec!r}: expected [WORKERS=]FILE with WORKERS >= 1")
        path = Path(name)
        if int(count) in out:
            raise CapacityError(f"capacity: --summary {spec!r}: a second summary for {count} workers")
        try:
            out[int(count)] = (path, json.loads(path.read_text()))
        except OSError as exc:
            raise CapacityError(f"capacity: --summary {path}: cannot read: {exc.strerror}") from exc
        except ValueError as exc:
            raise CapacityError(f"capacity: --summary {path}: not valid JSON: {exc}") from exc
    return out


def _one(series: list[Series]) -> Series:
    return max(series, key=lambda s: len(s.points))


_SELECTOR = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$")


def window_range(expr: str, window: float) -> str:
    """``expr`` over the window: a raw range for a selector (every sample), else a subquery.

    Example:
        >>> window_range("up", 3600), window_range("sum(up)", 60)
        ('up[3600s]', '(sum(up))[60s:]')
    """
    return f"{expr}[{window:.0f}s]" if _SELECTOR.match(expr) else f"({expr})[{window:.0f}s:]"


def _key(labels: Mapping[str, str]) -> str:
    return " ".join(labels[k] for k in ("instance", "mountpoint") if k in labels)


def window_stats(prom: Prometheus, expr: str, window: float, end: float) -> dict[str, _model.Stats]:
    """Mean, p95 and peak of every series of ``expr`` over the whole window, computed by Prometheus
    from every sample (``avg_over_time``, ``quantile_over_time``, ``max_over_time``, as the capacity
    recording rules do), by instance."""
    ranged = window_range(expr, window)
    answers = [
        {_key(labels): value for labels, value in prom.query(query, end)}
        for query in (
            f"avg_over_time({ranged})",
            f"quantile_over_time(0.95, {ranged})",
            f"max_over_time({ranged})",
        )
    ]
    return {
        k: _model.Stats(answers[0][k], answers[1][k], answers[2][k]) for k in answers[0] if k in answers[2]
    }


def _utilisation(
    prom: Prometheus, window: float, end: float, targets: Mapping[str, float]
) -> tuple[dict[str, dict[str, Any]], dict[str, float]]:
    """Per-resource, per-instance statistics, and the busiest instance's p95 per resource."""
    utilisation: dict[str, dict[str, Any]] = {}
    busiest: dict[str, float] = {}
    for name, expr in CAPACITY_RESOURCES.items():
        per_instance = window_stats(prom, expr, window, end)
        if not per_instance and name in REQUIRED:
            raise CapacityError(f"capacity: query {expr} returned no data for the window")
        if per_instance:
            utilisation[name] = {
                "target": targets[name],
                "instances": {i: vars(st) for i, st in sorted(per_instance.items())},
            }
            busiest[name] = max(st.p95 for st in per_instance.values())
    return utilisation, busiest


def _efficiency(
    summaries: Mapping[int, tuple[Path, Any]], tolerance: float
) -> tuple[dict[int, _model.Capacity], _model.Efficiency | None]:
    """Capacity from each summary with a breaking point, by workers, and the efficiency across them."""
    found: dict[int, _model.Capacity] = {}
    for workers, (path, doc) in summaries.items():
        try:
            capacity = _model.capacity_from_summary(doc, 1, workers)
        except CapacityError as exc:
            raise CapacityError(str(exc).replace("--summary:", f"--summary {path}:", 1)) from None
        if capacity is not None:
            found[workers] = capacity
    return found, _model.efficiency({w: c.per_worker for w, c in found.items()}, tolerance)


def _capacity(
    prom: Prometheus,
    args: argparse.Namespace,
    *,
    workers: int,
    tested: Mapping[int, _model.Capacity],
    window: float,
    end: float,
) -> _model.Capacity:
    """The stress test's breaking point at ``--workers``, failing that the window's history: the highest
    per-instance request rate recorded while p95 and errors met their SLOs."""
    if tested:
        if workers not in tested:
            have = ", ".join(str(w) for w in sorted(tested))
            raise CapacityError(
                f"capacity: --summary: no breaking point at {workers} workers, what the instances run "
                f"(summaries at {have}; --workers sets it)"
            )
        return tested[workers]
    expr = f'max_over_time({WITHIN_SLO}{{job="{args.job}"}}[{window:.0f}s])'
    best = prom.query(expr, end)
    if not best:
        raise CapacityError(
            f"capacity: no time in the window met the latency and error SLOs ({WITHIN_SLO} of job "
            f"{args.job}, recorded by alerting/rules/capacity.rules.yml, has no samples)"
        )
    per_instance = best[0][1]
    return _model.Capacity(per_instance, per_instance / workers, "highest request rate within the SLOs")


def _workers(prom: Prometheus, args: argparse.Namespace, end: float, instances: int) -> tuple[int, str]:
    """Workers per instance, and where the number came from: --workers, else the service's own
    per-worker series (one ``process_worker_start_time_seconds`` a worker), else 1."""
    if args.workers is not None:
        return int(args.workers), "--workers"
    series = "process_worker_start_time_seconds"
    found = prom.query(f'count({series}{{job="{args.job}"}})', end)
    if found and found[0][1] >= 1:
        return max(1, round(found[0][1] / instances)), f"{series} per target"
    return 1, f"assumed: no {series} (give --workers)"


def _instances(prom: Prometheus, args: argparse.Namespace, end: float) -> int:
    if args.instances is not None:
        return int(args.instances)
    found = prom.query(f'count(up{{job="{args.job}"}})', end)
    if not found or found[0][1] < 1:
        raise CapacityError(f"capacity: no scrape targets of job {args.job} at the end of the window")
    return int(found[0][1])


@dataclass
class Report:
    """The report as data (`data`, what JSON shows) and the series its charts draw."""

    data: dict[str, Any]
    requests: Series
    trend: _model.Fit | None
    start: float
    end: float
    step: float


def build_report(args: argparse.Namespace, planning: Planning) -> Report:
    """Query Prometheus and compute the whole report (raises `CapacityError` on bad input)."""
    try:
        window = duration_seconds(args.window)
    except ValueError as exc:
        raise CapacityError(f"capacity: --window: {exc}") from None
    if window <= 0 or any(n is not None and n < 1 for n in (args.workers, args.instances)):
        raise CapacityError("capacity: --window, --workers and --instances must be positive")
    end = _end(args.end)
    step = max(15.0, math.ceil(window / 2000))
    start = end - math.floor(window / step) * step  # so that the last step of a range query is `end`
    prom = Prometheus(args.prometheus)
    job = f'job="{args.job}"'

    utilisation, busiest = _utilisation(prom, window, end, planning.targets)
    instances = _instances(prom, args, end)
    workers, workers_source = _workers(prom, args, end, instances)
    tested, efficiency = _efficiency(_summaries(args.summary, workers), planning.efficiency_drop)

    rps_expr = f"sum(job:http_requests:rate5m{{{job}}})"
    rps = _one(prom.require_range(rps_expr, start, end, step))
    # every sample by Prometheus; the range query's steps only if the subquery found nothing
    rps_stats = window_stats(prom, rps_expr, window, end).get("") or _model.utilisation(rps.values)
    trend = _model.best_fit(rps.times, rps.values) if len(rps.points) > 1 else None
    linear = _model.fit_linear(rps.times, rps.values) if len(rps.points) > 1 else None
    now_rps = rps.values[-1]
    horizon = end + window
    forecast = trend.at(horizon) if trend else now_rps

    capacity = _capacity(prom, args, workers=workers, tested=tested, window=window, end=end)
    total = capacity.per_instance * instances
    level = planning.target_utilisation * total

    def reaches(fit: _model.Fit | None) -> float | None:
        return fit.reaches(level, end) if fit else (end if now_rps >= level else None)

    rec = _model.recommend(
        peak_rps=rps_stats.peak,
        forecast_rps=forecast,
        capacity=capacity,
        instances=instances,
        workers=workers * instances,
        resources=busiest,
        targets=planning.targets,
        target_utilisation=planning.target_utilisation,
        efficiency=efficiency,
    )

    quota = None
    used = prom.query_range(QUOTA_USED.format(job=f'"{args.job}"'), start, end, step)
    if used:
        limit_expr = QUOTA_LIMIT.format(job=f'"{args.job}"')
        limits = prom.query(limit_expr, end)
        if not limits:
            raise CapacityError(f"capacity: query {limit_expr} returned no data for the window")
        q = _model.quota(_one(used).times, _one(used).values, limits[0][1], end)
        quota = vars(q) | {"runs_out": _iso(q.runs_out)}

    data = {
        "window": {"start": _iso(start), "end": _iso(end), "step_seconds": step},
        "job": args.job,
        "instances": instances,
        "workers_per_instance": workers,
        "workers_source": workers_source,
        "utilisation": utilisation,
        "requests": {
            "now_rps": now_rps,
            **{f"{k}_rps": v for k, v in vars(rps_stats).items()},
            "trend": None if trend is None else {"kind": trend.kind, "growth_per_day": trend.growth_per_day},
            "forecast_rps": forecast,
            # what the dashboard's predict_linear shows, whichever trend fits better
            "linear": None
            if linear is None
            else {"forecast_rps": linear.at(horizon), "reaches_level": _iso(reaches(linear))},
        },
        "capacity": vars(capacity)
        | {
            "total_rps": total,
            "target_utilisation": planning.target_utilisation,
            "level_rps": level,
            "headroom_rps": level - now_rps,
            "reaches_level": _iso(reaches(trend)),
        },
        "efficiency": None
        if efficiency is None
        else {
            "per_worker_rps": dict(efficiency.per_worker),
            "drop": efficiency.drop,
            "falls": efficiency.falls,
        },
        "recommendation": vars(rec),
        "quota": quota,
    }
    return Report(data, rps, trend, start, end, step)


def charts(prom: Prometheus, report: Report, planning: Planning) -> dict[str, bytes]:
    """The Markdown report's PNGs: the request rate with its trend and capacity, utilisation per instance."""
    from ._charts import requests_chart, utilisation_chart  # noqa: PLC0415 (matplotlib: only for charts)

    data, start, end, step = report.data, report.start, report.end, report.step
    horizon = end + (end - start)  # the forecast looks one window ahead
    trend: list[tuple[float, float]] = []
    if report.trend is not None:
        count = 2 if report.trend.kind == "linear" else 100
        trend = [
            (t, report.trend.at(t))
            for t in (start + (horizon - start) * i / (count - 1) for i in range(count))
        ]
    cap = data["capacity"]
    reached = data["capacity"]["reaches_level"]
    requests = requests_chart(
        report.requests.points,
        trend,
        level_rps=cap["level_rps"],
        total_rps=cap["total_rps"],
        reaches=None if reached is None else _unix(reached),
        title=f"{data['job']}: request rate, trend and capacity",
    )
    series: dict[str, dict[str, Sequence[tuple[float, float]]]] = {}
    for name in data["utilisation"]:
        found = prom.query_range(CAPACITY_RESOURCES[name], start, end, step)
        series[name] = {_key(s.labels): s.points for s in found}
    utilisation = utilisation_chart(series, planning.targets, title="utilisation per instance")
    return {CHARTS["requests"]: requests, CHARTS["utilisation"]: utilisation}


def _unix(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _write_all(directory: Path, files: Mapping[str, bytes]) -> None:
    """Write every file to a temporary name first, then rename them all: whole or not at all."""
    if not directory.is_dir():
        raise CapacityError(f"capacity: --out {directory}: not a directory")
    staged: list[tuple[str, Path]] = []
    try:
        for name, content in files.items():
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
            staged.append((name, Path(temporary)))
            with os.fdopen(fd, "wb") as out:
                out.write(content)
        for name, tmp in staged:
            os.replace(tmp, directory / name)
    finally:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 on success, 2 with one line on stderr on bad input."""
    try:
        planning = Planning.load()
    except ValueError as exc:  # AlertingConfigError: thresholds.yml names the file and field
        print(f"capacity: {exc}", file=sys.stderr)
        return 2
    window_default = load_thresholds().duration("capacity", "window")
    args = _parser(window_default).parse_args(argv)
    try:
        report = build_report(args, planning)
        with_charts = args.format == "markdown" and args.out is not None
        text = render(report.data, args.format, charts=list(CHARTS.values()) if with_charts else None)
        if args.out is None:
            sys.stdout.write(text)
        else:
            suffix = {"json": "json", "markdown": "md", "table": "txt"}[args.format]
            files = {f"capacity.{suffix}": text.encode()}
            if with_charts:
                prom = Prometheus(args.prometheus)
                files |= charts(prom, report, planning)
            _write_all(args.out, files)
    except CapacityError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
