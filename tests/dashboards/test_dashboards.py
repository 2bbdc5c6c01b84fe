"""The dashboards as committed JSON: fresh and deterministic, linted, at the seed thresholds, valid
against Grafana's own JSON Schemas, and every query accepted by a real Prometheus.

Every dashboard in `dashboards.NAMES` is built once at import; one that is missing or does not build
becomes a failing case of each test (with the reason), so collection never crashes. The helpers here
(`BUILT`, `panels`, `substitute`, ...) are shared with `tests/integration/test_dashboards_live.py`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from alerting import DASHBOARDS, JOBS, load_thresholds
from alerting._model import RUNBOOK_BASE
from tests.conftest import Process, binary, free_port, wait_for_url

with warnings.catch_warnings():
    # grafana-foundation-sdk 0.0.21 warns at import that a v2 dashboard model exists; the v1 JSON is
    # what Grafana's file provisioning reads, and pytest turns warnings into errors.
    warnings.filterwarnings("ignore", "Prefer using dashboardv2.Dashboard", DeprecationWarning)
    import dashboards
    from dashboards import NAMES
    from dashboards._build import Board, Variable, query, stat_panel, timeseries_panel
    from dashboards._left_off import LEFT_OFF

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO.parent / "shared" / "grafana-schemas"
RUNBOOKS = REPO / "alerting" / "runbooks.md"
ANCHORS = frozenset(m.group(1).strip().lower() for m in re.finditer(r"^## (.+)$", RUNBOOKS.read_text(), re.M))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
LEGACY = frozenset({"graph", "singlestat", "table-old", "grafana-piechart-panel"})
ALLOWED = frozenset({"timeseries", "stat", "bargauge", "table", "heatmap"})  # dashboards-common brief
JOB_NAMES = frozenset(job.name for job in JOBS)
# The job a dashboard shows when its `job` variable has no default (a real scrape job).
JOB_OF = {
    "host": "exporter",
    "exporter": "exporter",
    "service": "youtube2sheets",
    "internals": "youtube2sheets",
    "slos": "youtube2sheets",
    "loadtest": "loadgen",
}
# Grafana's built-in variables, as the brief substitutes them (the data source's timeInterval is 15s).
BUILTINS = {
    "__rate_interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval": "15s",
    "__interval_ms": "15000",
}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


# --- the dashboards, built once ----------------------------------------------------------------------


def _build(name: str) -> dict[str, Any] | str:
    """The dashboard's JSON model, or one line saying why there is none."""
    try:
        return dashboards.board(name).json()
    except ModuleNotFoundError as exc:
        if exc.name == f"dashboards.{name}":
            return f"dashboards/{name}.py is not written yet"
        return f"dashboards/{name}.py does not import: {exc!r}"
    except Exception as exc:
        return f"dashboards/{name}.py does not build: {exc!r}"


BUILT: dict[str, dict[str, Any] | str] = {name: _build(name) for name in NAMES}


def board(name: str) -> dict[str, Any]:
    """A built dashboard (a fresh copy); the test fails with the reason if it does not build."""
    built = BUILT[name]
    if isinstance(built, str):
        pytest.fail(built, pytrace=False)
    return copy.deepcopy(built)


def panels(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel that is not a row, including those inside (collapsed) rows, in order."""
    found: list[dict[str, Any]] = []
    for panel in data.get("panels", []):
        if panel.get("type") == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data.get("panels", []) if p.get("type") == "row"]


def panel_params() -> list[Any]:
    """``(dashboard, panel)`` cases; a dashboard that does not build is one case with panel None."""
    params = []
    for name in NAMES:
        built = BUILT[name]
        if isinstance(built, str):
            params.append(pytest.param(name, None, id=f"{name}-not-built"))
            continue
        for panel in panels(built):
            params.append(pytest.param(name, panel, id=f"{name}-{panel.get('id')}-{panel.get('title', '')}"))
    return params


PANELS = panel_params()


def the_panel(name: str, panel: dict[str, Any] | None) -> dict[str, Any]:
    if panel is None:
        board(name)  # fails with the reason
    assert panel is not None
    return panel


def targets(panel: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(panel.get("targets") or [])


def variables(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in data.get("templating", {}).get("list", [])}


def steps(panel: Mapping[str, Any]) -> list[float]:
    """Every threshold step value of a panel (defaults and overrides), without the base step."""
    field_config = panel.get("fieldConfig", {})
    configs = [field_config.get("defaults", {}).get("thresholds")]
    for override in field_config.get("overrides", []):
        configs += [p.get("value") for p in override.get("properties", []) if p.get("id") == "thresholds"]
    return [s["value"] for c in configs if c for s in c.get("steps", []) if s.get("value") is not None]


# --- variables and substitution ----------------------------------------------------------------------


def _current(variable: Mapping[str, Any]) -> str | None:
    value = (variable.get("current") or {}).get("value")
    if value in (None, "", []):
        return None
    values = value if isinstance(value, list) else [value]
    if "$__all" in values:
        return str(variable.get("allValue") or ".*")
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def default_values(name: str, data: Mapping[str, Any]) -> dict[str, str]:
    """What each variable stands for in the tests: All (``.*``) for multi-valued ones and for
    ``instance``, else the default, else (job) a real job name, else ``.*``."""
    values: dict[str, str] = {}
    for var_name, variable in variables(data).items():
        if variable.get("type") == "datasource":
            continue
        if var_name == "instance" or variable.get("includeAll"):
            values[var_name] = str(variable.get("allValue") or ".*")
        elif (current := _current(variable)) is not None:
            values[var_name] = current
        elif var_name == "job":
            values[var_name] = JOB_OF[name]
        else:
            values[var_name] = ".*"
    return values


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with Grafana's built-ins and the dashboard's variables replaced; unknown ones stay."""

    def replace(match: re.Match[str]) -> str:
        var = match.group(1) or match.group(2) or match.group(3)
        return BUILTINS.get(var) or values.get(var) or match.group(0)

    return _VARIABLE.sub(replace, expr)


def variable_query(variable: Mapping[str, Any]) -> str:
    query_ = variable.get("query", "")
    return str(query_.get("query", "") if isinstance(query_, dict) else query_)


def inner_selector(text: str) -> str | None:
    """The PromQL inside ``label_values(sel, label)`` or ``query_result(expr)``; None if there is none."""
    text = text.strip()
    if text.startswith("query_result(") and text.endswith(")"):
        return text[len("query_result(") : -1].strip()
    if not (text.startswith("label_values(") and text.endswith(")")):
        return None
    inner, depth, quoted, split = text[len("label_values(") : -1], 0, False, -1
    for i, char in enumerate(inner):
        if char == '"' and (i == 0 or inner[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "{(":
            depth += 1
        elif not quoted and char in "})":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            split = i
    return inner[:split].strip() if split >= 0 else None  # label_values(label) selects nothing


def metric_names(expr: str) -> set[str]:
    """Identifiers in ``expr`` outside strings: metric names among them (plus functions, labels...)."""
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)))


def sample_names(family: str) -> set[str]:
    """The sample names a family's exposition name (a `# TYPE` name) can appear as in a query."""
    if family.endswith("_total"):
        return {family}
    return {family, f"{family}_bucket", f"{family}_sum", f"{family}_count"}


# --- freshness ---------------------------------------------------------------------------------------


def generated_or_fail() -> dict[str, str]:
    missing = [str(reason) for reason in BUILT.values() if isinstance(reason, str)]
    if missing:
        pytest.fail("; ".join(missing), pytrace=False)
    return dashboards.generated_files()


def test_generated_files_equal_the_committed_files() -> None:
    files = generated_or_fail()
    committed = {f"json/{p.name}": p.read_text() for p in sorted(dashboards.JSON_DIR.glob("*.json"))}
    assert sorted(committed) == sorted(files), "run python -m dashboards (and remove stray JSON files)"
    stale = [name for name, text in files.items() if committed[name] != text]
    assert stale == [], "stale: run python -m dashboards"


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_check_exits_0_on_the_committed_files() -> None:
    generated_or_fail()
    result = _run(["-m", "dashboards", "--check"], REPO)
    assert (result.returncode, result.stderr) == (0, "")


def test_check_exits_1_and_names_a_stale_file(tmp_path: Path) -> None:
    generated_or_fail()
    package = tmp_path / "dashboards"
    shutil.copytree(REPO / "dashboards", package, ignore=shutil.ignore_patterns("__pycache__"))
    written = _run(["-m", "dashboards"], tmp_path)  # the copy's files fresh, whatever is committed
    assert written.returncode == 0, written.stderr
    stale = package / "json" / "exporter.json"
    stale.write_text(stale.read_text().replace('"Exporter health"', '"Exporter health (old)"', 1))
    result = _run(["-m", "dashboards", "--check"], tmp_path)
    assert result.returncode == 1
    assert result.stderr == "stale: dashboards/json/exporter.json (run python -m dashboards)\n"


def test_building_twice_gives_byte_identical_output() -> None:
    generated_or_fail()
    code = "import json, dashboards; print(json.dumps(dashboards.generated_files(), sort_keys=True))"
    outputs = [_run(["-c", code], REPO, PYTHONHASHSEED=seed) for seed in ("1", "2")]
    assert [o.returncode for o in outputs] == [0, 0], outputs[0].stderr
    assert outputs[0].stdout == outputs[1].stdout
    assert json.loads(outputs[0].stdout) == dashboards.generated_files()


# --- lint: every panel -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_has_a_unit(name: str, panel: dict[str, Any] | None) -> None:
    unit = the_panel(name, panel).get("fieldConfig", {}).get("defaults", {}).get("unit")
    assert isinstance(unit, str) and unit.strip()


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_has_a_description(name: str, panel: dict[str, Any] | None) -> None:
    description = the_panel(name, panel).get("description")
    assert isinstance(description, str) and description.strip()


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_and_every_target_use_the_datasource_variable(name: str, panel: dict[str, Any] | None) -> None:
    p = the_panel(name, panel)
    assert p.get("datasource") == DATASOURCE
    assert [t.get("datasource") for t in targets(p)] == [DATASOURCE] * len(targets(p))


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_has_queries_each_with_a_ref_id_unique_in_the_panel(
    name: str, panel: dict[str, Any] | None
) -> None:
    ref_ids = [t.get("refId") for t in targets(the_panel(name, panel))]
    assert ref_ids, "a panel without queries"
    assert all(isinstance(r, str) and r for r in ref_ids), ref_ids
    assert len(set(ref_ids)) == len(ref_ids), ref_ids


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_type_is_not_a_legacy_one(name: str, panel: dict[str, Any] | None) -> None:
    assert the_panel(name, panel).get("type") not in LEGACY


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_type_is_one_the_dashboards_may_use(name: str, panel: dict[str, Any] | None) -> None:
    assert the_panel(name, panel).get("type") in ALLOWED


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_fits_the_24_column_grid(name: str, panel: dict[str, Any] | None) -> None:
    pos = the_panel(name, panel).get("gridPos", {})
    assert all(isinstance(pos.get(k), int) for k in "xywh"), pos
    assert pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] >= 1 and pos["h"] >= 1, pos
    assert pos["x"] + pos["w"] <= 24, pos


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_runbook_links_point_to_existing_runbooks(name: str, panel: dict[str, Any] | None) -> None:
    urls = [link.get("url", "") for link in the_panel(name, panel).get("links", [])]
    for url in (u for u in urls if "runbooks.md" in u):
        base, _, anchor = url.partition("#")
        assert base == RUNBOOK_BASE, url
        assert anchor in ANCHORS, f"{url}: no '## ' heading in alerting/runbooks.md has that anchor"


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_queries_match_instance_with_a_regex(name: str, panel: dict[str, Any] | None) -> None:
    # instance is multi-valued with All = .*: an exact match on "$instance" finds nothing under All.
    exact = re.compile(r'instance\s*!?=\s*"\$\{?instance')
    assert [t.get("expr") for t in targets(the_panel(name, panel)) if exact.search(t.get("expr", ""))] == []


# --- lint: every dashboard ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_has_panels(name: str) -> None:
    assert panels(board(name))


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_uid_is_the_one_the_alerts_link_to(name: str) -> None:
    assert board(name)["uid"] == DASHBOARDS[name]


def test_dashboard_uids_are_unique() -> None:
    uids = [board(name)["uid"] for name in NAMES]
    assert len(set(uids)) == len(uids), uids


@pytest.mark.parametrize("name", NAMES)
def test_panel_ids_are_unique_within_the_dashboard(name: str) -> None:
    data = board(name)
    ids = [p.get("id") for p in rows(data) + panels(data)]
    assert all(isinstance(i, int) for i in ids), ids
    assert len(set(ids)) == len(ids), ids


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_has_a_prometheus_datasource_variable(name: str) -> None:
    datasource = variables(board(name)).get("datasource", {})
    assert (datasource.get("type"), datasource.get("query")) == ("datasource", "prometheus")


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_has_job_and_instance_query_variables(name: str) -> None:
    found = variables(board(name))
    assert [found.get(v, {}).get("type") for v in ("job", "instance")] == ["query", "query"]


@pytest.mark.parametrize("name", NAMES)
def test_job_variable_opens_on_a_real_job(name: str) -> None:
    assert _current(variables(board(name)).get("job", {})) in JOB_NAMES


@pytest.mark.parametrize("name", NAMES)
def test_instance_variable_offers_all_as_dot_star(name: str) -> None:
    instance = variables(board(name)).get("instance", {})
    assert (instance.get("includeAll"), instance.get("allValue")) == (True, ".*")


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_links_to_the_runbooks(name: str) -> None:
    assert RUNBOOK_BASE in [link.get("url") for link in board(name).get("links", [])]


# --- thresholds at the seed targets ------------------------------------------------------------------

SEED_THRESHOLDS = [
    ("service", "error", "service", "error_ratio"),
    ("service", "latency", "service", "latency_p95_seconds"),
    ("internals", "hit", "internals", "cache_hit_ratio"),
    ("internals", "query", "internals", "db_query_p95_seconds"),
    ("host", "cpu", "host", "cpu_utilisation"),
    ("host", "memory", "host", "memory_utilisation"),
    ("exporter", "scrape duration", "exporter", "scrape_duration_seconds"),
]


@pytest.mark.parametrize(
    ("name", "title", "section", "key"), SEED_THRESHOLDS, ids=[f"{s}.{k}" for _, _, s, k in SEED_THRESHOLDS]
)
def test_a_panel_draws_the_seed_threshold(name: str, title: str, section: str, key: str) -> None:
    target = load_thresholds().number(section, key)
    candidates = [p for p in panels(board(name)) if title in p.get("title", "").lower()]

    def drawn(panel: dict[str, Any]) -> bool:
        scale = 100 if panel.get("fieldConfig", {}).get("defaults", {}).get("unit") == "percent" else 1
        return any(math.isclose(v, target * scale) for v in steps(panel))

    assert any(drawn(p) for p in candidates), (
        f"no panel titled '*{title}*' has a threshold step at {section}.{key} = {target:g}; "
        f"found {[(p.get('title'), steps(p)) for p in candidates]}"
    )


# --- Grafana's JSON Schemas --------------------------------------------------------------------------


@cache
def _validator(folder: Path, plugin: str, definition: str | None) -> jsonschema.Draft7Validator | None:
    path = folder / f"{plugin}.jsonschema.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    if definition is not None:
        if definition not in schema.get("definitions", {}):
            return None
        # Draft 7 ignores a $ref's siblings: the file's definitions stay reachable from the root.
        schema = {"$schema": schema["$schema"], "definitions": schema["definitions"]}
        schema["$ref"] = f"#/definitions/{definition}"
    return jsonschema.Draft7Validator(schema)


class Schemas:
    """Validators for Grafana's JSON Schemas in `../shared/grafana-schemas` (Draft 7)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def validator(self, plugin: str, definition: str | None = None) -> jsonschema.Draft7Validator | None:
        """The validator of a schema file (or of one of its definitions); None if there is none."""
        return _validator(self.folder, plugin, definition)

    def _check(self, where: str, plugin: str, definition: str | None, instance: Any) -> list[str]:
        validator = self.validator(plugin, definition)
        assert validator is not None, f"{plugin}.jsonschema.json has no {definition}"
        return [f"{where}: {e.json_path}: {e.message}" for e in validator.iter_errors(instance)]

    def errors(self, data: Mapping[str, Any]) -> list[str]:
        """Every schema error of a dashboard, each naming where it is; [] when it is valid."""
        found = self._check("dashboard", "dashboard", None, {**data, "panels": []})
        for panel in data.get("panels", []):
            definition = "RowPanel" if panel.get("type") == "row" else "Panel"
            found += self._check(f"panel {panel.get('id')}", "dashboard", definition, panel)
        for panel in panels(data):
            where, plugin = f"panel {panel.get('id')} {panel.get('title')!r}", str(panel.get("type"))
            if self.validator(plugin) is not None:  # timeseries, stat, heatmap
                found += self._check(f"{where} options", plugin, "Options", panel.get("options", {}))
                custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
                if self.validator(plugin, "FieldConfig") is not None:
                    found += self._check(f"{where} custom", plugin, "FieldConfig", custom or {})
                elif custom:
                    found.append(f"{where} custom: {plugin} has no field config, got {custom}")
            for target in targets(panel):
                found += self._check(f"{where} target {target.get('refId')}", "prometheus", None, target)
        return found


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    # The schemas sit beside the project, not in it (their README: "a check that uses them runs where
    # they are present"), so a clone elsewhere skips this check, CI included; the lint still runs.
    if not (SCHEMAS / "dashboard.jsonschema.json").is_file():
        pytest.skip(f"{SCHEMAS} is not here: the schema check runs where it is")
    return Schemas(SCHEMAS)


@pytest.mark.parametrize("name", NAMES)
def test_dashboard_validates_against_grafanas_schemas(name: str, schemas: Schemas) -> None:
    data = board(name)
    errors = schemas.errors(data)
    assert errors == [], f"{len(errors)} schema errors"


def sample_board() -> dict[str, Any]:
    """A small board from the framework: a row, a time series and a stat panel."""
    sample = Board(
        DASHBOARDS["exporter"],
        "Sample",
        "A sample dashboard.",
        [
            Variable("job", "label_values(up, job)", default="exporter"),
            Variable("instance", 'label_values(up{job="$job"}, instance)', include_all=True),
        ],
    )
    sample.row("Row").add(timeseries_panel("Series", "Up.", "short", [query("up")], thresholds=[(1, "red")]))
    sample.add(stat_panel("Stat", "Up.", "short", [query("up", instant=True)]))
    return sample.json()


def test_the_framework_sample_board_is_schema_valid(schemas: Schemas) -> None:
    assert schemas.errors(sample_board()) == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return apply


BREAKAGES = {
    # case: (change, where the error must be reported)
    "dashboard": (_set("schemaVersion", "42"), "dashboard: $.schemaVersion"),
    "row": (_set("panels.0.collapsed", "no"), "panel 1: $.collapsed"),
    "panel": (_set("panels.1.gridPos.w", "wide"), "panel 2: $.gridPos.w"),
    "panel property": (_set("panels.1.colour", "red"), "panel 2: $: Additional properties"),
    "options": (_set("panels.1.options.legend.displayMode", "sideways"), "'Series' options: $.legend"),
    "custom": (_set("panels.1.fieldConfig.defaults.custom.lineWidth", "thick"), "'Series' custom"),
    "stat options": (_set("panels.2.options.colorMode", "rainbow"), "'Stat' options: $.colorMode"),
    "stat custom": (_set("panels.2.fieldConfig.defaults.custom", {"x": 1}), "'Stat' custom"),
    "target": (_set("panels.1.targets.0.instant", "yes"), "'Series' target A: $.instant"),
}


@pytest.mark.parametrize("case", BREAKAGES)
def test_the_schema_check_reports_a_broken_copy(case: str, schemas: Schemas) -> None:
    broken = sample_board()
    change, where = BREAKAGES[case]
    change(broken)
    errors = schemas.errors(broken)
    assert errors and all(where in e for e in errors), errors


# --- PromQL: every expression accepted by a real Prometheus ------------------------------------------


class PromQL:
    """A real, empty Prometheus that says whether it accepts an expression."""

    def __init__(self, url: str) -> None:
        self.url = url

    def error(self, expr: str) -> str | None:
        data = urllib.parse.urlencode({"query": expr}).encode()
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query", data=data, timeout=10) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as err:
            body = json.loads(err.read() or b"{}")
        return None if body.get("status") == "success" else f"{body.get('errorType')}: {body.get('error')}"


@pytest.fixture(scope="module")
def promql(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromQL]:
    tmp = tmp_path_factory.mktemp("promql")
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    port = free_port()
    prometheus = Process(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            "--log.level=warn",
        ],
        tmp / "prometheus.log",
        cwd=tmp,
    )
    try:
        wait_for_url(f"http://127.0.0.1:{port}/-/ready", prometheus, timeout=30)
        yield PromQL(f"http://127.0.0.1:{port}")
    finally:
        prometheus.stop()


def test_the_promql_check_rejects_a_broken_expression(promql: PromQL) -> None:
    assert promql.error("sum(rate(http_requests_total[1m])) by (job)") is None
    assert promql.error("rate(http_requests_total[$__rate_interval])") is not None
    assert promql.error('sum(up{job="x"}') is not None


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_queries_use_only_known_variables(name: str, panel: dict[str, Any] | None) -> None:
    values = default_values(name, board(name))
    exprs = [substitute(t.get("expr", ""), values) for t in targets(the_panel(name, panel))]
    assert [e for e in exprs if "$" in e] == []  # a "$x" in a label value would still parse


@pytest.mark.parametrize(("name", "panel"), PANELS)
def test_panel_queries_are_valid_promql(name: str, panel: dict[str, Any] | None, promql: PromQL) -> None:
    p = the_panel(name, panel)
    values = default_values(name, board(name))
    checked = [(e, promql.error(e)) for e in (substitute(t.get("expr", ""), values) for t in targets(p))]
    assert [(e, error) for e, error in checked if error] == []


@pytest.mark.parametrize("name", NAMES)
def test_annotation_queries_are_valid_promql(name: str, promql: PromQL) -> None:
    data = board(name)
    values = default_values(name, data)
    exprs = [a.get("expr") or a.get("target", {}).get("expr") for a in data["annotations"].get("list", [])]
    checked = [(e, promql.error(e)) for e in (substitute(x, values) for x in exprs if x)]
    assert [(e, error) for e, error in checked if error or "$" in e] == []


@pytest.mark.parametrize("name", NAMES)
def test_variable_queries_select_with_valid_promql(name: str, promql: PromQL) -> None:
    data = board(name)
    values = default_values(name, data)
    selectors = [inner_selector(variable_query(v)) for v in variables(data).values() if v["type"] == "query"]
    checked = [(e, promql.error(e)) for e in (substitute(s, values) for s in selectors if s)]
    assert checked, "no label_values(selector, label) variable"
    assert [(e, error) for e, error in checked if error] == []


# --- the families deliberately on no dashboard -------------------------------------------------------


def test_left_off_is_sorted_with_one_line_reasons() -> None:
    assert list(LEFT_OFF) == sorted(LEFT_OFF)
    assert all(reason.strip() and "\n" not in reason for reason in LEFT_OFF.values())


@pytest.mark.parametrize("name", NAMES)
def test_no_left_off_family_is_on_the_dashboard(name: str) -> None:
    used = {n for p in panels(board(name)) for t in targets(p) for n in metric_names(t.get("expr", ""))}
    exact = [key for key in LEFT_OFF if not key.endswith("*")]
    assert [key for key in exact if sample_names(key) & used] == []
