"""What a finished run leaves behind: ``summary.json`` and ``chart.png`` (next to Locust's HTML and CSV).

``summary.json`` holds the whole run (``total``, ``succeeded``, ``failed``, latency ``mean``/``min``/
``max``/``p50``/``p95``/``p99`` in ms from the exact samples, ``rps``, ``error_rate``, ``start`` and
``end`` in ISO 8601 UTC), every threshold with its measured value and verdict (``scope`` ``run``, and
``window``: the worst window and how many failed), the window counts, the breaking point a shape found,
the server-side gate, the verdict and exit code, the same statistics ``per_name``, and each window
(``per_window``: its range, users, verdict and every threshold's value). A value that
does not exist (latency of a run without requests) is ``null``. ``chart.png`` plots req/s, users and
p50/p95/p99 per window over the run.

Both files are written whole or not at all (a temporary file, then a rename).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .gates import EXIT_OK, Result
from .runtime import Run
from .samples import Stats

__all__ = ["CHART", "SUMMARY", "chart", "iso", "summary", "write_chart", "write_summary"]

SUMMARY = "summary.json"
CHART = "chart.png"
MIN_WINDOWS = 5  # fewer windows than this: the chart uses one-second bins


def iso(t: float) -> str:
    """ISO 8601 UTC with milliseconds.

    Example:
        >>> iso(1714564800.25)
        '2024-05-01T12:00:00.250Z'
    """
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _stats(stats: Stats) -> dict[str, Any]:
    return {
        "total": stats.requests,
        "succeeded": stats.requests - stats.failures,
        "failed": stats.failures,
        "mean": _number(stats.avg),
        "min": _number(stats.min),
        "max": _number(stats.max),
        "p50": _number(stats.p50),
        "p95": _number(stats.p95),
        "p99": _number(stats.p99),
        "rps": _number(stats.rps),
        "error_rate": _number(stats.error_rate),
    }


def _worst(results: Sequence[Result]) -> float:
    """The value furthest on the failing side of the threshold (NaN, no data, is worst of all)."""
    if any(math.isnan(r.value) for r in results):
        return math.nan
    values = [r.value for r in results]
    return max(values) if results[0].threshold.op in ("<", "<=") else min(values)


def _thresholds(run: Run, results: Sequence[Result]) -> list[dict[str, Any]]:
    rows = [
        {
            "threshold": r.threshold.text,
            "scope": r.scope,
            "value": _number(r.value),
            "limit": r.threshold.limit,
            "passed": r.passed,
        }
        for r in results
    ]
    for index, threshold in enumerate(run.thresholds):
        per_window = [w.results[index] for w in run.windows]
        if not per_window:
            continue
        failed = sum(not r.passed for r in per_window)
        rows.append(
            {
                "threshold": threshold.text,
                "scope": "window",
                "value": _number(_worst(per_window)),  # the worst window
                "limit": threshold.limit,
                "passed": failed == 0,
                "failed_windows": failed,
            }
        )
    return rows


def _breaking_point(run: Run) -> dict[str, Any] | None:
    found = run.breaking_point
    if found is None:
        return None
    return {
        "users": int(found.users),
        "rps": _number(float(found.rps)),
        "window_start": iso(found.window_start),
    }


def summary(
    run: Run, results: Sequence[Result], exit_code: int, server_gate: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``summary.json`` document of a finished run (`Run.finish` gave ``results``)."""
    if run.start is None or run.end is None:
        raise RuntimeError("the run has not finished")
    doc = _stats(run.samples.stats(start=run.start, end=run.end))
    windows = run.windows
    shape = getattr(run.environment, "shape_class", None)
    doc.update(
        start=iso(run.start),
        end=iso(run.end),
        duration_seconds=run.end - run.start,
        host=getattr(run.environment, "host", None),
        shape=None if shape is None else type(shape).__name__,
        thresholds=_thresholds(run, results),
        windows=len(windows),
        window_seconds=run.window_seconds,
        failed_windows=sum(not w.passed for w in windows),
        per_window=[
            {
                "start": iso(w.start),
                "end": iso(w.end),
                "users": w.users,
                "passed": w.passed,
                "values": {r.threshold.text: _number(r.value) for r in w.results},
            }
            for w in windows
        ],
        breaking_point=_breaking_point(run),
        verdict="pass" if exit_code == EXIT_OK else "fail",
        exit_code=exit_code,
        server_gate=server_gate,
        per_name={},
    )
    names: dict[str, list[str]] = {}
    for method, name in run.samples.names():
        names.setdefault(name, []).append(method)
    for name, methods in sorted(names.items()):
        entry = {"methods": sorted(methods)}
        entry.update(_stats(run.samples.stats(name, start=run.start, end=run.end)))
        doc["per_name"][name] = entry
    return doc


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_summary(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` as sorted, indented JSON (strict: no NaN), whole or not at all."""
    _write(path, (json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def _spans(run: Run, end: float) -> tuple[str, list[tuple[float, float]]]:
    """The time ranges the chart plots: the windows, or one-second bins when there are fewer than 5."""
    if len(run.windows) >= MIN_WINDOWS or run.start is None:
        return "windows", [(w.start, w.end) for w in run.windows]
    bins, t = [], run.start
    while t < end:
        bins.append((t, min(t + 1.0, end)))
        t += 1.0
    return "1 s bins", bins


def chart(run: Run) -> bytes:
    """``chart.png``: req/s and users (top), p50/p95/p99 in ms (bottom), per window over the run.

    Runs of fewer than 5 windows are plotted in one-second bins instead. Latency thresholds on all
    requests are dashed lines; failed windows are shaded red.
    """
    from matplotlib.figure import Figure  # noqa: PLC0415  (heavy: only when a run writes its chart)

    if run.start is None or run.end is None:
        raise RuntimeError("the run has not finished")
    start = run.start
    kind, spans = _spans(run, run.end)
    x: list[float] = []
    series: dict[str, list[float]] = {"req/s": [], "p50": [], "p95": [], "p99": []}
    for t0, t1 in spans:
        stats = run.samples.stats(start=t0, end=t1)
        x.append(t1 - start)
        for key, value in (("req/s", stats.rps), ("p50", stats.p50), ("p95", stats.p95), ("p99", stats.p99)):
            series[key].append(value)
    fig = Figure(figsize=(10, 6.5), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(x, series["req/s"], marker="o", color="tab:blue", label="req/s")
    top.set_ylabel("req/s")
    twin = top.twinx()
    users = [(t - start, n) for t, n in run.user_counts]
    twin.step([t for t, _ in users], [n for _, n in users], where="post", color="tab:gray", label="users")
    twin.set_ylabel("users")
    twin.set_ylim(bottom=0)
    count = len(run.windows)
    top.set_title(f"load test {iso(start)}: {count} window{'s' * (count != 1)} of {run.window_seconds:g} s")
    for label in ("p50", "p95", "p99"):
        bottom.plot(x, series[label], marker=".", label=label)
    for threshold in run.thresholds:
        if threshold.name is None and threshold.metric in ("p50", "p95", "p99", "avg", "max"):
            bottom.axhline(threshold.limit, linestyle="--", color="tab:red", linewidth=1)
            where = ("axes fraction", "data")
            bottom.annotate(threshold.text, (1, threshold.limit), xycoords=where, ha="right", va="bottom",
                            fontsize=8, color="tab:red")  # fmt: skip
    for w in run.windows:
        if not w.passed:
            for axes in (top, bottom):
                axes.axvspan(w.start - start, w.end - start, color="tab:red", alpha=0.08)
    bottom.set_ylabel("latency (ms)")
    bottom.set_xlabel(f"seconds since start (end of each of the {kind})")
    bottom.legend(loc="upper left")
    lines = top.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    top.legend(lines, [str(line.get_label()) for line in lines], loc="upper left")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def write_chart(path: Path, run: Run) -> None:
    """Write `chart` to ``path``, whole or not at all."""
    _write(path, chart(run))
