"""Real ``locust --headless`` processes with the plugin: exit codes, results, exact counts, live metrics.

Tiny targets on 127.0.0.1 (threads in this process) count what they serve, so the counts in
summary.json and in the live metrics are checked exactly: a slow target and a failing one fail their
gates (exit code 1), a closed port is unreachable (3), a bad option is one line (2), a passing run
writes every result (0). Then the same locustfile distributed (master + 2 workers, ``--processes 2``),
a real Prometheus scraping the live metrics, and the real locustfile against the real service and
simulator. Locust always runs as a subprocess (`tests.conftest.locust_env`: gevent patches it, not us).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Process, binary, free_port, http_get, locust_env, wait_for, wait_for_url
from tests.youtube2sheets.conftest import Stack, running_stack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
USER_FILE = "tests/loadtests/locustfiles/plugin_user.py"
REAL_FILE = str(ROOT / "loadtests" / "locustfile.py")
TIMEOUT = 60  # seconds for one Locust run (each takes a few)
TOKEN = "grafana-t0ken"
SEED_GATES = [("p95<2000", 2000.0), ("error_rate<0.001", 0.001), ("rps>1000", 1000.0)]
JOURNEYS = {"/api/sheets/[sheet]/rows", "/api/videos/[id]", "/api/sheets/[sheet].csv", "/api/sync"}


class Target(ThreadingHTTPServer):
    """``GET /work`` answers ``status`` after ``delay`` seconds and is counted; ``GET /healthz`` is 200;
    ``POST /api/annotations`` stands in for Grafana (records the body and the Authorization header)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay, self.status = delay, status
        self.served = 0
        self.served_at: list[float] = []  # unix time of each /work answer
        self.annotations: list[tuple[dict[str, Any], str | None]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as FastHttpUser uses it
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: Target

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, b'{"status":"ok"}')
            return
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.served += 1
            self.server.served_at.append(time.time())
        self._answer(self.server.status, b"{}")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.annotations.append((body, self.headers.get("Authorization")))
            answer = json.dumps({"id": len(self.server.annotations)}).encode()
        self._answer(200, answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(delay: float = 0.0, status: int = 200) -> Iterator[Target]:
    server = Target(delay, status)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def target() -> Iterator[Target]:
    with serving() as server:
        yield server


def environment(**extra: str) -> dict[str, str]:
    """Locust's environment without any ``Y2S_*`` of ours (the tests pass flags), plus ``extra``."""
    return {k: v for k, v in locust_env(**extra).items() if not k.startswith("Y2S_") or k in extra}


def locust(*args: str) -> list[str]:
    """The ``locust`` command of this venv (its ``prog`` is in the error lines)."""
    return [str(Path(sys.executable).with_name("locust")), *args]


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    results: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def summary(self) -> dict[str, Any]:
        path = self.results / "summary.json"
        assert path.is_file(), self.output
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc

    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("loadtests: error:")]


def run(results: Path, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Ran:
    """One headless Locust run to its end (``args`` after the defaults override them).

    Locust runs in its own session, and the whole session is killed on a timeout: ``--processes``
    forks workers that would outlive their parent and join the next run's master.
    """
    return plain_run(
        results, ["--headless", "--results-dir", str(results), "--metrics-port", "0", *args], env, cwd
    )


def plain_run(results: Path, args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> Ran:
    """``locust ARGS`` as given; results expected in ``results``."""
    command = locust(*args)
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env or environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            stderr += f"\n(killed after {TIMEOUT} s)"
    return Ran(proc.returncode, stdout, stderr, results)


def user_run(url: str, results: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """The minimal locustfile: 2 users for 1 s on ``url``."""
    return run(results, "-f", USER_FILE, "-H", url, "-u", "2", "-r", "10", "-t", "1s", *args, env=env)


def rows(summary: dict[str, Any], scope: str = "run") -> dict[str, dict[str, Any]]:
    return {r["threshold"]: r for r in summary["thresholds"] if r["scope"] == scope}


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]] | None:
    """The metrics at ``url`` by sample name, or None when nothing answers."""
    try:
        status, _, body = http_get(url, timeout=2)
    except OSError:
        return None
    if status != 200:
        return None
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            found.setdefault(s.name, []).append((dict(s.labels), float(s.value)))
    return found


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lab, v in found.get(name, []) if all(lab.get(k) == x for k, x in labels.items()))


# --- gates and exit codes -------------------------------------------------------------------------------


def test_a_slow_target_fails_the_latency_gate_with_exit_code_1(tmp_path: Path) -> None:
    with serving(delay=0.05) as slow:
        ran = user_run(slow.url, tmp_path, "--thresholds", "p95<20,error_rate<0.01")
    summary = rows(ran.summary())
    assert ran.code == 1, ran.output
    assert (ran.summary()["verdict"], ran.summary()["exit_code"]) == ("fail", 1)
    assert summary["p95<20"]["passed"] is False
    assert summary["p95<20"]["value"] >= 50
    assert summary["error_rate<0.01"]["passed"] is True
    assert ran.summary()["total"] == slow.served


def test_a_failing_target_fails_the_error_rate_gate_with_exit_code_1(tmp_path: Path) -> None:
    with serving(status=500) as failing:
        ran = user_run(failing.url, tmp_path, "--thresholds", "p95<1000,error_rate<0.01")
    doc = ran.summary()
    assert ran.code == 1, ran.output
    assert (doc["failed"], doc["succeeded"], doc["error_rate"]) == (failing.served, 0, 1.0)
    assert rows(doc)["error_rate<0.01"]["passed"] is False
    assert rows(doc)["p95<1000"]["passed"] is True


def test_an_unreachable_target_exits_3_with_one_line_and_no_results(tmp_path: Path) -> None:
    port = free_port()
    ran = user_run(f"http://127.0.0.1:{port}", tmp_path)
    assert ran.code == 3, ran.output
    assert ran.errors() == [
        f"loadtests: error: target http://127.0.0.1:{port} is unreachable: "
        f"GET http://127.0.0.1:{port}/healthz: [Errno 111] Connection refused"
    ]
    assert "Traceback" not in ran.output
    assert list(tmp_path.iterdir()) == []  # no summary, chart, HTML report or CSV


BAD_OPTIONS = [
    pytest.param(
        USER_FILE,
        ["--thresholds", "p95<<2"],
        {},
        "locust: error: argument --thresholds: threshold 'p95<<2': expected <metric><op><number>, "
        "e.g. p95<2000",
        id="threshold",
    ),
    pytest.param(
        USER_FILE,
        [],
        {"Y2S_THRESHOLDS": "rps>fast"},
        "locust: error: argument --thresholds: threshold 'rps>fast': 'fast' is not a number, e.g. rps>1000",
        id="threshold-from-env",
    ),
    pytest.param(
        USER_FILE,
        ["--thresholds-file", "/nonexistent/gates.yml"],
        {},
        "locust: error: argument --thresholds-file: /nonexistent/gates.yml: cannot read: "
        "No such file or directory",
        id="thresholds-file",
    ),
    pytest.param(
        USER_FILE,
        ["--window-seconds", "0"],
        {},
        "locust: error: argument --window-seconds: '0': expected a number > 0",
        id="window",
    ),
    pytest.param(
        REAL_FILE,
        ["--y2s-weights", "rows=6,video=x"],
        {},
        "locust: error: argument --y2s-weights: weight 'video=x': 'x' is not a number",
        id="weights",
    ),
]


@pytest.mark.parametrize(("locustfile", "args", "env", "line"), BAD_OPTIONS)
def test_a_bad_option_exits_2_with_one_line(
    locustfile: str, args: list[str], env: dict[str, str], line: str, *, target: Target, tmp_path: Path
) -> None:
    ran = run(tmp_path, "-f", locustfile, "-H", target.url, "-t", "2s", *args, env=environment(**env))
    assert (ran.code, ran.stderr.splitlines(), ran.stdout) == (2, [line], ""), ran.output
    assert target.served == 0


def test_a_results_dir_that_cannot_be_written_exits_2_with_one_line(target: Target, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    ran = user_run(target.url, tmp_path / "file" / "results")
    assert (ran.code, ran.stdout) == (2, ""), ran.output
    assert ran.stderr.splitlines() == [
        f"loadtests: error: --results-dir {tmp_path}/file/results: {tmp_path}/file is not a directory"
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--baseline", "base.json"],
            "loadtests: error: --baseline compares the server side: it needs --prometheus-url",
        ),
        (
            ["--metrics-port", "{busy}"],
            "loadtests: error: --metrics-port {busy}: cannot listen on 127.0.0.1:{busy}: "
            "Address already in use",
        ),
    ],
    ids=["baseline-alone", "metrics-port-taken"],
)
def test_options_that_only_fail_together_or_at_start_exit_2_with_one_line(
    args: list[str], line: str, target: Target, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        ran = user_run(target.url, tmp_path, *(a.format(busy=port) for a in args))
    assert ran.code == 2, ran.output
    assert ran.errors() == [line.format(busy=port)]
    assert "Traceback" not in ran.output
    assert target.served == 0


def test_an_unreachable_prometheus_for_the_server_gate_is_exit_code_2(target: Target, tmp_path: Path) -> None:
    port = free_port()
    ran = user_run(
        target.url,
        tmp_path,
        "--thresholds",
        "error_rate<0.01",
        "--prometheus-url",
        f"http://127.0.0.1:{port}",
    )
    doc = ran.summary()
    assert (ran.code, doc["exit_code"], doc["verdict"]) == (2, 2, "fail"), ran.output
    assert doc["server_gate"]["error"].startswith(f"cannot query Prometheus at http://127.0.0.1:{port}")
    assert ran.errors() == [f"loadtests: error: server-side gate: {doc['server_gate']['error']}"]
    assert rows(doc)["error_rate<0.01"]["passed"] is True  # the client side passed: the gate could not decide


def test_errors_in_user_code_are_exit_code_2_even_when_the_gates_pass(target: Target, tmp_path: Path) -> None:
    broken = "tests/loadtests/locustfiles/plugin_broken.py"
    ran = run(
        tmp_path, "-f", broken, "-H", target.url, "-u", "1", "-t", "1s", "--thresholds", "error_rate<0.01"
    )
    assert (ran.code, ran.summary()["exit_code"]) == (2, 2), ran.output
    assert all(r["passed"] for r in ran.summary()["thresholds"])
    [line] = ran.errors()
    assert line.startswith("loadtests: error: ")
    assert line.endswith(" exceptions in user code, the first: broken on purpose")


# --- a passing run and what it leaves ---------------------------------------------------------------------


@dataclass
class Passing:
    ran: Ran
    target: Target


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Passing]:
    """3 users for 2 s, 0.5 s windows, passing gates, annotations to a stand-in Grafana."""
    tmp = tmp_path_factory.mktemp("passing")
    (tmp / "token").write_text(TOKEN + "\n")
    with serving() as ok:
        ran = user_run(
            ok.url,
            tmp / "results",
            *("-u", "3", "-t", "2s", "--window-seconds", "0.5"),
            *("--thresholds", "p95<1000,error_rate<0.01,requests>10"),
            *("--grafana-url", ok.url, "--grafana-token-file", str(tmp / "token")),
        )
        yield Passing(ran, ok)


def test_a_passing_run_exits_0_and_writes_every_result(passing: Passing) -> None:
    ran = passing.ran
    assert ran.code == 0, ran.output
    assert (ran.summary()["verdict"], ran.summary()["exit_code"]) == ("pass", 0)
    assert (ran.results / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert "<html" in (ran.results / "report.html").read_text()
    assert (ran.results / "locust_stats.csv").read_text().startswith("Type,Name,Request Count")


def test_a_passing_run_counts_exactly_what_the_target_served(passing: Passing) -> None:
    doc, served = passing.ran.summary(), passing.target.served
    assert served > 10
    assert (doc["total"], doc["succeeded"], doc["failed"]) == (served, served, 0)
    assert doc["per_name"]["/work"]["total"] == served
    assert rows(doc)["requests>10"]["value"] == served


def test_a_passing_run_closes_its_windows(passing: Passing) -> None:
    doc = passing.ran.summary()
    assert doc["windows"] >= 2
    assert doc["failed_windows"] == 0
    assert set(rows(doc, "window")) == {"p95<1000", "error_rate<0.01", "requests>10"}


def test_a_run_posts_start_and_stop_annotations_with_the_token(passing: Passing) -> None:
    posted = passing.target.annotations
    assert [(body["tags"], auth) for body, auth in posted] == [
        (["loadtest", "start"], f"Bearer {TOKEN}"),
        (["loadtest", "stop", "pass"], f"Bearer {TOKEN}"),
    ]
    assert posted[0][0]["time"] <= posted[1][0]["time"]
    assert "p95<1000 ok" in posted[1][0]["text"]


# --- distributed -------------------------------------------------------------------------------------------


def test_master_and_two_workers_count_exactly_in_summary_and_live_metrics(
    target: Target, tmp_path: Path, processes: Callable[..., Process]
) -> None:
    bind, metrics = free_port(), free_port()
    master_flags = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(bind)]
    master_flags += ["--expect-workers", "2", "--expect-workers-max-wait", "30", "--headless"]
    master_flags += ["-u", "4", "-r", "20", "-t", "4s", "-H", target.url, "--results-dir", str(tmp_path)]
    master_flags += ["--metrics-port", str(metrics), "--metrics-linger", "1", "--window-seconds", "1"]
    master_flags += ["--thresholds", "error_rate<0.01,requests>10"]
    master = processes(locust("-f", USER_FILE, *master_flags), cwd=ROOT, env=environment())
    for _ in range(2):
        worker = ["-f", USER_FILE, "--worker", "--master-host", "127.0.0.1", "--master-port", str(bind)]
        processes(locust(*worker), cwd=ROOT, env=environment())
    url, scraped = f"http://127.0.0.1:{metrics}/metrics", []
    end = time.monotonic() + TIMEOUT
    while master.popen.poll() is None and time.monotonic() < end:
        found = scrape(url)
        if found is not None:
            scraped.append(found)
        time.sleep(0.1)
    assert master.popen.wait(10) == 0, master.output()
    summary = Ran(0, "", "", tmp_path).summary()
    assert summary["total"] == target.served > 10
    # a window closes once both workers reported past its end: it holds what the target served in it
    # (give or take the odd request answered just before a window's end and received just after it)
    for window in summary["per_window"]:
        start, stop = (datetime.fromisoformat(window[k]).timestamp() for k in ("start", "end"))
        served = sum(start <= t < stop for t in target.served_at)
        assert abs(window["values"]["requests>10"] - served) <= 3, (window, served)
    assert max(total(found, "loadtest_workers") for found in scraped) == 2
    assert max(total(found, "loadtest_users") for found in scraped) == 4
    run_value = {"threshold": "requests>10", "scope": "run"}
    final = [
        found for found in scraped if total(found, "loadtest_threshold_value", **run_value) == target.served
    ]
    assert final, master.output()  # scraped after the verdict (--metrics-linger)
    assert total(final[-1], "loadtest_requests_total") == target.served
    assert total(final[-1], "loadtest_request_duration_seconds_count") == target.served
    assert total(final[-1], "loadtest_failures_total") == 0
    assert total(final[-1], "loadtest_verdict") == 1


def test_processes_2_counts_exactly(target: Target, tmp_path: Path) -> None:
    port = str(free_port())  # not Locust's default 5557, which other runs on this machine may hold
    ports = ["--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]
    ran = user_run(
        target.url, tmp_path, "--processes", "2", *ports, "-u", "4", "-t", "2s", "--thresholds", "requests>10"
    )
    assert ran.code == 0, ran.output
    assert ran.summary()["total"] == target.served > 10


# --- a real Prometheus -------------------------------------------------------------------------------------


def test_a_real_prometheus_scrapes_the_live_metrics_during_a_run(target: Target, tmp_path: Path) -> None:
    """Prometheus (1 s scrapes) sees the counts while the run lasts; then SIGTERM ends the run early,
    which still gives a verdict and a summary of everything served."""
    metrics, port = free_port(), free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": "loadgen", "static_configs": [{"targets": [f"127.0.0.1:{metrics}"]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    prometheus = Process(
        [
            binary("prometheus"),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        tmp_path / "prometheus.log",
    )
    loadgen = None
    try:
        api = f"http://127.0.0.1:{port}"
        wait_for_url(f"{api}/-/ready", prometheus, timeout=30)
        loadgen = Process(
            locust(
                *("--headless", "-f", USER_FILE, "-H", target.url, "-u", "2", "-r", "10", "-t", "30s"),
                *("--results-dir", str(tmp_path / "results"), "--metrics-port", str(metrics)),
                *("--thresholds", "error_rate<0.01"),
            ),
            tmp_path / "locust.log",
            cwd=ROOT,
            env=environment(),
        )

        def queried(expr: str) -> list[dict[str, Any]]:
            status, _, body = http_get(f"{api}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
            assert status == 200, body
            result: list[dict[str, Any]] = json.loads(body)["data"]["result"]
            return result

        def counted() -> bool:
            found = queried('sum(loadtest_requests_total{job="loadgen",name="/work"})')
            return bool(found) and float(found[0]["value"][1]) > 0

        wait_for(counted, timeout=20, what="loadtest_requests_total in Prometheus")
        assert queried('loadtest_request_duration_seconds_bucket{job="loadgen",le="2.0"}')
        assert [r["value"][1] for r in queried('up{job="loadgen"}')] == ["1"]
        assert loadgen.popen.poll() is None  # still running: scraped during the run
        assert loadgen.stop() == 0, loadgen.output()
        assert Ran(0, "", "", tmp_path / "results").summary()["total"] == target.served
    finally:
        if loadgen is not None:
            loadgen.stop()
        prometheus.stop()


# --- the real locustfile on the real service ---------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack"), workers=2) as started:
        yield started


def test_plain_locust_on_the_real_locustfile_applies_the_seed_gates(stack: Stack, tmp_path: Path) -> None:
    env = environment(Y2S_METRICS_PORT=str(free_port()))  # the default 9646 may be taken on a shared machine
    plain = ["-f", REAL_FILE, "--headless", "-t", "3s"]
    where = ["-H", stack.service, "--y2s-simulator-url", stack.simulator]  # not gate options
    ran = plain_run(tmp_path / "loadtest-results", [*plain, *where], env, cwd=tmp_path)
    doc = ran.summary()
    assert [(r["threshold"], r["limit"]) for r in doc["thresholds"] if r["scope"] == "run"] == SEED_GATES
    assert (tmp_path / "loadtest-results" / "report.html").is_file()
    expected = 0 if all(r["passed"] for r in rows(doc).values()) else 1
    assert (ran.code, doc["exit_code"]) == (expected, expected), ran.output


def test_the_journeys_pass_the_default_gates_but_rps_on_the_real_service(
    stack: Stack, tmp_path: Path
) -> None:
    ran = run(
        tmp_path,
        *("-f", REAL_FILE, "-H", stack.service, "--y2s-simulator-url", stack.simulator, "-u", "4", "-r", "4"),
        *("-t", "5s", "--thresholds", "p95<2000,error_rate<0.001"),
        "--y2s-weights=rows=6,video=10,csv=1,sync=1",  # syncs often enough to see in 5 s
    )
    doc = ran.summary()
    assert ran.code == 0, ran.output
    assert set(doc["per_name"]) == JOURNEYS
    assert doc["failed"] == 0
    assert all(r["passed"] for r in doc["thresholds"])


def test_the_locustfile_exits_3_when_the_simulator_is_unreachable(stack: Stack, tmp_path: Path) -> None:
    port = free_port()
    nowhere = ["--y2s-simulator-url", f"http://127.0.0.1:{port}"]
    ran = run(tmp_path, "-f", REAL_FILE, "-H", stack.service, *nowhere, "-t", "2s")
    assert ran.code == 3, ran.output
    assert len(ran.errors()) == 1
    assert ran.errors()[0].startswith(f"loadtests: error: simulator http://127.0.0.1:{port} is unreachable")


# --- python -m loadtests -------------------------------------------------------------------------------


def test_python_m_loadtests_runs_locust_on_the_locustfile_from_anywhere(tmp_path: Path) -> None:
    port = free_port()
    args = ["--headless", "-H", f"http://127.0.0.1:{port}", "-t", "1s", "--metrics-port", "0"]
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests", *args, "--results-dir", str(tmp_path / "results")],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"loadtests: error: target http://127.0.0.1:{port} is unreachable" in proc.stderr


def test_python_m_loadtests_refuses_an_unknown_shape_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loadtests", "--shape", "ramp", "--headless"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert (proc.returncode, proc.stdout, len(proc.stderr.splitlines())) == (2, "", 1)
    assert proc.stderr.startswith("python -m loadtests: error: --shape 'ramp': expected one of ")
    assert "step" in proc.stderr
