"""The real Prometheus loads the committed config and rules against the live exporter and service:
no evaluation errors, every recording rule has data, and the Watchdog reaches a webhook through the
real Alertmanager within evaluation interval + group_wait + 5 s."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import stage_alertmanager
from stack.selftest import trends_ready
from tests.alerting.helpers import Webhook, alertmanager_command
from tests.conftest import (
    Process,
    free_port,
    http_get,
    start_exporter,
    start_prometheus,
    wait_for,
    wait_for_url,
)
from tests.youtube2sheets.conftest import BIG, SMALL, running_stack

# Fixed ports (the webhook receiver's 9095, the stack's): scripts/test runs all such tests in one process.
pytestmark = [pytest.mark.integration, pytest.mark.fixed_ports]

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "alerting" / "prometheus.yml").read_text())
EVALUATION = float(CONFIG["global"]["evaluation_interval"].rstrip("s"))
SCRAPE = float(CONFIG["global"]["scrape_interval"].rstrip("s"))
WATCHDOG_ROUTE = next(
    r
    for r in yaml.safe_load((REPO / "alerting/alertmanager/alertmanager.yml").read_text())["route"]["routes"]
    if r.get("matchers") == ['alertname="Watchdog"']
)
GROUP_WAIT = float(WATCHDOG_ROUTE["group_wait"].rstrip("s"))
TOKEN = "live-test-token"


@dataclass
class Live:
    prometheus: str
    service: str
    webhook: Webhook
    started: float  # monotonic time Prometheus had discovered Alertmanager
    logs: Path  # the processes' logs, quoted when a delivery fails


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def traffic(service: str) -> None:
    """A little of everything the service does: syncs, rows, CSV, cached videos (hits and misses), a 404."""
    for channel, sheet in ((SMALL, "small"), (BIG, "big")):
        req = urllib.request.Request(
            f"{service}/api/sync",
            data=json.dumps({"channel_id": channel.id, "sheet": sheet}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
    status, _, body = http_get(f"{service}/api/sheets/small/rows?per_page=5")
    assert status == 200
    ids = [row["video_id"] for row in json.loads(body)["rows"]]
    for _ in range(3):
        for video in ids:
            assert http_get(f"{service}/api/videos/{video}")[0] == 200
    assert http_get(f"{service}/api/sheets/big.csv")[0] == 200
    assert http_get(f"{service}/api/sheets/nope/rows")[0] == 404


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("alerting-live")
    webhook = Webhook()
    started: list[Process] = []
    try:
        exporter, exporter_address = start_exporter(tmp)
        started.append(exporter)
        am_port = free_port()
        am_config = stage_alertmanager(tmp / "alertmanager", TOKEN)
        am = Process(
            alertmanager_command(am_config, am_port, tmp / "am-data"), tmp / "alertmanager.log", cwd=tmp
        )
        started.append(am)
        with running_stack(tmp) as stack:
            wait_for_url(f"http://{exporter_address}/metrics", exporter)
            wait_for_url(f"http://127.0.0.1:{am_port}/-/ready", am)
            traffic(stack.service)
            prometheus, url = start_prometheus(
                tmp,
                {
                    "alertmanager": [f"127.0.0.1:{am_port}"],
                    "exporter": [exporter_address],
                    "youtube2sheets": [stack.service.removeprefix("http://")],
                    "simulator": [stack.simulator.removeprefix("http://")],
                },
            )
            started.append(prometheus)
            # The clock starts once Prometheus has discovered Alertmanager (file_sd updates come every
            # 5 s): an alert evaluated before that is dropped and re-sent at the next evaluation.
            wait_for(
                lambda: bool(api(url, "alertmanagers")["activeAlertmanagers"]),
                timeout=30,
                what="Alertmanager discovered",
            )
            ready = time.monotonic()
            yield Live(url, stack.service, webhook, ready, tmp)
    finally:
        for proc in reversed(started):
            proc.stop()
        webhook.stop()


def test_watchdog_reaches_the_webhook_within_evaluation_interval_plus_group_wait_plus_5s(live: Live) -> None:
    bound = EVALUATION + GROUP_WAIT + 5
    try:
        request = live.webhook.wait_for_alert("Watchdog", timeout=bound + 10)
    except pytest.fail.Exception:
        # What Prometheus knows of Alertmanager and what each said, to tell a slow path from a broken one.
        managers = api(live.prometheus, "alertmanagers")
        sent = api(live.prometheus, "query", query='{__name__=~"prometheus_notifications_.*"}')["result"]
        groups = api(live.prometheus, "rules")["groups"]
        watchdog = [r for g in groups for r in g["rules"] if r["name"] == "Watchdog"]
        logs = {
            name: (live.logs / name).read_text()[-2000:] for name in ("alertmanager.log", "prometheus.log")
        }
        pytest.fail(f"no Watchdog notification: rule={watchdog} alertmanagers={managers} {sent=} {logs=}")
    took = request["received_at"] - live.started
    print(f"Watchdog delivered {took:.1f}s after Prometheus had discovered Alertmanager (bound {bound:.0f}s)")
    assert took <= bound
    assert request["body"]["receiver"] == "watchdog"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    alert = next(a for a in request["body"]["alerts"] if a["labels"]["alertname"] == "Watchdog")
    assert alert["status"] == "firing"
    assert alert["labels"] == {"alertname": "Watchdog", "severity": "info", "stack": "youtube2sheets"}


@pytest.fixture(scope="module")
def evaluated(live: Live) -> list[dict[str, Any]]:
    """The rule groups once every group has evaluated after every target was scraped twice."""

    def every_target_up() -> bool:
        active = api(live.prometheus, "targets")["activeTargets"]
        return len(active) == 5 and all(t["health"] == "up" for t in active)

    wait_for(every_target_up, timeout=60, what="every target up")
    traffic(live.service)  # between two scrapes: the rates are not all 0

    def scraped_twice() -> bool:
        counts = api(live.prometheus, "query", query="count_over_time(up[5m])")["result"]
        return len(counts) == 5 and all(float(c["value"][1]) >= 2 for c in counts)

    wait_for(scraped_twice, timeout=3 * SCRAPE + 10, what="two scrapes of every target")
    mark = time.time()

    def evaluated_since_mark() -> bool:
        return all(_ts(g["lastEvaluation"]) > mark for g in api(live.prometheus, "rules")["groups"])

    wait_for(evaluated_since_mark, timeout=2 * EVALUATION + 10, what="a rule evaluation after the scrapes")

    # the capacity trends fit recorded series: they need two samples of them
    wait_for(
        lambda: trends_ready(live.prometheus),
        timeout=2 * EVALUATION + 10,
        what="two samples of the recorded rates",
    )
    mark = time.time()
    wait_for(evaluated_since_mark, timeout=2 * EVALUATION + 10, what="a rule evaluation after that")
    groups: list[dict[str, Any]] = api(live.prometheus, "rules")["groups"]
    return groups


def _ts(text: str) -> float:
    """Unix time of an RFC 3339 timestamp with nanoseconds, as the rules API writes them."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    assert match is not None, text
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + zone).timestamp() + float(match[2] or 0)


def test_prometheus_loads_every_committed_rule(evaluated: list[dict[str, Any]]) -> None:
    loaded = sum(len(g["rules"]) for g in evaluated)
    committed = 0
    for path in sorted((REPO / "alerting" / "rules").glob("*.rules.yml")):
        committed += sum(len(g["rules"]) for g in yaml.safe_load(path.read_text())["groups"])
    assert loaded == committed


def test_no_rule_evaluation_errors_against_live_data(live: Live, evaluated: list[dict[str, Any]]) -> None:
    bad = [
        (r["name"], r["lastError"])
        for g in evaluated
        for r in g["rules"]
        if r["health"] != "ok" or r.get("lastError")
    ]
    assert bad == []
    failures = api(live.prometheus, "query", query="sum(prometheus_rule_evaluation_failures_total)")["result"]
    assert float(failures[0]["value"][1]) == 0


def test_every_recording_rule_has_data_from_the_live_targets(
    live: Live, evaluated: list[dict[str, Any]]
) -> None:
    records = sorted({r["name"] for g in evaluated for r in g["rules"] if r["type"] == "recording"})
    empty = [name for name in records if not api(live.prometheus, "query", query=name)["result"]]
    assert empty == []


def test_only_the_watchdog_fires_on_a_healthy_stack(live: Live, evaluated: list[dict[str, Any]]) -> None:
    firing = {
        a["labels"]["alertname"]
        for g in evaluated
        for r in g["rules"]
        if r["type"] == "alerting"
        for a in r["alerts"]
        if a["state"] == "firing"
    }
    assert firing == {"Watchdog"}
