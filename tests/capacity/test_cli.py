"""python -m capacity against the real backfilled Prometheus (conftest.py): bad input is one line and
exit 2 with nothing written; good runs in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capacity.__main__ import main
from tests.capacity.history import DAY, History
from tests.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def summary(tmp_path: Path) -> Path:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"breaking_point": {"rps": 500.0, "users": 100, "window_start": None}}))
    return path


def _argv(history: History, *argv: str, end: float | None = None, window: str = "7d") -> list[str]:
    return [
        "--prometheus",
        history.url,
        "--end",
        str(history.end if end is None else end),
        "--window",
        window,
        *argv,
    ]


def _fails(capsys: pytest.CaptureFixture[str], out_dir: Path, argv: list[str]) -> str:
    code = main([*argv, "--out", str(out_dir)])
    out, err = capsys.readouterr()
    assert (code, out, list(out_dir.iterdir())) == (2, "", [])
    assert err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_every_format_names_the_recommendation(
    history: History, summary: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    assert main(_argv(history, "--summary", str(summary), "--format", fmt)) == 0
    out = capsys.readouterr().out
    assert "scale_out" in out
    if fmt == "table":
        assert "network a" in out  # every resource that is recorded
        assert "reaches 80%" in out


def test_summaries_at_two_worker_counts_measure_efficiency(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two, four = tmp_path / "2.json", tmp_path / "4.json"
    two.write_text(json.dumps({"breaking_point": {"rps": 600.0, "users": 200}}))  # 300 a worker
    four.write_text(json.dumps({"breaking_point": {"rps": 800.0, "users": 300}}))  # 200 a worker: -33 %
    assert (
        main(
            _argv(
                history,
                "--summary",
                f"2={two}",
                "--summary",
                f"4={four}",
                "--workers",
                "4",
                "--format",
                "json",
            )
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["efficiency"] == {
        "per_worker_rps": {"2": 300.0, "4": 200.0},
        "drop": 0.333333333333,
        "falls": True,
    }
    assert report["capacity"]["per_instance"] == 800.0  # the run at --workers 4


def test_workers_come_from_the_service_s_own_series(
    history: History, summary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # youtube2sheets: 4 worker series on 2 targets; nohistory publishes none: 1, said so
    assert main(_argv(history, "--format", "json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["workers_per_instance"], report["workers_source"]) == (
        2,
        "process_worker_start_time_seconds per target",
    )
    assert main(_argv(history, "--job", "nohistory", "--summary", str(summary))) == 0
    assert (
        "1 workers, assumed: no process_worker_start_time_seconds (give --workers)" in capsys.readouterr().out
    )


def test_unreachable_prometheus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    err = _fails(capsys, tmp_path, ["--prometheus", url, "--window", "1d"])
    assert err.startswith(f"capacity: cannot reach Prometheus at {url}: ")


def test_empty_window(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, tmp_path, _argv(history, end=history.start - 10 * DAY))
    assert err == "capacity: query instance:node_cpu_utilisation:rate5m returned no data for the window\n"


def test_missing_memory(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # memory is recorded from day 5 on: a day's window ending at day 4 has CPU but no memory
    err = _fails(capsys, tmp_path, _argv(history, end=history.start + 4 * DAY, window="1d"))
    assert err == "capacity: query instance:node_memory_utilisation:ratio returned no data for the window\n"


def test_a_job_without_targets(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, tmp_path, _argv(history, "--job", "nosuchjob"))
    assert err == "capacity: no scrape targets of job nosuchjob at the end of the window\n"


def test_missing_request_rate(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails(capsys, tmp_path, _argv(history, "--job", "nosuchjob", "--instances", "1"))
    assert (
        err
        == 'capacity: query sum(job:http_requests:rate5m{job="nosuchjob"}) returned no data for the window\n'
    )


def test_no_summary_and_no_time_within_the_slos(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(capsys, tmp_path, _argv(history, "--job", "nohistory"))
    assert err.startswith("capacity: no time in the window met the latency and error SLOs")
    assert "job:http_requests_per_instance_within_slo:rate5m" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"breaking_point": {"rps": "fast", "users": 1}}', "breaking_point: expected a positive rps"),
        ("[]", "expected a load-test summary.json"),
    ],
)
def test_malformed_summary(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    err = _fails(capsys, out_dir, _argv(history, "--summary", str(path)))
    assert err.startswith(f"capacity: --summary {path}: ")
    assert expected in err


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0={path}", "expected [WORKERS=]FILE with WORKERS >= 1"),
        ("two={path}", "expected [WORKERS=]FILE with WORKERS >= 1"),
        ("{missing}", "cannot read"),
        ("3={path}", "no breaking point at 2 workers, what the instances run (summaries at 3; --workers"),
    ],
)
def test_bad_summary_options(  # noqa: PLR0917 (pytest passes fixtures and parameters by position)
    history: History,
    summary: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spec: str,
    expected: str,
) -> None:
    value = spec.format(path=summary, missing=tmp_path / "nope.json")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    err = _fails(capsys, out_dir, _argv(history, "--summary", value))
    assert err.startswith("capacity: --summary")
    assert expected in err


def test_two_summaries_for_the_same_workers(
    history: History, summary: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    err = _fails(capsys, out_dir, _argv(history, "--summary", str(summary), "--summary", f"2={summary}"))
    assert "a second summary for 2 workers" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--window", "seven days"], "capacity: --window"),
        (
            ["--prometheus", "ftp://x"],
            "capacity: --prometheus 'ftp://x': expected an http:// or https:// URL",
        ),
        (["--workers", "0"], "capacity: --window, --workers and --instances must be positive"),
        (["--end", "yesterday"], "capacity: --end 'yesterday': expected ISO 8601 or unix seconds"),
    ],
)
def test_bad_options(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    args = {
        "--prometheus": history.url,
        "--end": str(history.end),
        **dict(zip(argv[::2], argv[1::2], strict=True)),
    }
    err = _fails(capsys, tmp_path, [x for kv in args.items() for x in kv])
    assert err.startswith(expected)


def test_out_must_be_a_directory(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("")
    assert main([*_argv(history), "--out", str(target)]) == 2
    assert capsys.readouterr().err == f"capacity: --out {target}: not a directory\n"
    assert target.read_text() == ""


def test_argparse_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--format", "pdf"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_the_stack_cli_runs_it(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    from stack.__main__ import main as stack_main  # noqa: PLC0415

    assert stack_main(["capacity", *_argv(history)]) == 0
    assert "recommendation" in capsys.readouterr().out
