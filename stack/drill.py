"""``python -m stack drill``: a fault drill on a running stack, timed from fault to notification.

With light traffic running, it switches on an upstream failure in the simulator (every YouTube call
answers 503), waits until the service's error-ratio alert (or its SLO fast burn) reaches the
webhook receiver as firing, switches the fault off, and waits until the same alert arrives
resolved. It prints both times next to the bound the stack promises (scrape interval + the rule's
``for:`` + Alertmanager's group_wait + 15 s) and exits 1 if a notification is late or missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import yaml

from alerting import duration_seconds

from ._parts import PORTS, ROOT, WEBHOOK_PORT
from ._traffic import Traffic

ALERTS = ("ServiceHighErrorRatio", "AvailabilitySLOBudgetBurn")


@dataclass(frozen=True)
class Bound:
    scrape: float
    rule_for: float
    group_wait: float

    @property
    def firing(self) -> float:
        return self.scrape + self.rule_for + self.group_wait + 15


def bound() -> Bound:
    """The promise, read from the committed files: scrape interval, the alert's for:, group_wait."""
    prom = yaml.safe_load((ROOT / "alerting" / "prometheus.yml").read_text())
    rules = yaml.safe_load((ROOT / "alerting" / "rules" / "service.rules.yml").read_text())
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == ALERTS[0])
    am = yaml.safe_load((ROOT / "alerting" / "alertmanager" / "alertmanager.yml").read_text())
    return Bound(
        duration_seconds(prom["global"]["scrape_interval"]),
        duration_seconds(rule["for"]),
        duration_seconds(am["route"]["group_wait"]),
    )


def _send(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def first_notification(webhook: str, status: str, after: float, deadline: float) -> dict[str, Any] | None:
    """The first notification of one of ALERTS with ``status`` received after ``after``."""
    while time.monotonic() < deadline:
        for alert in ALERTS:
            try:
                found = _send("GET", f"{webhook}/notifications?alertname={alert}&status={status}")[
                    "notifications"
                ]
            except (OSError, urllib.error.URLError):
                found = []
            late = [n for n in found if n["received_at"] > after]
            if late:
                return {"alert": alert, **late[0]}
        time.sleep(1)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack drill", description=__doc__.splitlines()[0])
    parser.add_argument("--service", default=f"http://127.0.0.1:{PORTS['youtube2sheets']}")
    parser.add_argument("--simulator", default=f"http://127.0.0.1:{PORTS['simulator']}")
    parser.add_argument("--webhook", default=f"http://127.0.0.1:{WEBHOOK_PORT}")
    parser.add_argument(
        "--rate", type=float, default=10.0, help="requests per second of light traffic (default 10)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="longest wait for each notification (s)")
    args = parser.parse_args(argv)
    promise = bound()
    try:
        _send("DELETE", f"{args.simulator}/admin/faults")
        traffic = Traffic(args.service, args.simulator, rate=args.rate, seconds=args.timeout * 2 + 60).start()
    except (OSError, urllib.error.URLError, RuntimeError, KeyError) as exc:
        print(f"error: the stack does not answer: {exc}", file=sys.stderr)
        return 2
    code = 0
    try:
        time.sleep(5)  # the traffic is flowing before the fault
        fault_at, fault_wall = time.monotonic(), time.time()
        _send("POST", f"{args.simulator}/admin/faults", {"kind": "error", "status": 503, "rate": 1.0})
        print(f"fault on: every YouTube API call answers 503 (firing within {promise.firing:.0f}s promised)")
        firing = first_notification(args.webhook, "firing", fault_wall, time.monotonic() + args.timeout)
        if firing is None:
            print(f"FAIL: no firing notification within {args.timeout:.0f}s", file=sys.stderr)
            return 1
        took = firing["received_at"] - fault_wall
        verdict = "ok" if took <= promise.firing else "LATE"
        where = f"{firing['alert']} at the {firing['receiver']} receiver"
        print(f"firing: {where} {took:.1f}s after the fault ({verdict})")
        code = 0 if verdict == "ok" else 1
        off_wall = time.time()
        _send("DELETE", f"{args.simulator}/admin/faults")
        print("fault off")
        resolved = first_notification(args.webhook, "resolved", off_wall, time.monotonic() + args.timeout)
        if resolved is None:
            print(f"FAIL: no resolved notification within {args.timeout:.0f}s", file=sys.stderr)
            return 1
        print(
            f"resolved: {resolved['alert']} {resolved['received_at'] - off_wall:.1f}s after the fault ended"
        )
        statuses = dict(sorted(traffic.statuses.items()))
        print(f"drill took {time.monotonic() - fault_at:.0f}s; traffic statuses: {statuses}")
    finally:
        traffic.stop()
        with contextlib.suppress(OSError, urllib.error.URLError):
            _send("DELETE", f"{args.simulator}/admin/faults")
    return code


if __name__ == "__main__":
    sys.exit(main())
