"""The server-side gate: what Prometheus saw of the service during a load test, against gates and a baseline.

After a run, ask Prometheus about its window ``[start, end]`` (one instant query per value at ``end``,
over a range of ``end - start``): the service's p95 from ``http_request_duration_seconds_bucket``
(``histogram_quantile`` over ``increase()``), its 5xx ratio from ``http_requests_total``, the host's
CPU (the average of ``instance:node_cpu_utilisation:rate5m``) and its workers' CPU from
``process_worker_cpu_seconds`` (cores, and CPU seconds per request). Then compare the latency
percentile and ``error_rate`` thresholds (the same texts as the load generator's, in ms and ratios)
and, with a baseline JSON, fail when p95, the 5xx ratio or the CPU per request grew by more than the
margin (default +10 %). Other thresholds (``rps``, ``min``, per-name ones) are the load generator's
and are listed as skipped. Missing data is an error, never a pass: the window must hold two scrapes
of the service (30 s or more at the committed 15 s scrape interval).

Use it from the plugin (``--prometheus-url``) or on its own::

    python -m loadtests.server_gate --prometheus http://127.0.0.1:9090 \\
        --start 2024-05-01T12:00:00Z --end 2024-05-01T12:05:00Z --baseline base.json [--write-baseline]

Exit status 0 pass, 1 a threshold failed or a value regressed, 2 an error (bad input, Prometheus
unreachable, missing data), each error as one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from loadtests.gates import EXIT_ERROR, EXIT_OK, EXIT_THRESHOLDS
from loadtests.thresholds import Threshold, ThresholdError, defaults, parse_list

PROG = "loadtests.server_gate"
JOB = "youtube2sheets"
BASELINE_VERSION = 1
# Compared with the baseline; node CPU and worker cores are reported only: they grow with the load
# offered, which a faster run rightly raises. CPU seconds per request is the cost that should not grow.
COMPARED = ("p95_seconds", "error_ratio", "worker_cpu_seconds_per_request")
# A rise that small is noise, whatever the margin: 1 error in 10,000 requests over a baseline of none.
FLOOR = {"error_ratio": 1e-4}
LABELS = {
    "requests": "requests the service counted",
    "error_ratio": "the service's 5xx ratio",
    "node_cpu_utilisation": "host CPU utilisation",
    "worker_cpu_cores": "the service workers' CPU in cores",
    "worker_cpu_seconds_per_request": "the service workers' CPU seconds per request",
    "avg_seconds": "the service's mean latency in seconds",
}
PERCENTILES = ("p50", "p75", "p90", "p95", "p99", "p99.9")

Sample = tuple[dict[str, str], float]
QueryFn = Callable[[str, float], list[Sample]]  # (PromQL, evaluation time) -> the instant vector


class ServerGateError(Exception):
    """The gate could not decide (bad input, Prometheus unreachable, missing data): one line, exit 2."""


def label(key: str) -> str:
    """What a value key means, for humans: ``p95_seconds`` -> ``the service's p95 latency in seconds``."""
    if key in LABELS:
        return LABELS[key]
    return f"the service's {key.removesuffix('_seconds')} latency in seconds"


def parse_time(text: str, flag: str = "time") -> float:
    """Unix seconds of an ISO 8601 time (no zone = UTC) or of a number of seconds since the epoch.

    Example:
        >>> parse_time("2024-05-01T12:00:00Z"), parse_time("1714564800.5")
        (1714564800.0, 1714564800.5)
    """
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ServerGateError(
            f"{flag} {text!r}: expected an ISO 8601 time such as 2024-05-01T12:00:00Z, or unix seconds"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def iso(t: float) -> str:
    """ISO 8601 UTC with milliseconds, as summary.json writes times: ``2024-05-01T12:00:00.000Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def http_query(url: str, timeout: float = 10.0) -> QueryFn:
    """A `QueryFn` on Prometheus's HTTP API (``/api/v1/query``) at ``url``."""
    base = url.rstrip("/")

    def query(expr: str, at: float) -> list[Sample]:
        params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
        try:
            with urllib.request.urlopen(f"{base}/api/v1/query?{params}", timeout=timeout) as resp:  # noqa: S310
                body = json.load(resp)
        except urllib.error.HTTPError as err:  # 400/422: a bad query; the body says why
            detail = err.read().decode(errors="replace")
            try:
                detail = json.loads(detail)["error"]
            except (ValueError, KeyError, TypeError):
                detail = detail.strip()[:200]
            raise ServerGateError(f"Prometheus at {base} answered {err.code} to {expr!r}: {detail}") from None
        except (OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise ServerGateError(f"cannot query Prometheus at {base}: {reason}") from None
        data = body.get("data") if isinstance(body, dict) else None
        try:
            if not isinstance(data, dict) or data.get("resultType") != "vector":
                raise TypeError
            return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]
        except (TypeError, KeyError, IndexError, ValueError):
            raise ServerGateError(
                f"Prometheus at {base}: expected a vector for {expr!r}, got {body!r:.200}"
            ) from None

    return query


def promql(job: str, seconds: float) -> dict[str, str]:
    """The queries, by value key (a percentile's is ``histogram_quantile``; add one per ``pNN_seconds``).

    Example:
        >>> promql("api", 30)["worker_cpu_cores"]
        'sum(rate(process_worker_cpu_seconds{job="api"}[30s]))'
        >>> promql("api", 2.5)["requests"]
        'sum(increase(http_requests_total{job="api"}[2500ms]))'
    """
    ms = max(1, round(seconds * 1000))
    sel, r = f'{{job="{job}"}}', f"[{ms // 1000}s]" if ms % 1000 == 0 else f"[{ms}ms]"
    five = f'{{job="{job}",status=~"5.."}}'
    requests = f"sum(increase(http_requests_total{sel}{r}))"
    found = {
        f"{p}_seconds": f"histogram_quantile({float(p[1:]) / 100:g}, "
        f"sum by (le) (increase(http_request_duration_seconds_bucket{sel}{r})))"
        for p in PERCENTILES
    }
    return found | {
        "avg_seconds": f"sum(increase(http_request_duration_seconds_sum{sel}{r}))"
        f" / sum(increase(http_request_duration_seconds_count{sel}{r}))",
        "requests": requests,
        "error_ratio": f"(sum(increase(http_requests_total{five}{r})) or vector(0)) / {requests}",
        "node_cpu_utilisation": f"avg(avg_over_time(instance:node_cpu_utilisation:rate5m{r}))",
        "worker_cpu_cores": f"sum(rate(process_worker_cpu_seconds{sel}{r}))",
    }


def _hint(key: str, job: str) -> str:
    if key == "node_cpu_utilisation":
        return "is the exporter scraped and host.rules.yml loaded (the rule needs two exporter scrapes)?"
    if key == "worker_cpu_cores":
        return f"does job {job!r} run with instrumentation on (process_worker_cpu_seconds)?"
    return f"is job {job!r} scraped, with two scrapes inside the window and requests between them?"


def measure(
    query: QueryFn, start: float, end: float, job: str = JOB, percentiles: Sequence[str] = ("p95",)
) -> dict[str, float]:
    """The server's values over ``[start, end]``; `ServerGateError` names the first that has no data.

    Args:
        query: how to ask Prometheus (`http_query`, or a fake in tests).
        start, end: the run's window, unix seconds.
        job: the service's scrape job.
        percentiles: latency percentiles to measure besides p95 (``"p99"``, ``"p99.9"``); ``"avg"`` too.

    Returns:
        ``requests``, ``error_ratio``, ``pNN_seconds`` (and ``avg_seconds``), ``node_cpu_utilisation``
        (0..1), ``worker_cpu_cores`` (CPU seconds per second, all workers) and
        ``worker_cpu_seconds_per_request``.
    """
    if not end > start:
        raise ServerGateError(f"the window ends ({iso(end)}) before it starts ({iso(start)})")
    exprs = promql(job, end - start)
    wanted = [f"{p}_seconds" for p in dict.fromkeys(("p95", *percentiles))]
    values: dict[str, float] = {}
    for key in ("requests", "error_ratio", *wanted, "node_cpu_utilisation", "worker_cpu_cores"):
        result = query(exprs[key], end)
        value = result[0][1] if len(result) == 1 else math.nan
        if not math.isfinite(value) or (key == "requests" and value <= 0):
            raise ServerGateError(
                f"no data for {label(key)} over {iso(start)}..{iso(end)} ({exprs[key]}): {_hint(key, job)}"
            )
        values[key] = value
    values["worker_cpu_seconds_per_request"] = values["worker_cpu_cores"] * (end - start) / values["requests"]
    return values


def _value_for(threshold: Threshold) -> str | None:
    """The value key a threshold reads server-side, or None when it is the load generator's alone."""
    if threshold.name is not None:
        return None
    if threshold.metric in PERCENTILES or threshold.metric == "avg":
        return f"{threshold.metric}_seconds"
    return "error_ratio" if threshold.metric == "error_rate" else None


def check_thresholds(
    values: dict[str, float], thresholds: Sequence[Threshold]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each applicable threshold as ``{threshold, scope, value, limit, passed}`` (latencies in ms, as
    the load generator's), and the texts of those skipped (``rps``, ``min``, per-name ones).

    Example:
        >>> from loadtests.thresholds import parse_list
        >>> checked, skipped = check_thresholds(
        ...     {"p95_seconds": 0.25, "error_ratio": 0.0}, parse_list("p95<200, error_rate<0.001, rps>1000")
        ... )
        >>> [(c["threshold"], c["value"], c["passed"]) for c in checked], skipped
        ([('p95<200', 250.0, False), ('error_rate<0.001', 0.0, True)], ['rps>1000'])
    """
    checked, skipped = [], []
    for t in thresholds:
        key = _value_for(t)
        if key is None:
            skipped.append(t.text)
            continue
        value = values[key] * 1000 if key.endswith("_seconds") else values[key]
        checked.append(
            {
                "threshold": t.text,
                "scope": "server",
                "value": value,
                "limit": t.limit,
                "passed": t.passes(value),
            }
        )
    return checked, skipped


def compare(
    values: dict[str, float], baseline: dict[str, float], margin: float = 0.10
) -> list[dict[str, Any]]:
    """Each of `COMPARED` against the baseline: failed when above ``baseline * (1 + margin)`` (+ `FLOOR`).

    Example:
        >>> base = {"p95_seconds": 0.010, "error_ratio": 0.0, "worker_cpu_seconds_per_request": 0.001}
        >>> now = {"p95_seconds": 0.012, "error_ratio": 0.0, "worker_cpu_seconds_per_request": 0.00105}
        >>> [(c["metric"], c["passed"]) for c in compare(now, base)]
        [('p95_seconds', False), ('error_ratio', True), ('worker_cpu_seconds_per_request', True)]
    """
    found = []
    for key in COMPARED:
        value, base = values[key], baseline[key]
        limit = base * (1 + margin) + FLOOR.get(key, 0.0)
        change = value / base - 1 if base > 0 else None
        found.append(
            {
                "metric": key,
                "value": value,
                "baseline": base,
                "limit": limit,
                "change": change,
                "passed": value <= limit,
            }
        )
    return found


def load_baseline(path: Path) -> dict[str, float]:
    """The values of a baseline file written by `write_baseline`; `ServerGateError` on anything else."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ServerGateError(f"baseline {path}: no such file (write one with --write-baseline)") from None
    except (OSError, ValueError) as err:
        raise ServerGateError(f"baseline {path}: not readable JSON: {err}") from None
    values = doc.get("values") if isinstance(doc, dict) else None
    if not isinstance(values, dict):
        raise ServerGateError(
            f"baseline {path}: expected an object with 'values', as --write-baseline writes"
        )
    for key in COMPARED:
        v = values.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
            raise ServerGateError(f"baseline {path}: values.{key}: expected a number >= 0, got {v!r}")
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}


def write_baseline(path: Path, values: dict[str, float], start: float, end: float, job: str = JOB) -> None:
    """Write ``values`` as a baseline JSON (sorted, 2-space indent), whole or not at all."""
    doc = {"version": BASELINE_VERSION, "job": job, "start": iso(start), "end": iso(end), "values": values}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise ServerGateError(f"baseline {path}: cannot write it: {err.strerror or err}") from None


def evaluate(
    prometheus: str,
    start: float,
    end: float,
    *,
    thresholds: Sequence[Threshold] | None = None,
    baseline: Path | None = None,
    margin: float = 0.10,
    write: bool = False,
    job: str = JOB,
    query: QueryFn | None = None,
) -> dict[str, Any]:
    """Measure the window, check the thresholds and the baseline: the ``server_gate`` of summary.json.

    Args:
        prometheus: Prometheus's base URL.
        start, end: the run's window, unix seconds.
        thresholds: the run's thresholds (default `loadtests.thresholds.defaults()`).
        baseline: a baseline JSON to compare with, or (``write``) to write when the thresholds pass.
        margin: how much worse than the baseline still passes (0.10: +10 %).
        job: the service's scrape job.
        query: instead of Prometheus's HTTP API (tests).

    Returns:
        ``{prometheus, job, start, end, values, thresholds, skipped, baseline, verdict, exit_code}``;
        ``baseline`` is None or ``{path, margin, mode ("compare" | "write"), written, comparisons}``.
        Raises `ServerGateError`.
    """
    if margin < 0 or not math.isfinite(margin):
        raise ServerGateError(f"regression margin {margin!r}: expected a ratio >= 0, e.g. 0.10 for +10 %")
    if write and baseline is None:
        raise ServerGateError("writing a baseline needs its path (--baseline FILE)")
    thresholds = defaults() if thresholds is None else thresholds
    base = load_baseline(baseline) if baseline is not None and not write else None
    extra = [t.metric for t in thresholds if _value_for(t) is not None and t.metric != "error_rate"]
    values = measure(query or http_query(prometheus), start, end, job, extra)
    checked, skipped = check_thresholds(values, thresholds)
    passed = all(c["passed"] for c in checked)
    gate: dict[str, Any] | None = None
    if baseline is not None:
        comparisons = compare(values, base, margin) if base is not None else []
        passed = passed and all(c["passed"] for c in comparisons)
        if write and passed:
            write_baseline(baseline, values, start, end, job)
        gate = {
            "path": str(baseline),
            "margin": margin,
            "mode": "write" if write else "compare",
            "written": write and passed,
            "comparisons": comparisons,
        }
    return {
        "prometheus": prometheus,
        "job": job,
        "start": iso(start),
        "end": iso(end),
        "values": values,
        "thresholds": checked,
        "skipped": skipped,
        "baseline": gate,
        "verdict": "pass" if passed else "fail",
        "exit_code": EXIT_OK if passed else EXIT_THRESHOLDS,
    }


def report(result: dict[str, Any]) -> list[str]:
    """The result as lines: the values, then PASS/FAIL/SKIP per threshold and per baseline value."""
    v = result["values"]
    lines = [
        f"server over {result['start']}..{result['end']}: {v['requests']:.0f} requests, "
        f"p95 {v['p95_seconds'] * 1000:.2f} ms, 5xx ratio {v['error_ratio']:.4%}, host CPU "
        f"{v['node_cpu_utilisation']:.1%}, workers {v['worker_cpu_cores']:.2f} cores "
        f"({v['worker_cpu_seconds_per_request'] * 1e6:.0f} us/request)"
    ]
    for c in result["thresholds"]:
        unit = " ms" if c["threshold"].startswith(("p", "avg")) else ""
        lines.append(
            f"{'PASS' if c['passed'] else 'FAIL'}: server {c['threshold']} (measured {c['value']:.6g}{unit})"
        )
    lines += [f"SKIP: {text} (the load generator's alone)" for text in result["skipped"]]
    gate = result["baseline"]
    for c in gate["comparisons"] if gate else []:
        change = "" if c["change"] is None else f"{c['change']:+.1%}; "
        verdict = "PASS" if c["passed"] else "FAIL"
        lines.append(
            f"{verdict}: {c['metric']} {c['value']:.6g} against the baseline {c['baseline']:.6g} "
            f"({change}limit {c['limit']:.6g} at margin +{gate['margin']:.0%}): {label(c['metric'])}"
        )
    if gate and gate["mode"] == "write":
        done = "written to" if gate["written"] else "not written to"
        lines.append(
            f"baseline {done} {gate['path']}" + ("" if gate["written"] else ": the thresholds failed")
        )
    return lines


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ServerGateError(message)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m loadtests.server_gate``: 0 pass, 1 failed, 2 error (one line on stderr)."""
    p = _Parser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--prometheus", required=True, metavar="URL", help="Prometheus's base URL")
    p.add_argument("--start", required=True, metavar="ISO", help="the run's start (ISO 8601 or unix seconds)")
    p.add_argument("--end", required=True, metavar="ISO", help="the run's end (ISO 8601 or unix seconds)")
    p.add_argument("--baseline", type=Path, metavar="FILE", help="baseline JSON to compare with (or write)")
    p.add_argument("--write-baseline", action="store_true", help="write --baseline from this window instead")
    p.add_argument(
        "--regression-margin", type=float, default=0.10, metavar="RATIO", help="default 0.10: +10 %%"
    )
    p.add_argument(
        "--thresholds", metavar="LIST", help="e.g. 'p95<2000,error_rate<0.001' (default: the SLOs)"
    )
    p.add_argument("--job", default=JOB, help=f"the service's scrape job (default {JOB})")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of lines")
    try:
        args = p.parse_args(argv)
        thresholds = parse_list(args.thresholds) if args.thresholds is not None else None
        start, end = parse_time(args.start, "--start"), parse_time(args.end, "--end")
        result = evaluate(
            args.prometheus,
            start,
            end,
            thresholds=thresholds,
            baseline=args.baseline,
            margin=args.regression_margin,
            write=args.write_baseline,
            job=args.job,
        )
    except (ServerGateError, ThresholdError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else "\n".join(report(result)))
    return int(result["exit_code"])


if __name__ == "__main__":
    sys.exit(main())
