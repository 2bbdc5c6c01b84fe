"""thresholds.yml and slos.yml: read and checked; bad input names the file and the field."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import alerting
from alerting import AlertingConfigError, load_slos, load_thresholds

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def slo_file(**changes: object) -> dict[str, object]:
    data = yaml.safe_load((REPO / "alerting" / "slos.yml").read_text())
    data["slos"][0].update(changes)
    return data


def test_the_seed_numbers_are_the_defaults() -> None:
    t = load_thresholds()
    assert t.ratio("host", "cpu_utilisation") == 0.70
    assert t.ratio("service", "error_ratio") == 0.001
    assert t.number("service", "latency_p95_seconds") == 2.0
    assert t.ratio("internals", "cache_hit_ratio") == 0.90
    assert t.number("internals", "db_query_p95_seconds") == 0.1


def test_the_slos_are_availability_and_latency_with_the_workbook_windows() -> None:
    slos = load_slos()
    assert [(s.name, s.objective) for s in slos.slos] == [("availability", 0.999), ("latency", 0.99)]
    assert [(b.long, b.short, b.factor, b.severity, b.tier) for b in slos.burn_rates] == [
        ("1h", "5m", 14.4, "critical", "fast"),
        ("6h", "30m", 6.0, "critical", "fast"),
        ("1d", "2h", 3.0, "warning", "slow"),
        ("3d", "6h", 1.0, "warning", "slow"),
    ]


def test_the_latency_slo_reads_the_2s_bucket() -> None:
    latency = next(s for s in load_slos().slos if s.name == "latency")
    assert latency.good is not None and 'le="2.0"' in latency.good


def test_every_threshold_in_the_file_is_used() -> None:
    alerting.rule_groups()  # raises if one is left over


def test_a_missing_threshold_names_file_and_field(tmp_path: Path) -> None:
    t = load_thresholds(write(tmp_path, "t.yml", {"host": {}}))
    with pytest.raises(AlertingConfigError, match=r"^.*t\.yml: host\.cpu_utilisation: missing$"):
        t.ratio("host", "cpu_utilisation")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("high", "expected a number, got 'high'"),
        (1.5, "expected a ratio 0..1, got 1.5"),
        (-0.1, "must not be negative, got -0.1"),
        (True, "expected a number, got True"),
    ],
)
def test_a_bad_ratio_names_file_field_and_value(tmp_path: Path, value: object, message: str) -> None:
    t = load_thresholds(write(tmp_path, "t.yml", {"host": {"cpu_utilisation": value}}))
    with pytest.raises(AlertingConfigError) as err:
        t.ratio("host", "cpu_utilisation")
    assert str(err.value) == f"{tmp_path / 't.yml'}: host.cpu_utilisation: {message}"


def test_a_bad_duration_names_file_and_field(tmp_path: Path) -> None:
    t = load_thresholds(write(tmp_path, "t.yml", {"host": {"cpu_for": "15 minutes"}}))
    with pytest.raises(AlertingConfigError, match=r"host\.cpu_for: expected a duration such as 5m or 1h"):
        t.duration("host", "cpu_for")


def test_a_file_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yml"
    path.write_text("host: [unclosed\n")
    with pytest.raises(AlertingConfigError) as err:
        load_thresholds(path)
    assert str(err.value).startswith(f"{path}: not valid YAML: ")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"objective": 1.0}, "slos[0] (availability).objective: expected a ratio between 0 and 1, got 1.0"),
        ({"name": "Avail-ability"}, "slos[0].name: expected a lower_snake_case name, got 'Avail-ability'"),
        ({"good": "x_bucket"}, "slos[0] (availability): give exactly one of errors (bad events) or good"),
        ({"window": "1h"}, "slos[0]: unknown field 'window'"),
        ({"job": ""}, "slos[0] (availability).job: expected a non-empty string"),
    ],
)
def test_a_bad_slo_names_the_field(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    with pytest.raises(AlertingConfigError) as err:
        load_slos(write(tmp_path, "slos.yml", slo_file(**changes)))
    assert str(err.value) == f"{tmp_path / 'slos.yml'}: {message}"


def test_a_burn_rate_whose_short_window_is_longer_is_refused(tmp_path: Path) -> None:
    data = slo_file()
    data["burn_rates"][0]["short"] = "2h"  # type: ignore[index]
    with pytest.raises(AlertingConfigError, match=r"burn_rates\[0\]: the short window must be shorter"):
        load_slos(write(tmp_path, "slos.yml", data))


def test_the_generator_exits_2_with_one_line_on_a_bad_threshold(tmp_path: Path) -> None:
    shutil.copytree(REPO / "alerting", tmp_path / "alerting", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "alerting" / "thresholds.yml"
    path.write_text(path.read_text().replace("cpu_utilisation: 0.70", "cpu_utilisation: 70"))
    before = (tmp_path / "alerting" / "rules" / "host.rules.yml").read_text()
    run = subprocess.run(
        [sys.executable, "-m", "alerting"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert run.stderr == f"error: {path}: host.cpu_utilisation: expected a ratio 0..1, got 70.0\n"
    assert (tmp_path / "alerting" / "rules" / "host.rules.yml").read_text() == before  # nothing half-written


def test_a_threshold_nothing_reads_is_reported(tmp_path: Path) -> None:
    shutil.copytree(REPO / "alerting", tmp_path / "alerting", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "alerting" / "thresholds.yml"
    path.write_text(path.read_text().replace("  cpu_for: 15m", "  cpu_for: 15m\n  cpu_typo: 1"))
    run = subprocess.run(
        [sys.executable, "-m", "alerting"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert run.stderr == f"error: {path}: host.cpu_typo: no rule uses this threshold\n"
