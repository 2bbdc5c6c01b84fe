"""The CLI: bad input is one line and exit 2, before anything starts; the state directory is prepared."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.youtube2sheets.conftest import ROOT, child_env
from youtube2sheets import cli
from youtube2sheets.config import Settings


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; assert exit 2 with one line on stderr and nothing on stdout; return the line."""
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("youtube2sheets: error: ")
    return err


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--bogus"], "--bogus"),
        (["--port", "99999"], "--port"),
        (["--workers", "two"], "--workers"),
        (["--cache-ttl", "0"], "--cache-ttl"),
        (["--cache-size", "-5"], "--cache-size"),
        (["--daily-quota", "lots"], "--daily-quota"),
        (["--youtube-url", "ftp://example"], "--youtube-url"),
        (["--api-key", ""], "--api-key"),
        (["--log-level", "loud"], "--log-level"),
        (["--host", "192.0.2.1"], "--host"),  # TEST-NET-1: no interface here has it (and no DNS asked)
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(
    flags: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert named in fails(["serve", "--port", str(free_port()), "--state-dir", str(tmp_path), *flags], capsys)


def test_no_command_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert "COMMAND" in fails([], capsys)


def test_a_bad_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("Y2S_CACHE_SIZE", "none")
    assert "Y2S_CACHE_SIZE 'none'" in fails(
        ["serve", "--port", str(free_port()), "--state-dir", str(tmp_path)], capsys
    )


def test_a_port_in_use_is_one_line_and_exit_2(
    listening: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "--port: cannot listen on 127.0.0.1:" in fails(
        ["serve", "--port", str(listening), "--state-dir", str(tmp_path)], capsys
    )


def test_a_state_dir_that_is_a_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    argv = ["serve", "--port", str(free_port()), "--state-dir", str(tmp_path / "file")]  # port: checked first
    assert "--state-dir" in fails(argv, capsys)


def test_a_corrupt_quota_ledger_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "quota.json").write_text("garbage")
    assert "quota.json" in fails(["serve", "--port", str(free_port()), "--state-dir", str(tmp_path)], capsys)


def test_a_flag_wins_over_its_variable() -> None:
    ns = cli.build_parser().parse_args(["serve", "--port", "9001", "--no-instrumentation"])
    settings = cli.settings_from(ns, {"Y2S_PORT": "9002", "Y2S_WORKERS": "3", "Y2S_INSTRUMENTATION": "1"})
    assert (settings.port, settings.workers, settings.instrumentation) == (9001, 3, False)


def test_preparing_the_state_empties_metrics_and_creates_the_schema(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    settings.metrics_dir.mkdir(parents=True)
    (settings.metrics_dir / "counter_1.db").write_bytes(b"old")
    cli.prepare_state(settings)
    assert list(settings.metrics_dir.iterdir()) == []
    assert settings.database.exists() and settings.quota_ledger.exists()


def test_the_module_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "youtube2sheets", "serve", "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=child_env(),
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr == "youtube2sheets: error: --workers '0': expected a number of worker processes (1..64)\n"
    )
