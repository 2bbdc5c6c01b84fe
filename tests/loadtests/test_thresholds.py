"""Threshold texts and files: parsed, printed back, compared; bad input is one clear line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from alerting import load_thresholds
from loadtests import thresholds
from loadtests.thresholds import (
    LATENCY_METRICS,
    OTHER_METRICS,
    Threshold,
    ThresholdError,
    defaults,
    load_file,
    parse,
    parse_list,
)


def test_the_defaults_are_the_numbers_of_the_alerting_thresholds() -> None:
    numbers = load_thresholds()
    assert defaults() == [
        Threshold("p95", "<", numbers.number("service", "latency_p95_seconds") * 1000),
        Threshold("error_rate", "<", numbers.ratio("service", "error_ratio")),
        Threshold("rps", ">", numbers.number("loadtest", "min_rps")),
    ]


def test_the_defaults_are_the_seed_targets() -> None:
    assert [t.text for t in defaults()] == ["p95<2000", "error_rate<0.001", "rps>1000"]


def test_a_broken_alerting_file_is_a_threshold_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yml"
    path.write_text("service: {error_ratio: 0.001}\n")
    monkeypatch.setattr(thresholds, "load_thresholds", lambda: load_thresholds(path))
    with pytest.raises(ThresholdError, match=r"^" + str(path) + r": service.latency_p95_seconds: missing$"):
        defaults()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p95<2000", Threshold("p95", "<", 2000)),
        ("  p99.9 >= 1e3 ", Threshold("p99.9", ">=", 1000)),
        ("error_rate<=0.001", Threshold("error_rate", "<=", 0.001)),
        ("rps>1000", Threshold("rps", ">", 1000)),
        ("requests>.5", Threshold("requests", ">", 0.5)),
        ("failures<10", Threshold("failures", "<", 10)),
        ('p95{name="/api/videos/[id]"}<500', Threshold("p95", "<", 500, "/api/videos/[id]")),
        ("p99{name=GET /api/videos/[id]}<500", Threshold("p99", "<", 500, "GET /api/videos/[id]")),
        ("p99 { name = /a b } < 500", Threshold("p99", "<", 500, "/a b")),
        (r'avg{name="a\"b}\\"}>1', Threshold("avg", ">", 1, 'a"b}\\')),
    ],
)
def test_parse_reads_every_form(text: str, expected: Threshold) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("metric", LATENCY_METRICS + OTHER_METRICS)
def test_every_metric_parses(metric: str) -> None:
    assert parse(f"{metric}<1").metric == metric


@pytest.mark.parametrize(
    ("threshold", "text"),
    [
        (Threshold("p95", "<", 2000), "p95<2000"),
        (Threshold("error_rate", "<", 0.001), "error_rate<0.001"),
        (Threshold("p95", "<", 2000.5), "p95<2000.5"),
        (Threshold("p95", "<", 500, "/api/videos/[id]"), 'p95{name="/api/videos/[id]"}<500'),
        (Threshold("p95", "<", 1, 'a"b\\'), r'p95{name="a\"b\\"}<1'),
        (Threshold("rps", ">=", 1e-7), "rps>=1e-07"),
    ],
)
def test_text_is_canonical_and_reads_back(threshold: Threshold, text: str) -> None:
    assert threshold.text == text
    assert str(threshold) == text
    assert parse(text) == threshold


@pytest.mark.parametrize(
    ("op", "value", "passed"),
    [
        ("<", 1.9, True),
        ("<", 2.0, False),
        ("<=", 2.0, True),
        ("<=", 2.1, False),
        (">", 2.1, True),
        (">", 2.0, False),
        (">=", 2.0, True),
        (">=", 1.9, False),
    ],
)
def test_passes_compares_with_the_limit(op: str, value: float, passed: bool) -> None:
    assert Threshold("p95", op, 2.0).passes(value) is passed


@pytest.mark.parametrize("op", ["<", "<=", ">", ">="])
def test_nan_never_passes(op: str) -> None:
    assert Threshold("p95", op, 2.0).passes(math.nan) is False


def test_the_limit_is_stored_as_a_float() -> None:
    assert type(Threshold("rps", ">", 1000).limit) is float


def test_parse_list_splits_on_commas_and_semicolons() -> None:
    assert parse_list("p95<2000, error_rate<0.001 ;rps>1000;") == [
        Threshold("p95", "<", 2000),
        Threshold("error_rate", "<", 0.001),
        Threshold("rps", ">", 1000),
    ]


def test_parse_list_keeps_separators_inside_a_name() -> None:
    assert parse_list('p95{name="/a,b;c"}<1, p99{name=/d,e}<2') == [
        Threshold("p95", "<", 1, "/a,b;c"),
        Threshold("p99", "<", 2, "/d,e"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95<<2", "threshold 'p95<<2': expected <metric><op><number>, e.g. p95<2000"),
        ("p95=2000", "threshold 'p95=2000': expected <metric><op><number>, e.g. p95<2000"),
        ("p95 2000", "threshold 'p95 2000': expected <metric><op><number>, e.g. p95<2000"),
        ("", "threshold '': expected <metric><op><number>, e.g. p95<2000"),
        (
            "p96<2000",
            "threshold 'p96<2000': unknown metric 'p96', expected one of "
            "avg, min, max, p50, p75, p90, p95, p99, p99.9, error_rate, rps, requests, failures",
        ),
        ("p95<2s", "threshold 'p95<2s': '2s' is not a number (latencies are in milliseconds), e.g. p95<2000"),
        ("rps>lots", "threshold 'rps>lots': 'lots' is not a number, e.g. rps>1000"),
        ("error_rate<1%", "threshold 'error_rate<1%': '1%' is not a number, e.g. error_rate<0.001"),
        (
            "p95<nan",
            "threshold 'p95<nan': 'nan' is not a number (latencies are in milliseconds), e.g. p95<2000",
        ),
        ("rps>-1", "threshold 'rps>-1': the limit must not be negative"),
        ("error_rate<2", "threshold 'error_rate<2': error_rate is a ratio from 0 to 1 (0.001 = 0.1 %)"),
        ("p95<1e999", "threshold 'p95<1e999': the limit must be a finite number"),
        ("p95{name=}<2", "threshold 'p95{name=}<2': the request name is empty"),
        ('p95{name=""}<2', "threshold 'p95{name=\"\"}<2': the request name is empty"),
        ("p95{route=/x}<2", "threshold 'p95{route=/x}<2': expected {name=<request name>} after the metric"),
        ('p95{name="/x}<2', "threshold 'p95{name=\"/x}<2': the request name's quotes do not match"),
    ],
)
def test_a_bad_threshold_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "thresholds '': expected at least one, e.g. p95<2000,error_rate<0.001"),
        (" ,; ", "thresholds ' ,; ': expected at least one, e.g. p95<2000,error_rate<0.001"),
        ("p95<2000,p95<<2", "threshold 'p95<<2': expected <metric><op><number>, e.g. p95<2000"),
    ],
)
def test_a_bad_threshold_list_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_list(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("p96", "<", 1.0), "threshold 'p96<1.0': unknown metric 'p96'"),
        (("p95", "==", 1.0), "threshold 'p95==1.0': unknown comparison '==', expected <, <=, > or >="),
        (("p95", "<", math.inf), "threshold 'p95<inf': the limit must be a finite number"),
        (("p95", "<", True), "threshold 'p95<True': the limit must be a finite number"),
        (("p95", "<", 1.0, " "), "threshold 'p95<1.0': the request name is empty"),
    ],
)
def test_the_constructor_checks_its_fields(fields: tuple[object, ...], message: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        Threshold(*fields)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_threshold_error_is_a_value_error() -> None:
    assert issubclass(ThresholdError, ValueError)


def test_load_file_reads_thresholds_and_options(tmp_path: Path) -> None:
    path = tmp_path / "gates.yml"
    path.write_text(
        "thresholds:\n"
        "  - p95<2000\n"
        '  - p99{name="/api/videos/[id]"}<500\n'
        "  - p99{name=GET /api/sheets/[sheet]/rows}<800\n"
        "  - rps>1000\n"
        "window_seconds: 5\n"
        "consecutive_windows: 2\n"
    )
    assert load_file(path) == (
        [
            Threshold("p95", "<", 2000),
            Threshold("p99", "<", 500, "/api/videos/[id]"),
            Threshold("p99", "<", 800, "GET /api/sheets/[sheet]/rows"),
            Threshold("rps", ">", 1000),
        ],
        {"window_seconds": 5.0, "consecutive_windows": 2},
    )


def test_load_file_returns_only_the_options_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "gates.yml"
    path.write_text("thresholds: [error_rate<0.01]\n")
    assert load_file(path) == ([Threshold("error_rate", "<", 0.01)], {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("thresholds: [p95<2000\n", "not valid YAML: while parsing a flow sequence"),
        ("- p95<2000\n", "expected a mapping with a 'thresholds' list"),
        ("", "expected a mapping with a 'thresholds' list"),
        ("window_seconds: 5\n", "thresholds: expected a non-empty list such as [p95<2000, rps>1000]"),
        ("thresholds: []\n", "thresholds: expected a non-empty list such as [p95<2000, rps>1000]"),
        ("thresholds: p95<2000\n", "thresholds: expected a non-empty list such as [p95<2000, rps>1000]"),
        ("thresholds: [p95<2000, 5]\n", "thresholds[1]: expected a text such as p95<2000, got 5"),
        (
            "thresholds: [p95<2000, p95<<2]\n",
            "thresholds[1]: threshold 'p95<<2': expected <metric><op><number>, e.g. p95<2000",
        ),
        (
            "thresholds: [p95<2000]\nwindow: 5\n",
            "unknown key 'window', expected thresholds, window_seconds, consecutive_windows",
        ),
        (
            "thresholds: [p95<2000]\nwindow_seconds: 0\n",
            "window_seconds: expected a positive number of seconds, got 0",
        ),
        (
            "thresholds: [p95<2000]\nwindow_seconds: 10s\n",
            "window_seconds: expected a positive number of seconds, got '10s'",
        ),
        (
            "thresholds: [p95<2000]\nconsecutive_windows: 1.5\n",
            "consecutive_windows: expected a whole number >= 1, got 1.5",
        ),
        (
            "thresholds: [p95<2000]\nconsecutive_windows: 0\n",
            "consecutive_windows: expected a whole number >= 1, got 0",
        ),
        (
            "thresholds: [p95<2000]\nconsecutive_windows: true\n",
            "consecutive_windows: expected a whole number >= 1, got True",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gates.yml"
    path.write_text(content)
    with pytest.raises(ThresholdError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(ThresholdError) as caught:
        load_file(path)
    assert str(caught.value) == f"{path}: cannot read: No such file or directory"
