"""The server-side gate: values from Prometheus, thresholds, the baseline with its margin, bad input;
and, against a real Prometheus scraping the real service and exporter, a whole run of it."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from loadtests import server_gate
from loadtests.server_gate import ServerGateError, check_thresholds, compare, evaluate, measure, promql
from loadtests.thresholds import parse_list
from tests.conftest import (
    Process,
    http_get,
    start_exporter,
    start_prometheus,
    wait_for,
    wait_for_url,
)
from tests.youtube2sheets.conftest import SMALL, running_stack

REPO = Path(__file__).resolve().parents[2]
START, END = 1_714_564_800.0, 1_714_564_860.0  # 2024-05-01T12:00:00Z, one minute
VALUES = {
    "requests": 6000.0,
    "error_ratio": 0.0,
    "p95_seconds": 0.012,
    "node_cpu_utilisation": 0.4,
    "worker_cpu_cores": 0.5,
}


class FakePrometheus:
    """A `QueryFn` answering the gate's queries from a table of value keys; records each call."""

    def __init__(self, values: dict[str, float | None], job: str = "youtube2sheets") -> None:
        self.by_expr = {expr: values.get(key) for key, expr in promql(job, END - START).items()}
        self.calls: list[tuple[str, float]] = []

    def __call__(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        self.calls.append((expr, at))
        value = self.by_expr[expr]
        return [] if value is None else [({}, value)]


def fake(**changes: float | None) -> FakePrometheus:
    return FakePrometheus({**VALUES, **changes})


BASELINE = {"p95_seconds": 0.012, "error_ratio": 0.0, "worker_cpu_seconds_per_request": 0.005}


# --- measure --------------------------------------------------------------------------------------


def test_measure_reads_every_value_at_the_end_over_the_whole_window() -> None:
    query = fake()
    values = measure(query, START, END)
    assert values == {**VALUES, "worker_cpu_seconds_per_request": 0.5 * 60 / 6000}
    assert {at for _, at in query.calls} == {END}
    assert all("[60s]" in expr for expr, _ in query.calls)


def test_the_latency_is_a_histogram_quantile_over_the_increase_of_the_service_buckets() -> None:
    assert promql("youtube2sheets", 60)["p95_seconds"] == (
        "histogram_quantile(0.95, sum by (le) "
        '(increase(http_request_duration_seconds_bucket{job="youtube2sheets"}[60s])))'
    )


def test_the_error_ratio_counts_5xx_and_is_0_while_there_is_none() -> None:
    expr = promql("youtube2sheets", 60)["error_ratio"]
    assert '{job="youtube2sheets",status=~"5.."}' in expr
    assert "or vector(0)" in expr


def test_cpu_comes_from_the_host_rule_and_the_service_workers() -> None:
    exprs = promql("youtube2sheets", 60)
    assert exprs["node_cpu_utilisation"] == "avg(avg_over_time(instance:node_cpu_utilisation:rate5m[60s]))"
    assert exprs["worker_cpu_cores"] == 'sum(rate(process_worker_cpu_seconds{job="youtube2sheets"}[60s]))'


def test_measure_asks_for_the_extra_percentiles_only_when_wanted() -> None:
    query = fake(**{"p99_seconds": 0.02})
    values = measure(query, START, END, percentiles=("p99",))
    assert values["p99_seconds"] == 0.02
    assert len(query.calls) == 6


@pytest.mark.parametrize(
    ("changes", "what", "hint"),
    [
        (
            {"p95_seconds": None},
            "no data for the service's p95 latency in seconds",
            "two scrapes inside the window",
        ),
        (
            {"p95_seconds": math.nan},
            "no data for the service's p95 latency in seconds",
            "two scrapes inside the window",
        ),
        ({"requests": 0.0}, "no data for requests the service counted", "requests between them"),
        ({"requests": None}, "no data for requests the service counted", "is job 'youtube2sheets' scraped"),
        ({"node_cpu_utilisation": None}, "no data for host CPU utilisation", "is the exporter scraped"),
        ({"worker_cpu_cores": None}, "no data for the service workers' CPU in cores", "instrumentation on"),
    ],
)
def test_missing_data_is_an_error_naming_the_value_the_window_and_what_to_check(
    changes: dict[str, float | None], what: str, hint: str
) -> None:
    with pytest.raises(ServerGateError) as err:
        measure(fake(**changes), START, END)
    message = str(err.value)
    assert message.startswith(what)
    assert "2024-05-01T12:00:00.000Z..2024-05-01T12:01:00.000Z" in message
    assert hint in message
    assert "\n" not in message


def test_a_window_that_ends_before_it_starts_is_an_error() -> None:
    with pytest.raises(
        ServerGateError, match=r"^the window ends \(2024-05-01T12:00:00.000Z\) before it starts"
    ):
        measure(fake(), END, START)


# --- thresholds -----------------------------------------------------------------------------------


def test_latency_thresholds_compare_milliseconds() -> None:
    checked, _ = check_thresholds({"p95_seconds": 0.012}, parse_list("p95<12.5, p95<12"))
    assert [(c["threshold"], c["value"], c["limit"], c["passed"]) for c in checked] == [
        ("p95<12.5", 12.0, 12.5, True),
        ("p95<12", 12.0, 12.0, False),
    ]
    assert {c["scope"] for c in checked} == {"server"}


def test_the_error_rate_threshold_reads_the_5xx_ratio() -> None:
    checked, _ = check_thresholds({"error_ratio": 0.002}, parse_list("error_rate<0.001"))
    assert [(c["value"], c["passed"]) for c in checked] == [(0.002, False)]


def test_thresholds_the_server_cannot_see_are_skipped_not_passed() -> None:
    thresholds = parse_list('rps>1000, min<5, requests>10, failures<1, p95{name="/api/videos/[id]"}<50')
    checked, skipped = check_thresholds({"p95_seconds": 0.001}, thresholds)
    assert checked == []
    assert skipped == [t.text for t in thresholds]


def test_evaluate_uses_the_default_seed_gates() -> None:
    result = evaluate("http://prometheus", START, END, query=fake())
    assert [c["threshold"] for c in result["thresholds"]] == ["p95<2000", "error_rate<0.001"]
    assert result["skipped"] == ["rps>1000"]
    assert (result["verdict"], result["exit_code"], result["baseline"]) == ("pass", 0, None)


def test_a_failed_threshold_fails_the_gate_with_exit_code_1() -> None:
    result = evaluate("http://prometheus", START, END, query=fake(p95_seconds=2.5))
    assert (result["verdict"], result["exit_code"]) == ("fail", 1)


def test_evaluate_measures_what_the_thresholds_ask_for() -> None:
    thresholds = parse_list("p99<50, avg<20")
    result = evaluate(
        "http://p", START, END, thresholds=thresholds, query=fake(p99_seconds=0.04, avg_seconds=0.03)
    )
    assert [(c["threshold"], c["passed"]) for c in result["thresholds"]] == [
        ("p99<50", True),
        ("avg<20", False),
    ]


# --- baseline -------------------------------------------------------------------------------------


def test_a_value_within_the_margin_passes() -> None:
    now = {**BASELINE, "p95_seconds": 0.012 * 1.099}
    assert all(c["passed"] for c in compare(now, BASELINE, 0.10))


def test_a_value_beyond_the_margin_fails_and_says_by_how_much() -> None:
    now = {**BASELINE, "p95_seconds": 0.012 * 1.11}
    by_metric = {c["metric"]: c for c in compare(now, BASELINE, 0.10)}
    assert by_metric["p95_seconds"]["passed"] is False
    assert by_metric["p95_seconds"]["change"] == pytest.approx(0.11)
    assert by_metric["p95_seconds"]["limit"] == pytest.approx(0.0132)
    assert by_metric["worker_cpu_seconds_per_request"]["passed"] is True


def test_the_margin_is_configurable() -> None:
    now = {**BASELINE, "worker_cpu_seconds_per_request": 0.005 * 1.3}
    assert not all(c["passed"] for c in compare(now, BASELINE, 0.10))
    assert all(c["passed"] for c in compare(now, BASELINE, 0.50))


def test_faster_than_the_baseline_passes() -> None:
    now = {k: v / 2 for k, v in BASELINE.items()}
    assert all(c["passed"] for c in compare(now, BASELINE))


def test_a_baseline_without_errors_tolerates_noise_but_not_a_clear_rise() -> None:
    assert compare({**BASELINE, "error_ratio": 0.00005}, BASELINE)[1]["passed"] is True
    assert compare({**BASELINE, "error_ratio": 0.0002}, BASELINE)[1]["passed"] is False


def test_write_then_compare_passes(tmp_path: Path) -> None:
    path = tmp_path / "base" / "server.json"
    written = evaluate("http://p", START, END, baseline=path, write=True, query=fake())
    assert written["baseline"]["written"] is True
    assert written["baseline"]["comparisons"] == []
    doc = json.loads(path.read_text())
    assert doc["start"] == "2024-05-01T12:00:00.000Z"
    assert doc["values"]["p95_seconds"] == 0.012
    compared = evaluate("http://p", START, END, baseline=path, query=fake())
    assert compared["exit_code"] == 0
    assert [c["metric"] for c in compared["baseline"]["comparisons"]] == list(server_gate.COMPARED)


def test_a_regression_against_the_baseline_fails_with_exit_code_1(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    evaluate("http://p", START, END, baseline=path, write=True, query=fake())
    result = evaluate("http://p", START, END, baseline=path, query=fake(p95_seconds=0.024))
    assert (result["verdict"], result["exit_code"]) == ("fail", 1)
    assert all(c["passed"] for c in result["thresholds"])
    lines = server_gate.report(result)
    assert (
        "FAIL: p95_seconds 0.024 against the baseline 0.012 (+100.0%; limit 0.0132 at margin +10%): "
        "the service's p95 latency in seconds"
    ) in lines


def test_a_baseline_is_not_written_from_a_failing_run(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    result = evaluate("http://p", START, END, baseline=path, write=True, query=fake(p95_seconds=3.0))
    assert result["exit_code"] == 1
    assert result["baseline"]["written"] is False
    assert not path.exists()
    assert f"baseline not written to {path}: the thresholds failed" in server_gate.report(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file (write one with --write-baseline)"),
        ("{not json", "not readable JSON"),
        ("[1, 2]", "expected an object with 'values', as --write-baseline writes"),
        (
            '{"values": {"p95_seconds": 0.1, "error_ratio": 0}}',
            "values.worker_cpu_seconds_per_request: expected",
        ),
        (
            '{"values": {"p95_seconds": -1, "error_ratio": 0, "worker_cpu_seconds_per_request": 1}}',
            "values.p95",
        ),
        (
            '{"values": {"p95_seconds": "fast", "error_ratio": 0}}',
            "values.p95_seconds: expected a number >= 0",
        ),
    ],
)
def test_a_bad_baseline_file_is_one_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "server.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ServerGateError) as err:
        evaluate("http://p", START, END, baseline=path, query=fake())
    assert str(err.value).startswith(f"baseline {path}: ")
    assert message in str(err.value)


def test_a_baseline_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "server.json"  # its directory is a file
    with pytest.raises(ServerGateError, match=rf"^baseline {path}: cannot write it: "):
        evaluate("http://p", START, END, baseline=path, write=True, query=fake())


# --- times, the HTTP client -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00", "2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00"],
)
def test_times_are_iso_8601_and_naive_means_utc(text: str) -> None:
    assert server_gate.parse_time(text) == START


def test_times_may_be_unix_seconds() -> None:
    assert server_gate.parse_time("1714564800.25") == START + 0.25


class _Handler(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, Any]]] = {}
    seen: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        self.seen.append(params)
        status, body = self.answers[params["query"][0]]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tiny_prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_query_reads_an_instant_vector(tiny_prometheus: str) -> None:
    vector = {"resultType": "vector", "result": [{"metric": {"job": "x"}, "value": [END, "0.25"]}]}
    _Handler.answers = {"up": (200, {"status": "success", "data": vector})}
    assert server_gate.http_query(tiny_prometheus)("up", END) == [({"job": "x"}, 0.25)]
    assert _Handler.seen[-1]["time"] == ["1714564860.000"]


def test_http_query_reports_prometheus_errors_in_one_line(tiny_prometheus: str) -> None:
    _Handler.answers = {"up(": (400, {"status": "error", "error": "parse error: unclosed left parenthesis"})}
    with pytest.raises(ServerGateError, match=r"answered 400 to 'up\(': parse error: unclosed left paren"):
        server_gate.http_query(tiny_prometheus)("up(", END)


def test_http_query_refuses_what_is_not_a_vector(tiny_prometheus: str) -> None:
    _Handler.answers = {
        "1": (200, {"status": "success", "data": {"resultType": "scalar", "result": [0, "1"]}})
    }
    with pytest.raises(ServerGateError, match="expected a vector for '1'"):
        server_gate.http_query(tiny_prometheus)("1", END)


# --- the command line -----------------------------------------------------------------------------

OK = [
    "--prometheus",
    "http://127.0.0.1:9",
    "--start",
    "2024-05-01T12:00:00Z",
    "--end",
    "2024-05-01T12:01:00Z",
]


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = server_gate.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (OK[2:], "the following arguments are required: --prometheus"),
        ([*OK[:3], "yesterday", *OK[4:]], "--start 'yesterday': expected an ISO 8601 time such as"),
        ([*OK[:5], "2024-05-01T11:00:00Z"], "the window ends (2024-05-01T11:00:00.000Z) before it starts"),
        ([*OK, "--thresholds", "p95<<2"], "threshold 'p95<<2': expected"),
        ([*OK, "--write-baseline"], "writing a baseline needs its path (--baseline FILE)"),
        ([*OK, "--regression-margin", "-0.1"], "regression margin -0.1: expected a ratio >= 0"),
        ([*OK, "--regression-margin", "lots"], "argument --regression-margin: invalid float value: 'lots'"),
        ([*OK, "--bogus"], "unrecognized arguments: --bogus"),
        (OK, "cannot query Prometheus at http://127.0.0.1:9: "),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _main(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(f"loadtests.server_gate: error: {message}")
    assert err.count("\n") == 1


def test_the_command_line_prints_a_line_per_check_and_exits_1_on_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(server_gate, "http_query", lambda url, timeout=10.0: fake(p95_seconds=2.5))
    code, out, _ = _main(OK, capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(
        "server over 2024-05-01T12:00:00.000Z..2024-05-01T12:01:00.000Z: 6000 requests, p95 2500.00 ms"
    )
    assert lines[1:] == [
        "FAIL: server p95<2000 (measured 2500 ms)",
        "PASS: server error_rate<0.001 (measured 0)",
        "SKIP: rps>1000 (the load generator's alone)",
    ]


def test_the_command_line_prints_json_when_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(server_gate, "http_query", lambda url, timeout=10.0: fake())
    code, out, _ = _main([*OK, "--json"], capsys)
    assert code == 0
    assert json.loads(out)["verdict"] == "pass"


# --- live: a real Prometheus scraping the real service and exporter -------------------------------


@dataclass(frozen=True)
class Window:
    prometheus: str
    start: float
    end: float
    requests: int  # sent by the burst
    tmp: Path


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}", timeout=5
    ) as r:
        result: list[dict[str, Any]] = json.load(r)["data"]["result"]
    return result


def _last_scrape(url: str, job: str) -> float:
    """When Prometheus last scraped ``job`` (0 before the first scrape)."""
    found = _query(url, f'timestamp(up{{job="{job}"}})')  # a plain selector: the sample's own time
    return float(found[0]["value"][1]) if found else 0.0


def _prepare(service: str) -> list[str]:
    """Sync the 50-video channel into ``gate`` and touch every route once; the video ids.

    Before Prometheus's first scrape: a series that first appears with the burst already counted
    would show no increase at all.
    """
    req = urllib.request.Request(
        f"{service}/api/sync",
        data=json.dumps({"channel_id": SMALL.id, "sheet": "gate"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    status, _, body = http_get(f"{service}/api/sheets/gate/rows?per_page=50")
    assert status == 200
    ids = [row["video_id"] for row in json.loads(body)["rows"]]
    assert http_get(f"{service}/api/videos/{ids[0]}")[0] == 200
    assert http_get(f"{service}/api/sheets/gate.csv")[0] == 200
    return ids


def _burst(service: str, ids: list[str], seconds: float) -> int:
    """Videos, rows pages and now and then the CSV for ``seconds``; how many requests."""
    sent, end = 0, time.monotonic() + seconds
    for i in itertools.count():
        if time.monotonic() >= end:
            return sent
        paths = [f"/api/videos/{ids[i % len(ids)]}", f"/api/sheets/gate/rows?page={i % 5 + 1}&per_page=10"]
        paths += ["/api/sheets/gate.csv"] if i % 25 == 0 else []
        for path in paths:
            assert http_get(service + path)[0] == 200
        sent += len(paths)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Window]:
    """Prometheus on the committed config and rules scrapes the service (2 workers) and the exporter;
    a burst of traffic falls between two scrapes of the service; the window is from Prometheus's start
    until the gate has every value (the host CPU rule needs two exporter scrapes and an evaluation)."""
    tmp = tmp_path_factory.mktemp("server-gate")
    started: list[Process] = []
    try:
        exporter, exporter_address = start_exporter(tmp)
        started.append(exporter)
        with running_stack(tmp) as stack:
            wait_for_url(f"http://{exporter_address}/metrics", exporter)
            ids = _prepare(stack.service)
            prometheus, url = start_prometheus(
                tmp,
                {
                    "exporter": [exporter_address],
                    "youtube2sheets": [stack.service.removeprefix("http://")],
                },
            )
            started.append(prometheus)
            start = time.time()
            wait_for(lambda: _last_scrape(url, "youtube2sheets") > start, timeout=20, what="a first scrape")
            sent = _burst(stack.service, ids, 2.0)
            burst_end = time.time()
            query, last = server_gate.http_query(url), ["no scrape after the burst"]

            def complete() -> bool:
                if _last_scrape(url, "youtube2sheets") <= burst_end:
                    return False
                try:
                    measure(query, start, time.time())
                except ServerGateError as err:
                    last[0] = str(err)
                    return False
                return True

            try:
                wait_for(complete, timeout=40, what="a scrape after the burst and every value of the gate")
            except pytest.fail.Exception:
                pytest.fail(f"the gate never had every value; last: {last[0]}")
            end = time.time()
            time.sleep(1)  # a scrape or rule evaluation stamped just before `end` is stored by now
            yield Window(url, start, end, sent, tmp)
    finally:
        for proc in reversed(started):
            proc.stop()


def _cli(window: Window, *flags: str) -> subprocess.CompletedProcess[str]:
    times = ["--start", server_gate.iso(window.start), "--end", server_gate.iso(window.end)]
    return subprocess.run(
        [sys.executable, "-m", "loadtests.server_gate", "--prometheus", window.prometheus, *times, *flags],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )


@pytest.mark.integration
def test_the_live_values_are_present_and_plausible(window: Window) -> None:
    result = evaluate(window.prometheus, window.start, window.end)
    values = result["values"]
    print(json.dumps(values, indent=2))
    assert 0 < values["p95_seconds"] < 2.0
    assert values["error_ratio"] == 0
    assert values["requests"] >= window.requests * 0.5  # increase() extrapolates to the window's edges
    assert 0 < values["node_cpu_utilisation"] <= 1
    assert values["worker_cpu_cores"] > 0
    assert values["worker_cpu_seconds_per_request"] > 0
    assert [(c["threshold"], c["passed"]) for c in result["thresholds"]] == [
        ("p95<2000", True),
        ("error_rate<0.001", True),
    ]
    assert result["verdict"] == "pass"


@pytest.fixture(scope="module")
def baseline(window: Window) -> Path:
    path = window.tmp / "baseline.json"
    done = _cli(window, "--baseline", str(path), "--write-baseline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"baseline written to {path}" in done.stdout
    return path


@pytest.mark.integration
def test_the_live_window_against_its_own_baseline_passes(window: Window, baseline: Path) -> None:
    done = _cli(window, "--baseline", str(baseline))
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = [line.split(":")[0] for line in done.stdout.splitlines()[1:]]
    assert sorted(verdicts) == ["PASS"] * 5 + ["SKIP"]


@pytest.mark.integration
def test_a_baseline_50_percent_faster_fails_naming_the_metric(window: Window, baseline: Path) -> None:
    doc = json.loads(baseline.read_text())
    doc["values"]["p95_seconds"] *= 0.5
    faster = window.tmp / "faster.json"
    faster.write_text(json.dumps(doc))
    done = _cli(window, "--baseline", str(faster))
    print(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1
    assert failed[0].startswith("FAIL: p95_seconds ")
    assert "(+100.0%; limit " in failed[0]
