"""``python -m stack selftest``: prove a running stack (native or compose) works end to end.

Checks, after a little traffic to the service: every scrape target up (the load generator only
while a load test runs), every committed rule loaded with no evaluation errors, Alertmanager
ready, the ``Watchdog`` delivered to the webhook receiver, and every dashboard query returning data
(the load-test dashboard only while a load test runs). Prints a table; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

import dashboards
from alerting import load_thresholds
from dashboards._queries import panel_queries

from ._parts import PORTS, ROOT, WEBHOOK_PORT
from ._traffic import Traffic

OPTIONAL_JOBS = {"loadgen"}  # up only while a load test runs


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False


def _get(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


def _api(prometheus: str, path: str, **params: str) -> Any:
    data = urllib.parse.urlencode(params).encode() if params else None
    req = urllib.request.Request(f"{prometheus}/api/v1/{path}", data=data)
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError(body.get("error", "query failed"))
    return body["data"]


def wait(check: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while True:
        try:
            if check():
                return True
        except (OSError, urllib.error.URLError, RuntimeError, KeyError, ValueError):
            pass
        if time.monotonic() > end:
            return False
        time.sleep(1)


def check_targets(prometheus: str) -> tuple[Check, set[str]]:
    active = _api(prometheus, "targets")["activeTargets"]
    down = sorted({t["labels"]["job"] for t in active if t["health"] != "up"})
    up = {t["labels"]["job"] for t in active if t["health"] == "up"}
    bad = [job for job in down if job not in OPTIONAL_JOBS]
    note = f"{len(active)} targets; down: {', '.join(down) or 'none'}"
    if "loadgen" in down:
        note += " (loadgen is up only during a load test)"
    return Check("scrape targets up", not bad and bool(active), note), up


def check_rules(prometheus: str) -> Check:
    groups = _api(prometheus, "rules")["groups"]
    loaded = sum(len(g["rules"]) for g in groups)
    committed = sum(
        len(g["rules"])
        for path in sorted((ROOT / "alerting" / "rules").glob("*.rules.yml"))
        for g in yaml.safe_load(path.read_text())["groups"]
    )
    bad = [
        r["name"]
        for g in groups
        for r in g["rules"]
        if r.get("health") not in ("ok", "unknown") or r.get("lastError")
    ]
    failures = _api(prometheus, "query", query="sum(prometheus_rule_evaluation_failures_total)")["result"]
    failed = float(failures[0]["value"][1]) if failures else 0.0
    ok = loaded == committed and not bad and failed == 0
    detail = f"{loaded}/{committed} rules; evaluation failures: {failed:g}"
    if bad:
        detail += f"; unhealthy: {', '.join(bad[:5])}"
    return Check("rules loaded, no errors", ok, detail)


def check_alertmanager(alertmanager: str) -> Check:
    status = _get(f"{alertmanager}/api/v2/status")
    version = status.get("versionInfo", {}).get("version", "?")
    ready = status.get("cluster", {}).get("status") in ("ready", "disabled")
    return Check("alertmanager ready", ready, f"version {version}")


def check_watchdog(webhook: str, timeout: float) -> Check:
    def delivered() -> bool:
        return bool(_get(f"{webhook}/notifications?alertname=Watchdog&status=firing")["notifications"])

    began = time.monotonic()
    ok = wait(delivered, timeout)
    detail = f"delivered (waited {time.monotonic() - began:.0f}s)" if ok else f"nothing after {timeout:.0f}s"
    return Check("Watchdog delivered to the webhook", ok, detail)


# The capacity figures that exist only once the service has met its SLOs at some time in the window
# (capacity is the highest request rate seen within them): a stack under a fault since its start has
# none yet, and says so.
WITHIN_SLO = ("job:http_requests_per_instance_within_slo", "job:http_requests_capacity")
DERIVED = (*WITHIN_SLO, "job:http_requests_headroom", "job:http_requests_target_utilisation_reached")


def check_dashboards(prometheus: str, up_jobs: set[str]) -> list[Check]:
    out = []
    window = load_thresholds().duration("capacity", "window")
    capacity = f"{WITHIN_SLO[1]}:max_over_time{window}"
    within_slo_jobs = {r["metric"]["job"] for r in _api(prometheus, "query", query=capacity)["result"]}
    for name, data in dashboards.dashboards().items():
        if name == "loadtest" and "loadgen" not in up_jobs:
            out.append(Check(f"dashboard {name}", True, "skipped: no load test running", skipped=True))
            continue
        empty: list[str] = []
        excused: list[str] = []
        queries = panel_queries(name, data)
        for q in queries:
            try:
                result = _api(prometheus, "query", query=q.expr)["result"]
            except (RuntimeError, urllib.error.URLError) as exc:
                empty.append(f"{q.panel}/{q.ref_id} ({exc})")
                continue
            if not result:
                job = re.search(r'job="([^"]*)"', q.expr)
                waiting = any(series in q.expr for series in DERIVED) and (
                    job is None or job[1] not in within_slo_jobs
                )
                (excused if waiting else empty).append(f"{q.panel}/{q.ref_id}")
        panels = {q.panel for q in queries}
        blank = {e.split("/")[0] for e in (*empty, *excused)}
        detail = f"{len(panels) - len(blank)}/{len(panels)} panels with data"
        if empty:
            detail += "; empty: " + ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
        if excused:
            detail += f"; {len(excused)} capacity queries wait for a time within the SLOs"
        out.append(Check(f"dashboard {name}", not empty, detail))
    return out


def _rfc3339(text: str) -> float:
    """Unix time of Prometheus's RFC 3339 timestamps (nanoseconds allowed)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    if match is None:
        return 0.0
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + zone).timestamp() + float(match[2] or 0)


# The capacity trends (predict_linear, deriv) fit recorded series: they need two samples of them.
TRENDS_READY = (
    'count_over_time({__name__=~"job:http_requests:rate5m|job_api:api_quota_units_used:rate1h"}[5m])'
)


def trends_ready(prometheus: str) -> bool:
    """Whether the recorded request and quota rates have two samples each (`TRENDS_READY`)."""
    found = _api(prometheus, "query", query=TRENDS_READY)["result"]
    return bool(found) and all(float(s["value"][1]) >= 2 for s in found)


def settle(prometheus: str, since: float, timeout: float) -> bool:
    """Wait until every target that is up was scraped twice after ``since``, every rule group evaluated
    after that (rates over the traffic exist, and so do the recorded series), the recorded request and
    quota rates have two samples each (`TRENDS_READY`), and every group evaluated once more."""

    def scraped_twice() -> bool:
        active = _api(prometheus, "targets")["activeTargets"]
        required = [t for t in active if t["labels"]["job"] not in OPTIONAL_JOBS]
        if not required or any(t["health"] != "up" for t in required):
            return False
        # the second scrape after `since` starts at least one interval after the first
        interval = max(float(t["scrapeInterval"].rstrip("s")) for t in required)
        return all(_rfc3339(t["lastScrape"]) > since + interval for t in required)

    def evaluated_after(mark: float) -> Callable[[], bool]:
        return lambda: all(_rfc3339(g["lastEvaluation"]) > mark for g in _api(prometheus, "rules")["groups"])

    if not wait(scraped_twice, timeout) or not wait(evaluated_after(time.time()), 60):
        return False
    if not wait(lambda: trends_ready(prometheus), 60):
        return False
    return wait(evaluated_after(time.time()), 60)


def run(
    *, prometheus: str, alertmanager: str, webhook: str, service: str, simulator: str, timeout: float
) -> list[Check]:
    """Every check, after a little traffic, two scrapes and a rule evaluation."""
    checks: list[Check] = []
    since = time.time()
    try:
        Traffic(service, simulator).once()
        checks.append(Check("traffic to the service", True, "a sync, rows, CSV, videos, a 404"))
    except (OSError, urllib.error.URLError, RuntimeError, KeyError, ValueError) as exc:
        checks.append(Check("traffic to the service", False, str(exc)))
    try:
        settled = settle(prometheus, since, timeout)
        targets, up = check_targets(prometheus)
        if not settled:
            targets.ok = False
            targets.detail += f"; not every target scraped twice within {timeout:.0f}s"
        checks += [
            targets,
            check_rules(prometheus),
            check_alertmanager(alertmanager),
            check_watchdog(webhook, timeout),
        ]
        checks += check_dashboards(prometheus, up)
    except (OSError, urllib.error.URLError, RuntimeError) as exc:
        checks.append(Check("prometheus and alertmanager reachable", False, str(exc)))
    return checks


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
    for c in checks:
        result = "skip" if c.skipped else ("ok" if c.ok else "FAIL")
        lines.append(f"{c.name:<{width}}  {result:<6}  {c.detail}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack selftest", description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default=f"http://127.0.0.1:{PORTS['prometheus']}")
    parser.add_argument("--alertmanager", default=f"http://127.0.0.1:{PORTS['alertmanager']}")
    parser.add_argument("--webhook", default=f"http://127.0.0.1:{WEBHOOK_PORT}")
    parser.add_argument("--service", default=f"http://127.0.0.1:{PORTS['youtube2sheets']}")
    parser.add_argument("--simulator", default=f"http://127.0.0.1:{PORTS['simulator']}")
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="longest wait for the targets and the Watchdog (default 60 s)",
    )
    args = parser.parse_args(argv)
    checks = run(
        prometheus=args.prometheus,
        alertmanager=args.alertmanager,
        webhook=args.webhook,
        service=args.service,
        simulator=args.simulator,
        timeout=args.timeout,
    )
    print(table(checks))
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)}/{len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
