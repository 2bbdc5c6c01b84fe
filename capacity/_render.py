"""The capacity report as a terminal table, JSON or Markdown (pure: a report dict in, text out)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def _trend(trend: dict[str, Any] | None) -> str:
    if trend is None:
        return "none (one sample)"
    if trend["kind"] == "linear":
        return f"linear, {trend['growth_per_day']:+.6g} req/s a day"
    return f"exponential, {trend['growth_per_day']:+.2%} a day"


def _when(at: str | None, end: str) -> str:
    if at is None:
        return "never on this trend"
    return "already (at the end of the window)" if at == end else at


def _rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    req, cap, rec, quota = report["requests"], report["capacity"], report["recommendation"], report["quota"]
    end = report["window"]["end"]
    rows = []
    for name, block in report["utilisation"].items():
        for instance, st in block["instances"].items():
            rows.append(
                (
                    f"{name} {instance}",
                    f"mean {st['mean']:.1%}  p95 {st['p95']:.1%}  peak {st['peak']:.1%}"
                    f"  (target {block['target']:.0%})",
                )
            )
    share = f"{cap['target_utilisation']:.0%}"
    rows += [
        ("requests", f"now {req['now_rps']:.6g}  p95 {req['p95_rps']:.6g}  peak {req['peak_rps']:.6g} req/s"),
        ("trend", _trend(req["trend"])),
        ("forecast", f"{req['forecast_rps']:.6g} req/s one window ahead"),
        ("capacity", f"{cap['per_instance']:.6g}/instance, {cap['per_worker']:.6g}/worker ({cap['source']})"),
        (
            "headroom",
            f"{cap['headroom_rps']:.6g} req/s to {share} of {cap['total_rps']:.6g} "
            f"({report['instances']} instances x {report['workers_per_instance']} workers"
            f"{', ' + report['workers_source'] if report['workers_source'].startswith('assumed') else ''})",
        ),
        (f"reaches {share}", _when(cap["reaches_level"], end)),
    ]
    if req["trend"] is not None and req["trend"]["kind"] != "linear" and req["linear"] is not None:
        linear = req["linear"]
        rows.append(
            (
                "linear trend",
                f"{linear['forecast_rps']:.6g} req/s one window ahead, reaches {share} "
                f"{_when(linear['reaches_level'], end)} (the dashboard's predict_linear)",
            )
        )
    eff = report["efficiency"]
    if eff is not None:
        points = ", ".join(f"{w} workers {r:.6g}" for w, r in eff["per_worker_rps"].items())
        verdict = "falls" if eff["falls"] else "holds"
        rows.append(("efficiency", f"per-worker req/s: {points}; {verdict} ({-eff['drop']:+.0%})"))
    rows.append(("recommendation", f"{rec['action']}: {rec['reason']}"))
    if quota is None:
        rows.append(("quota", "not recorded in the window"))
    else:
        rows.append(
            (
                "quota",
                f"{quota['units_per_day']:.6g} of {quota['limit']:.6g} units/day ({quota['used_ratio']:.0%})"
                f"; runs out {_when(quota['runs_out'], end)}",
            )
        )
    return rows


def render(report: dict[str, Any], fmt: str, charts: Sequence[str] | None = None) -> str:
    """The report as ``json``, a ``markdown`` document (with ``charts``, PNG file names beside it) or a
    terminal ``table``."""
    if fmt == "json":
        return json.dumps(report, indent=2, sort_keys=True) + "\n"
    rows = _rows(report)
    if fmt == "markdown":
        lines = [
            f"# Capacity report for {report['job']}",
            "",
            f"Window {report['window']['start']} to {report['window']['end']}.",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v.replace('|', '/')} |" for k, v in rows]
        for name in charts or ():
            title = name.removesuffix(".png").replace("-", " ")
            lines += ["", f"![{title}]({name})"]
        return "\n".join(lines) + "\n"
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k.ljust(width)}  {v}\n" for k, v in rows)
