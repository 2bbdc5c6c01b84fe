"""summary.json and chart.png of a finished run, built from a `Run` without Locust."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from loadtests.gates import EXIT_OK, EXIT_THRESHOLDS
from loadtests.results import chart, iso, summary, write_chart, write_summary
from loadtests.runtime import Run, Settings, SettingsError
from loadtests.thresholds import parse_list

START = 1714564800.0  # 2024-05-01T12:00:00Z
KEYS = {
    "total", "succeeded", "failed", "mean", "min", "max", "p50", "p95", "p99", "rps", "error_rate",
    "start", "end", "duration_seconds", "host", "shape", "thresholds", "windows", "window_seconds",
    "failed_windows", "per_window", "breaking_point", "verdict", "exit_code", "server_gate", "per_name",
}  # fmt: skip


def make_run(thresholds: str = "p95<100, error_rate<0.5, rps>1", window_seconds: float = 2.0) -> Run:
    environment = SimpleNamespace(parsed_options=None, runner=None, host="http://t", shape_class=None)
    return Run(environment, Settings(thresholds=tuple(parse_list(thresholds)), window_seconds=window_seconds))


@pytest.fixture
def run() -> Run:
    """4 s, two windows: 10 fast requests in the first (one failed), 10 slow ones in the second."""
    run = make_run()
    run.begin(START)
    for i in range(10):
        run.add(START + 0.1 + i * 0.15, "/api/videos/[id]", "GET", 10.0 + i, failed=i == 0)
    for i in range(10):
        run.add(START + 2.1 + i * 0.15, "/api/sheets/[sheet]/rows", "GET", 200.0 + i, failed=False)
    run.close_window(START + 2.0)
    run.close_window(START + 4.0)
    run.finish(stopped=START + 4.0)
    return run


def test_summary_has_every_field(run: Run) -> None:
    assert set(summary(run, run.results, EXIT_THRESHOLDS)) == KEYS


def test_summary_counts_and_latencies_are_those_of_every_sample(run: Run) -> None:
    doc = summary(run, run.results, EXIT_THRESHOLDS)
    latencies = sorted([10.0 + i for i in range(10)] + [200.0 + i for i in range(10)])
    assert (doc["total"], doc["succeeded"], doc["failed"]) == (20, 19, 1)
    assert doc["mean"] == pytest.approx(sum(latencies) / 20)
    assert (doc["min"], doc["max"]) == (10.0, 209.0)
    assert doc["p50"] == pytest.approx((19.0 + 200.0) / 2)
    assert doc["rps"] == pytest.approx(20 / 4.0)
    assert doc["error_rate"] == pytest.approx(0.05)


def test_summary_times_are_iso_utc(run: Run) -> None:
    doc = summary(run, run.results, EXIT_THRESHOLDS)
    assert doc["start"] == "2024-05-01T12:00:00.000Z"
    assert doc["end"] == "2024-05-01T12:00:04.000Z"


def test_every_threshold_is_reported_over_the_run_and_over_the_windows(run: Run) -> None:
    rows = summary(run, run.results, EXIT_THRESHOLDS)["thresholds"]
    by_key = {(r["threshold"], r["scope"]): r for r in rows}
    assert set(by_key) == {(t, s) for t in ("p95<100", "error_rate<0.5", "rps>1") for s in ("run", "window")}
    assert by_key["p95<100", "run"]["passed"] is False
    assert by_key["p95<100", "run"]["limit"] == 100.0
    assert by_key["rps>1", "run"] == {
        "threshold": "rps>1",
        "scope": "run",
        "value": pytest.approx(5.0),
        "limit": 1.0,
        "passed": True,
    }


def test_the_window_row_holds_the_worst_window_and_the_failed_count(run: Run) -> None:
    rows = summary(run, run.results, EXIT_THRESHOLDS)["thresholds"]
    p95 = next(r for r in rows if r["threshold"] == "p95<100" and r["scope"] == "window")
    assert p95["value"] == pytest.approx(float(np.percentile([200.0 + i for i in range(10)], 95)))
    assert (p95["passed"], p95["failed_windows"]) == (False, 1)
    rps = next(r for r in rows if r["threshold"] == "rps>1" and r["scope"] == "window")
    assert (rps["value"], rps["failed_windows"]) == (5.0, 0)


def test_window_counts(run: Run) -> None:
    doc = summary(run, run.results, EXIT_THRESHOLDS)
    assert (doc["windows"], doc["failed_windows"], doc["window_seconds"]) == (2, 1, 2.0)


def test_every_window_is_listed_with_its_values(run: Run) -> None:
    listed = summary(run, run.results, EXIT_THRESHOLDS)["per_window"]
    assert [(w["start"], w["end"], w["passed"]) for w in listed] == [
        ("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:02.000Z", True),
        ("2024-05-01T12:00:02.000Z", "2024-05-01T12:00:04.000Z", False),
    ]
    assert listed[0]["values"]["rps>1"] == 5.0
    assert set(listed[1]["values"]) == {"p95<100", "error_rate<0.5", "rps>1"}


def test_verdict_follows_the_exit_code(run: Run) -> None:
    assert summary(run, run.results, EXIT_OK)["verdict"] == "pass"
    assert summary(run, run.results, EXIT_THRESHOLDS)["verdict"] == "fail"
    assert summary(run, run.results, EXIT_THRESHOLDS)["exit_code"] == EXIT_THRESHOLDS


def test_per_name_statistics(run: Run) -> None:
    per_name = summary(run, run.results, EXIT_THRESHOLDS)["per_name"]
    assert list(per_name) == ["/api/sheets/[sheet]/rows", "/api/videos/[id]"]
    videos = per_name["/api/videos/[id]"]
    assert (videos["methods"], videos["total"], videos["failed"], videos["max"]) == (["GET"], 10, 1, 19.0)


def test_breaking_point_is_null_unless_a_shape_set_one(run: Run) -> None:
    assert summary(run, run.results, EXIT_OK)["breaking_point"] is None
    run.breaking_point = SimpleNamespace(users=40, rps=812.5, window_start=START + 2)
    assert summary(run, run.results, EXIT_OK)["breaking_point"] == {
        "users": 40,
        "rps": 812.5,
        "window_start": "2024-05-01T12:00:02.000Z",
    }


def test_the_server_gate_is_included_as_given(run: Run) -> None:
    gate = {"verdict": "pass", "exit_code": 0}
    assert summary(run, run.results, EXIT_OK, gate)["server_gate"] == gate
    assert summary(run, run.results, EXIT_OK)["server_gate"] is None


def test_a_run_without_requests_has_nulls_not_nan() -> None:
    run = make_run()
    run.begin(START)
    run.finish(stopped=START + 3.0)
    doc = summary(run, run.results, EXIT_THRESHOLDS)
    assert (doc["total"], doc["mean"], doc["p95"], doc["error_rate"]) == (0, None, None, None)
    assert {r["threshold"]: r["value"] for r in doc["thresholds"] if r["scope"] == "run"}["p95<100"] is None
    json.dumps(doc, allow_nan=False)


def test_summary_refuses_an_unfinished_run() -> None:
    run = make_run()
    run.begin(START)
    with pytest.raises(RuntimeError, match="not finished"):
        summary(run, [], EXIT_OK)


def test_write_summary_writes_sorted_strict_json(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "out" / "summary.json"
    write_summary(path, summary(run, run.results, EXIT_THRESHOLDS))
    text = path.read_text()
    assert json.loads(text)["total"] == 20
    assert text.endswith("}\n")
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_write_summary_leaves_nothing_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    with pytest.raises(ValueError):
        write_summary(path, {"p95": math.nan})
    assert list(tmp_path.iterdir()) == []


def test_chart_is_a_png(run: Run, tmp_path: Path) -> None:
    write_chart(tmp_path / "chart.png", run)
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_chart_of_a_run_without_requests_is_still_a_png() -> None:
    run = make_run()
    run.begin(START)
    run.finish(stopped=START + 3.0)
    assert chart(run).startswith(b"\x89PNG")


def test_iso_is_utc_with_milliseconds() -> None:
    assert iso(0.0015) == "1970-01-01T00:00:00.001Z"


# --- the run's windows and settings as the summary shows them (loadtests.runtime has no test file of
# its own in this change: these are candidates for tests/loadtests/test_runtime.py) ----------------------


def test_a_last_window_shorter_than_a_second_is_left_out() -> None:
    run = make_run(window_seconds=2.0)
    run.begin(START)
    run.add(START + 0.5, "/", "GET", 1.0, failed=False)
    run.add(START + 2.5, "/", "GET", 1.0, failed=False)
    run.close_window(START + 2.0)
    run.finish(stopped=START + 2.9)
    assert [(w.start - START, w.end - START) for w in run.windows] == [(0.0, 2.0)]
    assert summary(run, run.results, EXIT_OK)["total"] == 2


def test_a_last_window_of_a_second_or_more_is_closed_up_to_the_end() -> None:
    run = make_run(window_seconds=2.0)
    run.begin(START)
    run.add(START + 2.5, "/", "GET", 1.0, failed=False)
    run.close_window(START + 2.0)
    run.finish(stopped=START + 3.5)
    assert [round(w.end - START, 6) for w in run.windows] == [2.0, 3.5]


def test_windows_still_open_when_the_run_stops_are_closed_in_order() -> None:
    """A master waits for worker reports before closing a window: at the end some may still be open."""
    run = make_run(window_seconds=1.0)
    run.begin(START)
    for i in range(50):
        run.add(START + i / 10, "/", "GET", 1.0, failed=False)
    run.finish(stopped=START + 5.0)
    assert [round(w.end - START, 6) for w in run.windows] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [r["values"]["rps>1"] for r in summary(run, run.results, EXIT_OK)["per_window"]] == [10.0] * 5


def test_each_window_has_the_users_noted_at_its_end() -> None:
    runner = SimpleNamespace(user_count=2)
    environment = SimpleNamespace(parsed_options=None, host=None, shape_class=None, runner=runner)
    run = Run(environment, Settings(thresholds=tuple(parse_list("rps>1")), window_seconds=1.0))
    run.begin(START)
    for t, users in ((0.0, 2), (0.9, 2), (1.0, 4), (1.5, 4)):
        runner.user_count = users
        run.note_users(START + t)
    runner.user_count = 0  # the windows close later (a master waits for reports): not the users now
    run.close_window(START + 1.0)
    run.close_window(START + 2.0)
    assert [w.users for w in run.windows] == [4, 4]
    assert run.users_at(START + 0.95) == 2


def test_settings_take_the_file_thresholds_with_the_command_line_ones(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yml"
    gates.write_text("thresholds: [p99<500]\nwindow_seconds: 5\nconsecutive_windows: 2\n")
    options = SimpleNamespace(thresholds="rps>10", thresholds_file=str(gates), window_seconds=None)
    settings = Settings.from_options(options)
    assert [t.text for t in settings.thresholds] == ["p99<500", "rps>10"]
    assert (settings.window_seconds, settings.consecutive_windows) == (5.0, 2)


def test_settings_on_the_command_line_win_over_the_file(tmp_path: Path) -> None:
    gates = tmp_path / "gates.yml"
    gates.write_text("thresholds: [p99<500]\nwindow_seconds: 5\n")
    settings = Settings.from_options(SimpleNamespace(thresholds_file=str(gates), window_seconds=2.0))
    assert settings.window_seconds == 2.0


def test_settings_default_to_the_seed_gates() -> None:
    assert [t.text for t in Settings.from_options(None).thresholds] == [
        "p95<2000",
        "error_rate<0.001",
        "rps>1000",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"baseline": "b.json"}, "--baseline compares the server side: it needs --prometheus-url"),
        ({"grafana_token_file": "t"}, "--grafana-token-file needs --grafana-url"),
        (
            {"y2s_preflight_path": "healthz"},
            "--y2s-preflight-path 'healthz': expected a path such as /healthz",
        ),
        ({"thresholds": "p95<<1"}, "threshold 'p95<<1': expected <metric><op><number>, e.g. p95<2000"),
    ],
)
def test_settings_refuse_bad_combinations_in_one_line(options: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_options(SimpleNamespace(**options))
    assert str(caught.value) == message
