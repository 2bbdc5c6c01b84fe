"""Every dashboard panel shows data: the real Prometheus, on the committed config and rules, scrapes
the real exporter (with the service's process group), the simulator and the service under a short
load, and each panel query (variables substituted as Grafana would) returns at least one series.

Also: every metric family the exporter and the service publish is on a dashboard (in a panel query,
or in a recording rule a panel query reads) or in `dashboards._left_off.LEFT_OFF`, and every entry
there is really published and really on no dashboard.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from stack.selftest import trends_ready
from tests.conftest import (
    Process,
    free_port,
    http_get,
    locust_env,
    start_exporter,
    start_prometheus,
    wait_for,
    wait_for_url,
)
from tests.dashboards.test_dashboards import (
    BUILT,
    LEFT_OFF,
    PANELS,
    inner_selector,
    metric_names,
    panels,
    sample_names,
    substitute,
    targets,
    the_panel,
    variable_query,
    variables,
)
from tests.youtube2sheets.conftest import BIG, SMALL, Stack, running_stack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "alerting" / "prometheus.yml").read_text())
SCRAPE = float(CONFIG["global"]["scrape_interval"].rstrip("s"))
EVALUATION = float(CONFIG["global"]["evaluation_interval"].rstrip("s"))
RANGE, STEP = 300, 15  # range queries: the last 5 minutes at 15 s
LOADGEN = "no loadtest_* series: the load generator did not run"
PUBLISH = 1.5  # the service's workers publish their metrics every second


@dataclass
class Live:
    prometheus: str
    exporter: str
    service: str
    loadgen: bool  # whether any loadtest_* series exists


@dataclass(frozen=True)
class Result:
    ref_id: str
    expr: str  # as sent, variables substituted
    series: int
    error: str | None = None


def api(base: str, path: str, **params: str) -> Any:
    """GET one Prometheus HTTP API endpoint; its ``data``, or ValueError with Prometheus's error."""
    url = f"{base}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as err:
        body = json.loads(err.read() or b"{}")
    if body.get("status") != "success":
        raise ValueError(f"{body.get('errorType')}: {body.get('error')}")
    return body["data"]


def post(url: str, body: Mapping[str, Any] | None = None, method: str = "POST") -> int:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


def load(stack: Stack) -> None:
    """Syncs (one retried through an injected 503), rows, CSV, video reads with misses and hits, 404s."""
    for channel, sheet in ((SMALL, "small"), (BIG, "big")):
        assert post(f"{stack.service}/api/sync", {"channel_id": channel.id, "sheet": sheet}) == 200
    fault = {"kind": "error", "status": 503, "count": 1}
    assert post(f"{stack.simulator}/admin/faults", fault) == 201
    assert post(f"{stack.service}/api/sync", {"channel_id": SMALL.id, "sheet": "small"}) == 200
    fired = json.loads(http_get(f"{stack.simulator}/admin/faults")[2])["faults"]
    assert [f["fired"] for f in fired] == [1], fired  # the client retried past it
    assert post(f"{stack.simulator}/admin/faults", method="DELETE") == 200
    status, _, body = http_get(f"{stack.service}/api/sheets/small/rows?per_page=5&sort=views&order=desc")
    assert status == 200
    videos = [row["video_id"] for row in json.loads(body)["rows"]]
    for _ in range(3):  # the first read of each misses the cache, the others hit
        assert {http_get(f"{stack.service}/api/videos/{video}")[0] for video in videos} == {200}
    assert http_get(f"{stack.service}/api/sheets/big.csv")[0] == 200
    assert http_get(f"{stack.service}/api/sheets/nope/rows")[0] == 404
    assert http_get(f"{stack.service}/api/videos/nope0000000")[0] == 404


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The stack, loaded; ready once every target was scraped after the load and the rules evaluated."""
    tmp = tmp_path_factory.mktemp("dashboards-live")
    # The service's master and (as its children) its workers; the state dir makes it this test's own.
    group = f"youtube2sheets=youtube2sheets serve .*{re.escape(str(tmp / 'state'))}"
    exporter, exporter_address = start_exporter(tmp, f"--collector.processes.group={group}")
    prometheus: Process | None = None
    loadgen: Process | None = None
    try:
        with running_stack(tmp) as stack:
            wait_for_url(f"http://{exporter_address}/metrics", exporter)
            load(stack)
            # The real load generator, lightly, for the Load test dashboard: its live metrics are a target.
            loadgen_port = free_port()
            loadgen = Process(
                [
                    str(Path(sys.executable).with_name("locust")),
                    "-f",
                    "loadtests/locustfile.py",
                    "--headless",
                    "--users=4",
                    "--spawn-rate=4",
                    "--run-time=180s",
                    f"--host={stack.service}",
                    f"--y2s-simulator-url={stack.simulator}",
                    f"--metrics-port={loadgen_port}",
                    "--thresholds=p95<2000,error_rate<0.01",
                    f"--results-dir={tmp / 'loadtest'}",
                    "--only-summary",
                ],
                tmp / "locust.log",
                cwd=REPO,
                env={k: v for k, v in locust_env().items() if not k.startswith("Y2S_")},
            )
            wait_for_url(f"http://127.0.0.1:{loadgen_port}/metrics", loadgen, timeout=60)
            prometheus, url = start_prometheus(
                tmp,
                {
                    "exporter": [exporter_address],
                    "youtube2sheets": [stack.service.removeprefix("http://")],
                    "simulator": [stack.simulator.removeprefix("http://")],
                    "loadgen": [f"127.0.0.1:{loadgen_port}"],
                },
            )
            _settle(url, stack)
            has_loadgen = bool(api(url, "query", query='count({__name__=~"loadtest_.+"})')["result"])
            yield Live(url, f"http://{exporter_address}", stack.service, has_loadgen)
    finally:
        if prometheus is not None:
            prometheus.stop()
        if loadgen is not None:
            loadgen.stop(timeout=20)
        exporter.stop()


def _settle(url: str, stack: Stack) -> None:
    """Two scrapes of every target with load between them, then a rule evaluation after both."""

    def every_target_up() -> bool:
        active = api(url, "targets")["activeTargets"]
        return len(active) == 5 and all(t["health"] == "up" for t in active)

    wait_for(every_target_up, timeout=SCRAPE + 15, what="a first scrape of every target")
    load(stack)  # so the rates between the two scrapes are not all 0
    time.sleep(PUBLISH)
    mark = time.time()

    def scraped_since_mark() -> bool:
        last = api(url, "query", query="timestamp(up)")["result"]
        return len(last) == 5 and all(float(s["value"][1]) > mark for s in last)

    wait_for(scraped_since_mark, timeout=SCRAPE + 15, what="a scrape of every target after the load")
    mark = time.time()

    def evaluated_since_mark() -> bool:
        groups = api(url, "rules")["groups"]
        return all(_unix(g["lastEvaluation"]) > mark for g in groups)

    wait_for(evaluated_since_mark, timeout=EVALUATION + 15, what="a rule evaluation after the scrapes")

    # the capacity trends fit recorded series: they need two samples of them
    wait_for(lambda: trends_ready(url), timeout=EVALUATION + 15, what="two samples of the recorded rates")
    mark = time.time()
    wait_for(evaluated_since_mark, timeout=EVALUATION + 15, what="a rule evaluation after that")


def _unix(text: str) -> float:
    """Unix time of the rules API's RFC 3339 timestamps (nanoseconds, Z or an offset)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    assert match is not None, text
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(match[1] + zone).timestamp() + float(match[2] or 0)


# --- every panel query, run once ---------------------------------------------------------------------


def live_values(url: str, data: Mapping[str, Any]) -> dict[str, str]:
    """Variable values as Grafana picks them: All (``.*``) for ``instance`` and multi-valued ones,
    else the default, else the first of the variable's ``label_values`` on the live data."""
    values: dict[str, str] = {}
    for name, variable in variables(data).items():
        if variable.get("type") == "datasource":
            continue
        current = (variable.get("current") or {}).get("value")
        if name == "instance" or variable.get("includeAll"):
            values[name] = str(variable.get("allValue") or ".*")
        elif isinstance(current, str) and current and current != "$__all":
            values[name] = current
        else:
            text = variable_query(variable)  # label_values([selector, ]label)
            selector = inner_selector(text)
            label = text.strip().removesuffix(")").rsplit("," if selector else "(", 1)[-1].strip()
            params = {"match[]": substitute(selector, values)} if selector else {}
            found = sorted(api(url, f"label/{label}/values", **params))
            if found:
                values[name] = found[0]
    return values


@pytest.fixture(scope="module")
def results(live: Live) -> dict[tuple[str, int], list[Result]]:
    """(dashboard, panel id) -> each target's outcome, for every built dashboard."""
    now = time.time()
    found: dict[tuple[str, int], list[Result]] = {}
    for name, data in BUILT.items():
        if isinstance(data, str):
            continue
        values = live_values(live.prometheus, data)
        for panel in panels(data):
            outcomes = []
            for target in targets(panel):
                expr = substitute(target.get("expr", ""), values)
                ref_id = str(target.get("refId"))
                try:
                    if target.get("instant"):
                        series = api(live.prometheus, "query", query=expr, time=f"{now:.3f}")["result"]
                    else:
                        bounds = {"start": f"{now - RANGE:.3f}", "end": f"{now:.3f}", "step": str(STEP)}
                        series = api(live.prometheus, "query_range", query=expr, **bounds)["result"]
                    outcomes.append(Result(ref_id, expr, len(series)))
                except ValueError as err:
                    outcomes.append(Result(ref_id, expr, 0, str(err)))
            found[(name, panel["id"])] = outcomes
    return found


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_shows_data(
    name: str, panel: dict[str, Any] | None, results: dict[tuple[str, int], list[Result]]
) -> None:
    outcomes = results[(name, the_panel(name, panel)["id"])]
    assert [r for r in outcomes if r.series == 0] == []


def test_the_load_generator_published_its_metrics(live: Live) -> None:
    assert live.loadgen, LOADGEN


def test_panels_with_data_count(
    results: dict[tuple[str, int], list[Result]], capsys: pytest.CaptureFixture[str]
) -> None:
    with_data = [key for key, outcomes in results.items() if all(r.series for r in outcomes)]
    unbuilt = [str(reason) for reason in BUILT.values() if isinstance(reason, str)]
    with capsys.disabled():
        print(f"\npanels with data: {len(with_data)}/{len(results)}; dashboards not built: {len(unbuilt)}")
    assert not unbuilt, unbuilt
    assert len(with_data) == len(results)


# --- coverage: every published family on a dashboard or left off ------------------------------------


def published(url: str) -> dict[str, set[str]]:
    """Exposition name (the `# TYPE` name) -> its sample names, for every family at ``url``."""
    status, _, body = http_get(url)
    assert status == 200
    families: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body.decode()):
        names = {s.name for s in family.samples}
        exposed = (
            f"{family.name}_total"
            if family.type == "counter" and f"{family.name}_total" in names
            else family.name
        )
        if names:
            families[exposed] = names
    return families


def recording_rules() -> dict[str, set[str]]:
    """Recording rule name -> the identifiers its expressions use (all rules of that name)."""
    rules: dict[str, set[str]] = {}
    for path in sorted((REPO / "alerting" / "rules").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    rules.setdefault(rule["record"], set()).update(metric_names(rule["expr"]))
    return rules


def used_names() -> set[str]:
    """Every identifier in a panel query of a built dashboard, with recording rules expanded."""
    rules = recording_rules()
    used = {
        name
        for data in BUILT.values()
        if not isinstance(data, str)
        for panel in panels(data)
        for target in targets(panel)
        for name in metric_names(target.get("expr", ""))
    }
    todo = used & set(rules)
    while todo:
        record = todo.pop()
        new = rules[record] - used
        used |= new
        todo |= new & set(rules)
    return used


@pytest.fixture(scope="module")
def families(live: Live) -> dict[str, set[str]]:
    return {**published(f"{live.exporter}/metrics"), **published(f"{live.service}/metrics")}


def _left_off(family: str) -> bool:
    return family in LEFT_OFF or any(k.endswith("*") and fnmatch.fnmatchcase(family, k) for k in LEFT_OFF)


def test_every_published_family_is_on_a_dashboard_or_left_off(families: dict[str, set[str]]) -> None:
    used = used_names()
    missing = sorted(f for f, samples in families.items() if not samples & used and not _left_off(f))
    unbuilt = [str(reason) for reason in BUILT.values() if isinstance(reason, str)]
    assert not unbuilt, unbuilt
    assert missing == [], "put them on a dashboard or in dashboards/_left_off.py:\n" + "\n".join(
        f'    "{f}": "...",' for f in missing
    )


def test_every_left_off_entry_is_published_and_on_no_dashboard(families: dict[str, set[str]]) -> None:
    used = used_names()
    unused = {f for f, samples in families.items() if not samples & used}
    stale = []
    for key in LEFT_OFF:
        if key.endswith("*"):
            if not any(fnmatch.fnmatchcase(f, key) for f in unused):
                stale.append(f"{key}: matches no published family that no panel shows")
        elif key not in families:
            stale.append(f"{key}: not published")
        elif sample_names(key) & used:
            stale.append(f"{key}: on a dashboard")
    assert stale == [], "dashboards/_left_off.py:\n" + "\n".join(stale)
