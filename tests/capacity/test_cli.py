"""python -m capacity: bad input is one line and exit 2 with nothing written; a good run writes a report."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from capacity import utilisation
from capacity.__main__ import main, window_range
from tests.conftest import free_port

DAY = 86400.0
END = 1_700_000_000.0  # a fixed --end; the fake answers the same whatever the window
Answers = dict[str, list[dict[str, Any]]]


def _matrix(labels: dict[str, str], values: list[float]) -> dict[str, Any]:
    # one sample a day ending at END, like a range query with a 1 d step
    start = END - (len(values) - 1) * DAY
    return {"metric": labels, "values": [[start + i * DAY, str(v)] for i, v in enumerate(values)]}


def _over_window(answers: Answers, selector: str, labels: dict[str, str], values: list[float]) -> None:
    """Answer the three ``*_over_time`` instant queries `window_stats` asks, as Prometheus would."""
    st = utilisation(values)
    ranged = window_range(selector, 7 * DAY)
    for func, value in (
        ("avg_over_time(", st.mean),
        ("quantile_over_time(0.95, ", st.p95),
        ("max_over_time(", st.peak),
    ):
        answers.setdefault(f"{func}{ranged})", []).append({"metric": labels, "value": [END, str(value)]})


def _answers() -> Answers:
    answers: Answers = {
        'sum(job:http_requests:rate5m{job="youtube2sheets"})': [
            _matrix({}, [100.0 + 50 * d for d in range(8)])
        ],
    }
    _over_window(answers, "instance:node_cpu_utilisation:rate5m", {"instance": "a"}, [0.4] * 8)
    _over_window(answers, "instance:node_memory_utilisation:ratio", {"instance": "a"}, [0.3] * 8)
    return answers


@pytest.fixture
def prometheus() -> Iterator[Callable[[Answers], str]]:
    """A fake Prometheus API on 127.0.0.1 answering range queries from a table (anything else: empty)."""
    servers: list[ThreadingHTTPServer] = []

    def start(answers: Answers) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)["query"][0]
                kind = "matrix" if url.path.endswith("query_range") else "vector"
                result = answers.get(query, [])
                body = json.dumps({"status": "success", "data": {"resultType": kind, "result": result}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def summary(tmp_path: Path) -> Path:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"breaking_point": {"rps": 500.0, "users": 100, "window_start": None}}))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--end", str(END), "--window", "7d"])
    out, err = capsys.readouterr()
    return code, out, err


def _fails(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str) -> str:
    out_dir = tmp_path / "report"
    out_dir.mkdir(exist_ok=True)
    code, out, err = _run(capsys, *argv, "--out", str(out_dir))
    assert (code, out, list(out_dir.iterdir())) == (2, "", [])
    assert err.count("\n") == 1
    return err


def test_a_good_run_writes_the_json_report(
    prometheus: Callable[[Answers], str], summary: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    url = prometheus(_answers())
    code, _, err = _run(
        capsys, "--prometheus", url, "--summary", str(summary), "--format", "json", "--out", str(out_dir)
    )
    assert (code, err) == (0, "")
    assert [p.name for p in out_dir.iterdir()] == ["capacity.json"]
    report = json.loads((out_dir / "capacity.json").read_text())
    # 1 instance x 500 req/s; 100 + 50 d reaches 80 % (400) at day 6 from the window start, i.e. 1 d ago
    assert report["instances"] == 1
    assert report["requests"]["forecast_rps"] == pytest.approx(800.0)
    assert report["recommendation"]["instances_needed"] == 3  # ceil(800 / 400) + 1
    assert report["recommendation"]["action"] == "scale_out"
    assert report["capacity"]["reaches_level"] == "2023-11-14T22:13:20+00:00"  # already past: END
    assert report["quota"] is None


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_name_the_recommendation(
    prometheus: Callable[[Answers], str], summary: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, _ = _run(
        capsys, "--prometheus", prometheus(_answers()), "--summary", str(summary), "--format", fmt
    )
    assert code == 0
    assert "scale_out" in out


def test_without_a_summary_capacity_comes_from_the_slo_history(
    prometheus: Callable[[Answers], str], capsys: pytest.CaptureFixture[str]
) -> None:
    # 100 + 50 d req/s; p95 breaks 2 s from day 5 (350 req/s) on: the highest good rate is 300 (day 4).
    answers = _answers()
    job = 'job="youtube2sheets"'
    answers[f'max(job:http_request_duration_seconds:histogram_quantile_rate5m{{{job},quantile="0.95"}})'] = [
        _matrix({}, [0.5] * 5 + [2.5] * 3)
    ]
    answers[f"max(job:http_request_errors:ratio_rate5m{{{job}}})"] = [_matrix({}, [0.0] * 8)]
    code, out, err = _run(capsys, "--prometheus", prometheus(answers), "--format", "json", "--workers", "2")
    assert (code, err) == (0, "")
    cap = json.loads(out)["capacity"]
    assert (cap["per_instance"], cap["per_worker"], cap["source"]) == (
        300.0,
        150.0,
        "highest request rate within the SLOs",
    )


def test_unreachable_prometheus(tmp_path: Path, summary: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    err = _fails(capsys, tmp_path, "--prometheus", url, "--summary", str(summary))
    assert err.startswith(f"capacity: cannot reach Prometheus at {url}: ")


def test_empty_window(
    prometheus: Callable[[Answers], str], tmp_path: Path, summary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(capsys, tmp_path, "--prometheus", prometheus({}), "--summary", str(summary))
    assert err == "capacity: query instance:node_cpu_utilisation:rate5m returned no data for the window\n"


def test_missing_memory(
    prometheus: Callable[[Answers], str], tmp_path: Path, summary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {k: v for k, v in _answers().items() if "memory" not in k}
    err = _fails(capsys, tmp_path, "--prometheus", prometheus(answers), "--summary", str(summary))
    assert err == "capacity: query instance:node_memory_utilisation:ratio returned no data for the window\n"


def test_missing_request_rate(
    prometheus: Callable[[Answers], str], tmp_path: Path, summary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = _answers()
    del answers['sum(job:http_requests:rate5m{job="youtube2sheets"})']
    err = _fails(capsys, tmp_path, "--prometheus", prometheus(answers), "--summary", str(summary))
    assert "job:http_requests:rate5m" in err
    assert err.endswith("returned no data for the window\n")


def test_no_summary_and_no_slo_history(
    prometheus: Callable[[Answers], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(capsys, tmp_path, "--prometheus", prometheus(_answers()))
    assert "histogram_quantile_rate5m" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"breaking_point": {"rps": "fast", "users": 1}}', "breaking_point: expected a positive rps"),
        ("[]", "expected a load-test summary.json"),
    ],
)
def test_malformed_summary(
    prometheus: Callable[[Answers], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    expected: str,
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    err = _fails(capsys, tmp_path, "--prometheus", prometheus(_answers()), "--summary", str(path))
    assert err.startswith("capacity: --summary")
    assert expected in err


def test_missing_summary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(
        capsys, tmp_path, "--prometheus", "http://127.0.0.1:1", "--summary", str(tmp_path / "nope.json")
    )
    assert "cannot read" in err


@pytest.mark.parametrize(
    "argv", [["--window", "seven days"], ["--prometheus", "ftp://x"], ["--workers", "0"]]
)
def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    base = {"--prometheus": "http://127.0.0.1:1", "--workers": "1"}
    args = dict(base)
    args.update(zip(argv[::2], argv[1::2], strict=True))
    flat = [x for kv in args.items() for x in kv]
    if "--window" in args:
        code = main([*flat, "--end", str(END)])
        _, err = capsys.readouterr()
        assert (code, err.count("\n")) == (2, 1)
        assert err.startswith("capacity: --window")
    else:
        err = _fails(capsys, tmp_path, *flat)
        assert err.startswith("capacity: ")


def test_argparse_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "pdf"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
