"""``python -m capacity``: the capacity report for a window of Prometheus history.

Everything is queried and computed before anything is written; a report file is written to a
temporary name in ``--out`` and renamed, so bad input never leaves half a report behind.
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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from alerting import duration_seconds, load_thresholds

from . import _model
from ._prom import CapacityError, Prometheus, Series
from ._render import render

RESOURCES = {  # resource -> per-instance utilisation query (recorded by alerting/rules/host.rules.yml)
    "cpu": "instance:node_cpu_utilisation:rate5m",
    "memory": "instance:node_memory_utilisation:ratio",
    "disk": "instance:node_filesystem_utilisation:ratio",  # per mountpoint
}
REQUIRED = ("cpu", "memory")  # disk is reported when recorded; a host without filesystems has none
QUOTA_USED = "sum(job_api:api_quota_units_used:rate1h)"
QUOTA_LIMIT = "max(api_quota_limit_units)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"capacity: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m capacity", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    p.add_argument("--window", default="7d", help="history to read, a Prometheus duration (default 7d)")
    p.add_argument("--end", help="end of the window: ISO 8601 or unix seconds (default: now)")
    p.add_argument(
        "--summary",
        type=Path,
        help="load-test summary.json; its breaking point is read as one instance running --workers workers",
    )
    p.add_argument("--job", default="youtube2sheets", help="the service's Prometheus job")
    p.add_argument("--workers", type=int, default=1, help="worker processes per instance (default 1)")
    p.add_argument("--instances", type=int, help="instances serving the job (default: hosts reporting CPU)")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument("--out", type=Path, help="write the report into this directory instead of stdout")
    return p


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
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _read_summary(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise CapacityError(f"capacity: --summary {path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise CapacityError(f"capacity: --summary {path}: not valid JSON: {exc}") from exc


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


def _key(labels: dict[str, str]) -> str:
    return " ".join(labels[k] for k in ("instance", "mountpoint") if k in labels)


def window_stats(prom: Prometheus, expr: str, window: float, end: float) -> dict[str, _model.Stats]:
    """Mean, p95 and peak of every series of ``expr`` over the whole window, computed by Prometheus
    from every sample (``avg_over_time``, ``quantile_over_time``, ``max_over_time``), by instance."""
    ranged = window_range(expr, window)
    answers = [
        dict((_key(labels), value) for labels, value in prom.query(query, end))
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
    prom: Prometheus, window: float, end: float
) -> tuple[dict[str, dict[str, Any]], dict[str, float], set[str]]:
    """Per-resource, per-instance statistics; the busiest instance's p95 per resource; the hosts seen."""
    utilisation: dict[str, dict[str, Any]] = {}
    busiest: dict[str, float] = {}
    hosts: set[str] = set()
    for name, expr in RESOURCES.items():
        per_instance = window_stats(prom, expr, window, end)
        if not per_instance and name in REQUIRED:
            raise CapacityError(f"capacity: query {expr} returned no data for the window")
        hosts.update(k.split(" ")[0] for k in per_instance)
        if per_instance:
            utilisation[name] = {
                "target": _model.TARGETS[name],
                "instances": {i: vars(st) for i, st in sorted(per_instance.items())},
            }
            busiest[name] = max(st.p95 for st in per_instance.values())
    return utilisation, busiest, hosts


def _capacity(
    prom: Prometheus,
    args: argparse.Namespace,
    *,
    summary: Any,
    rps: Series,
    instances: int,
    span: tuple[float, float, float],
) -> _model.Capacity:
    """From the load-test summary's breaking point, failing that from the window's history."""
    start, end, step = span
    job = f'job="{args.job}"'
    capacity = None if summary is None else _model.capacity_from_summary(summary, 1, args.workers)
    if capacity is None:
        p95_expr = (
            f'max(job:http_request_duration_seconds:histogram_quantile_rate5m{{{job},quantile="0.95"}})'
        )
        err_expr = f"max(job:http_request_errors:ratio_rate5m{{{job}}})"
        p95 = _one(prom.require_range(p95_expr, start, end, step))
        errors = _one(prom.require_range(err_expr, start, end, step))
        thresholds = load_thresholds()
        capacity = _model.capacity_from_history(
            dict(rps.points),
            dict(p95.points),
            dict(errors.points),
            latency_limit=thresholds.number("service", "latency_p95_seconds"),
            error_limit=thresholds.ratio("service", "error_ratio"),
            instances=instances,
            workers=args.workers,
        )
        if capacity is None:
            raise CapacityError("capacity: no time in the window met the latency and error SLOs")
    return capacity


def build_report(args: argparse.Namespace) -> dict[str, Any]:
    """Query Prometheus and compute the whole report (raises `CapacityError` on bad input)."""
    try:
        window = duration_seconds(args.window)
    except ValueError as exc:
        raise CapacityError(f"capacity: --window: {exc}") from None
    if window <= 0 or args.workers < 1 or (args.instances is not None and args.instances < 1):
        raise CapacityError("capacity: --window, --workers and --instances must be positive")
    summary = None if args.summary is None else _read_summary(args.summary)
    end = _end(args.end)
    start = end - window
    step = max(15.0, math.ceil(window / 2000))
    prom = Prometheus(args.prometheus)

    utilisation, busiest, hosts = _utilisation(prom, window, end)
    instances = args.instances or len(hosts)

    job = f'job="{args.job}"'
    rps_expr = f"sum(job:http_requests:rate5m{{{job}}})"
    rps = _one(prom.require_range(rps_expr, start, end, step))
    # every sample by Prometheus; the range query's steps only if the subquery found nothing
    rps_stats = window_stats(prom, rps_expr, window, end).get("") or _model.utilisation(rps.values)
    trend = _model.best_fit(rps.times, rps.values) if len(rps.points) > 1 else None
    now_rps = rps.values[-1]
    forecast = trend.at(end + window) if trend else now_rps

    capacity = _capacity(prom, args, summary=summary, rps=rps, instances=instances, span=(start, end, step))
    total = capacity.per_instance * instances
    level = _model.TARGET_UTILISATION * total
    reaches = trend.reaches(level, end) if trend else (end if now_rps >= level else None)
    rec = _model.recommend(
        peak_rps=rps_stats.peak,
        forecast_rps=forecast,
        capacity=capacity,
        instances=instances,
        workers=args.workers * instances,
        resources=busiest,
    )

    quota = None
    used = prom.query_range(QUOTA_USED, start, end, step)
    if used:
        limits = prom.query(QUOTA_LIMIT, end)
        if not limits:
            raise CapacityError(f"capacity: query {QUOTA_LIMIT} returned no data for the window")
        q = _model.quota(_one(used).times, _one(used).values, limits[0][1], end)
        quota = vars(q) | {"runs_out": _iso(q.runs_out)}

    return {
        "window": {"start": _iso(start), "end": _iso(end), "step_seconds": step},
        "instances": instances,
        "workers_per_instance": args.workers,
        "utilisation": utilisation,
        "requests": {
            "now_rps": now_rps,
            **{f"{k}_rps": v for k, v in vars(rps_stats).items()},
            "trend": None if trend is None else {"kind": trend.kind, "growth_per_day": trend.growth_per_day},
            "forecast_rps": forecast,
        },
        "capacity": vars(capacity)
        | {
            "total_rps": total,
            "level_rps": level,
            "headroom_rps": level - now_rps,
            "reaches_level": _iso(reaches),
        },
        "recommendation": vars(rec),
        "quota": quota,
    }


def _write(directory: Path, name: str, text: str) -> Path:
    if not directory.is_dir():
        raise CapacityError(f"capacity: --out {directory}: not a directory")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / name


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 on success, 2 with one line on stderr on bad input."""
    args = _parser().parse_args(argv)
    try:
        text = render(build_report(args), args.format)
        if args.out is None:
            sys.stdout.write(text)
        else:
            suffix = {"json": "json", "markdown": "md", "table": "txt"}[args.format]
            _write(args.out, f"capacity.{suffix}", text)
    except CapacityError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
