"""The generated rule files: fresh, valid for promtool, mixin schema, and 100 % covered by promtool tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import alerting
from tests.conftest import binary

REPO = Path(__file__).resolve().parents[2]
ALERTING = REPO / "alerting"
RULE_FILES = sorted((ALERTING / "rules").glob("*.rules.yml"))
TEST_FILES = sorted((ALERTING / "tests").glob("*.test.yml"))
SEVERITIES = {"critical", "warning", "info"}


def rules_of(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def all_rules() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, rule) for path in RULE_FILES for rule in rules_of(path)]


ALERTS = [(name, rule) for name, rule in all_rules() if "alert" in rule]
RECORDS = [(name, rule) for name, rule in all_rules() if "record" in rule]


def alert_id(item: tuple[str, dict[str, Any]]) -> str:
    _, rule = item
    extra = ",".join(f"{k}={v}" for k, v in sorted(rule["labels"].items()) if k != "severity")
    return f"{rule['alert']}[{rule['labels']['severity']}{',' + extra if extra else ''}]"


# --- freshness and validity ------------------------------------------------------------------------


def test_committed_files_are_what_the_generator_writes() -> None:
    for name, text in alerting.generated_files().items():
        assert (ALERTING / name).read_text() == text, f"alerting/{name} is stale: run python -m alerting"


def test_every_rule_file_is_generated() -> None:
    generated = {name for name in alerting.generated_files() if name.startswith("rules/")}
    assert {f"rules/{p.name}" for p in RULE_FILES} == generated


def test_check_mode_names_a_stale_file_and_exits_1(tmp_path: Path) -> None:
    shutil.copytree(ALERTING, tmp_path / "alerting", ignore=shutil.ignore_patterns("__pycache__"))
    stale = tmp_path / "alerting" / "rules" / "host.rules.yml"
    stale.write_text(stale.read_text().replace("0.7", "0.75"))
    run = subprocess.run(
        [sys.executable, "-m", "alerting", "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr == "stale: alerting/rules/host.rules.yml (run python -m alerting)\n"


def test_check_mode_passes_on_the_committed_files() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "alerting", "--check"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert (run.returncode, run.stderr) == (0, "")


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_accepts_the_rule_file(path: Path) -> None:
    run = subprocess.run(
        [binary("promtool"), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_promtool_accepts_the_prometheus_config() -> None:
    config = ALERTING / "prometheus.yml"
    run = subprocess.run(
        [binary("promtool"), "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(RULE_FILES)} rule files found" in run.stdout


# --- the mixin schema -----------------------------------------------------------------------------


def runbook_anchors() -> set[str]:
    text = (ALERTING / "runbooks.md").read_text()
    return {m[1].strip().lower() for m in re.finditer(r"^## (.+)$", text, re.M)}


@pytest.mark.parametrize("item", ALERTS, ids=alert_id)
def test_alert_follows_the_mixin_schema(item: tuple[str, dict[str, Any]]) -> None:
    _, rule = item
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", rule["alert"])
    assert rule["labels"]["severity"] in SEVERITIES
    assert "for" in rule
    notes = rule["annotations"]
    assert set(notes) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert notes["summary"].endswith(".") and "{{" not in notes["summary"]
    assert "{{" in notes["description"]
    assert notes["runbook_url"].endswith(f"/alerting/runbooks.md#{rule['alert'].lower()}")
    uid = re.search(r"/d/([a-z0-9-]+)/", notes["dashboard_url"])
    assert uid is not None and uid[1] in alerting.DASHBOARDS.values()


@pytest.mark.parametrize("item", ALERTS, ids=alert_id)
def test_alert_runbook_anchor_exists(item: tuple[str, dict[str, Any]]) -> None:
    anchor = item[1]["annotations"]["runbook_url"].rsplit("#", 1)[1]
    assert anchor in runbook_anchors(), f"alerting/runbooks.md has no '## {item[1]['alert']}'"


def test_every_runbook_belongs_to_an_alert() -> None:
    names = {rule["alert"].lower() for _, rule in ALERTS}
    assert runbook_anchors() == names


@pytest.mark.parametrize("item", RECORDS, ids=lambda item: item[1]["record"] + str(item[1].get("labels", "")))
def test_recording_rule_is_named_level_metric_operations_and_keeps_job(
    item: tuple[str, dict[str, Any]],
) -> None:
    rule = item[1]
    level = rule["record"].split(":")[0]
    assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"])
    assert level == "job" or level.startswith(("job_", "instance"))
    for by in re.findall(r"\bby \(([^)]*)\)", rule["expr"]):
        assert "job" in [label.strip() for label in by.split(",")], rule["expr"]


def test_alert_names_are_unique_per_severity_and_static_labels() -> None:
    ids = [alert_id(item) for item in ALERTS]
    assert len(ids) == len(set(ids))


# --- promtool unit tests and their coverage --------------------------------------------------------


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(path: Path) -> None:
    run = subprocess.run(
        [binary("promtool"), "test", "rules", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_rule_file_has_a_test_file() -> None:
    tested = {Path(f).name for path in TEST_FILES for f in yaml.safe_load(path.read_text())["rule_files"]}
    assert tested == {p.name for p in RULE_FILES}


def _cases() -> list[dict[str, Any]]:
    return [
        case
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def _tested_records() -> set[str]:
    exprs = [
        case["expr"]
        for path in TEST_FILES
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("promql_expr_test", [])
    ]
    return {name for expr in exprs for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", expr)}


def test_every_alerting_rule_is_seen_firing_and_not_firing() -> None:
    """100 % of the alerts: each rule (name + static labels) fires in some case; each name also has a
    case where it does not fire, which promtool checks exactly (the eval just before ``for:``)."""
    cases = _cases()
    missing = []
    for item in ALERTS:
        rule = item[1]
        static = {"alertname": rule["alert"], **rule["labels"]}
        fired = any(
            case["alertname"] == rule["alert"]
            and any(
                static.items() <= {"alertname": rule["alert"], **a.get("exp_labels", {})}.items()
                for a in case["exp_alerts"]
            )
            for case in cases
            if case.get("exp_alerts")
        )
        # An always-firing rule (the Watchdog's vector(1), for: 0m) has no moment before it fires.
        always = re.fullmatch(r"vector\(1\)", rule["expr"].strip()) is not None and rule["for"] in (
            "0m",
            "0s",
        )
        quiet = always or any(
            case["alertname"] == rule["alert"] and not case.get("exp_alerts") for case in cases
        )
        if not (fired and quiet):
            missing.append(alert_id(item))
    total = len(ALERTS)
    print(f"alerting rules covered: {total - len(missing)}/{total}")
    assert missing == []


def test_every_recording_rule_is_tested_by_a_promql_expr_test() -> None:
    records = {rule["record"] for _, rule in RECORDS}
    missing = sorted(records - _tested_records())
    print(f"recording rules covered: {len(records) - len(missing)}/{len(records)}")
    assert missing == []
