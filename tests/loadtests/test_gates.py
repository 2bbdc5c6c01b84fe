"""Gates: thresholds per window and over the run, consecutive failed windows, exit codes."""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import pytest

import loadtests
from loadtests.gates import EXIT_ERROR, EXIT_OK, EXIT_THRESHOLDS, EXIT_UNREACHABLE, Gates, Result, Window
from loadtests.samples import Samples
from loadtests.thresholds import Threshold, defaults, parse, parse_list

PURE = ("thresholds", "samples", "gates")
ALLOWED = {"alerting", "numpy", "yaml"}  # besides the standard library and each other


def steady(
    samples: Samples, start: float, seconds: int, rate: int, latency_ms: float, *, failed_every: int = 0
) -> None:
    """``rate`` requests a second for ``seconds`` seconds, every ``failed_every``-th one failed."""
    for i in range(seconds * rate):
        failed = failed_every > 0 and i % failed_every == 0
        samples.add(start + i / rate, "/api/videos/[id]", "GET", latency_ms, failed)


def test_the_exit_codes() -> None:
    assert (EXIT_OK, EXIT_THRESHOLDS, EXIT_ERROR, EXIT_UNREACHABLE) == (0, 1, 2, 3)


def test_close_window_evaluates_every_threshold_over_the_window() -> None:
    samples = Samples()
    steady(samples, 100.0, 10, 5, 50.0)
    steady(samples, 110.0, 10, 5, 3000.0)
    gates = Gates(parse_list("p95<2000, requests>=50"))
    window = gates.close_window(samples, 110.0, 120.0, users=7)
    assert window == Window(
        110.0,
        120.0,
        7,
        (
            Result(parse("p95<2000"), "window", 3000.0, False, 110.0, 120.0),
            Result(parse("requests>=50"), "window", 50.0, True, 110.0, 120.0),
        ),
    )
    assert gates.windows == [window]


def test_a_window_passes_only_when_every_threshold_passes() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 5, 50.0)
    assert Gates(parse_list("p95<2000, rps>1")).close_window(samples, 0.0, 10.0, 1).passed
    assert not Gates(parse_list("p95<2000, rps>10")).close_window(samples, 0.0, 10.0, 1).passed


def test_window_rps_is_window_requests_over_window_length() -> None:
    samples = Samples()
    steady(samples, 0.0, 60, 20, 5.0)
    window = Gates([parse("rps>0")], window_seconds=5).close_window(samples, 30.0, 35.0, users=2)
    assert window.results[0].value == 20.0


def test_a_window_without_requests_fails() -> None:
    window = Gates(defaults()).close_window(Samples(), 0.0, 10.0, users=0)
    assert [r.passed for r in window.results] == [False, False, False]
    assert math.isnan(window.results[0].value)


def test_a_named_threshold_sees_only_its_requests() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 10, 100.0)
    samples.add(5.0, "/api/sheets/[sheet]/rows", "GET", 900.0, False)
    gates = Gates(
        parse_list('max<1000, max{name="/api/videos/[id]"}<500, max{name=GET /api/sheets/[sheet]/rows}<500')
    )
    assert [(r.value, r.passed) for r in gates.close_window(samples, 0.0, 10.0, 1).results] == [
        (900.0, True),
        (100.0, True),
        (900.0, False),
    ]


def test_a_slow_target_fails_the_latency_gate_only() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 200, 2500.0)
    run = Gates(parse_list("p95<2000, error_rate<0.001, rps>100")).evaluate_run(samples, 0.0, 10.0)
    assert [r.passed for r in run] == [False, True, True]


def test_a_failing_target_fails_the_error_rate_gate_only() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 200, 20.0, failed_every=100)
    run = Gates(parse_list("p95<2000, error_rate<0.001, rps>100")).evaluate_run(samples, 0.0, 10.0)
    assert [(r.threshold.metric, r.value, r.passed) for r in run] == [
        ("p95", 20.0, True),
        ("error_rate", 0.01, False),
        ("rps", 200.0, True),
    ]


def test_consecutive_failed_counts_the_last_failed_windows_in_a_row() -> None:
    samples = Samples()
    for second, latency in enumerate([10, 3000, 10, 3000, 3000, 3000]):
        steady(samples, second * 10.0, 10, 2, float(latency))
    gates = Gates([parse("p95<2000")])
    counts = []
    for second in range(6):
        gates.close_window(samples, second * 10.0, second * 10.0 + 10.0, users=1)
        counts.append(gates.consecutive_failed())
    assert counts == [0, 1, 0, 1, 2, 3]


def test_no_windows_means_none_failed() -> None:
    assert Gates(defaults()).consecutive_failed() == 0


def test_windows_is_a_copy() -> None:
    gates = Gates(defaults())
    gates.windows.append(Window(0.0, 1.0, 0, ()))
    assert gates.windows == []


def test_evaluate_run_gives_run_results_and_closes_no_window() -> None:
    samples = Samples()
    steady(samples, 0.0, 20, 100, 30.0)
    gates = Gates(parse_list("p99<100, rps>50"))
    run = gates.evaluate_run(samples, 0.0, 20.0)
    assert run == [
        Result(parse("p99<100"), "run", 30.0, True, 0.0, 20.0),
        Result(parse("rps>50"), "run", 100.0, True, 0.0, 20.0),
    ]
    assert gates.windows == []


def test_failed_windows_do_not_fail_a_run_that_passes() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 2, 3000.0)  # 20 slow requests: the first window fails, the run's p95 is fast
    steady(samples, 10.0, 90, 100, 10.0)
    gates = Gates([parse("p95<2000")])
    assert not gates.close_window(samples, 0.0, 10.0, users=1).passed
    run = gates.evaluate_run(samples, 0.0, 100.0)
    assert gates.exit_code(run) == EXIT_OK


def test_a_failed_run_result_fails_the_run() -> None:
    samples = Samples()
    steady(samples, 0.0, 10, 100, 10.0)
    gates = Gates(parse_list("p95<2000, rps>1000"))
    assert gates.exit_code(gates.evaluate_run(samples, 0.0, 10.0)) == EXIT_THRESHOLDS


def test_a_run_without_requests_fails() -> None:
    gates = Gates(defaults())
    assert gates.exit_code(gates.evaluate_run(Samples(), 0.0, 10.0)) == EXIT_THRESHOLDS


def test_no_thresholds_pass() -> None:
    gates = Gates([])
    assert gates.exit_code(gates.evaluate_run(Samples(), 0.0, 10.0)) == EXIT_OK


def test_window_seconds_defaults_to_ten() -> None:
    assert Gates(defaults()).window_seconds == 10.0


def test_gates_keep_their_thresholds() -> None:
    assert Gates(defaults()).thresholds == tuple(defaults())


@pytest.mark.parametrize("seconds", [0.0, -1.0, math.nan, math.inf])
def test_a_bad_window_length_is_one_line(seconds: float) -> None:
    with pytest.raises(ValueError) as caught:
        Gates(defaults(), window_seconds=seconds)
    assert str(caught.value) == f"window_seconds: expected a positive number of seconds, got {seconds!r}"


def test_the_result_carries_the_threshold_it_measured() -> None:
    samples = Samples()
    steady(samples, 0.0, 1, 10, 10.0)
    threshold = Threshold("avg", "<=", 10.0)
    (result,) = Gates([threshold]).evaluate_run(samples, 0.0, 1.0)
    assert (result.threshold, result.scope, result.passed) == (threshold, "run", True)


@pytest.mark.parametrize("module", PURE)
def test_the_gate_modules_are_pure_python_without_locust(module: str) -> None:
    path = Path(loadtests.__file__).parent / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            assert node.module in PURE, f"{module} imports .{node.module}"
    third_party = {name for name in imported if name not in {"__future__", *sys.stdlib_module_names}}
    assert third_party <= ALLOWED
