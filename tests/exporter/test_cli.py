"""The real ``python -m exporter`` command: bad input gets one line and exit 2; good input serves."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exporter import __version__
from exporter.collectors import COLLECTORS
from tests.conftest import Process, exporter_command, free_port, http_get, wait_for_url
from tests.exporter.certs import PKI, make_pki

REPO = Path(__file__).resolve().parents[2]
LOCAL = "--web.listen-address=127.0.0.1:0"  # should a bad-input case start serving, only on loopback


def run_exporter(*flags: str) -> subprocess.CompletedProcess[str]:
    """Run the exporter to its exit (bad input exits at once); killed after 20 s."""
    return subprocess.run(
        exporter_command(*flags), cwd=REPO, capture_output=True, text=True, timeout=20, check=False
    )


def refusal(*flags: str) -> str:
    """Run with bad ``flags``: asserts exit status 2 and exactly one line on stderr, and returns it."""
    result = run_exporter(*flags)
    assert (result.returncode, len(result.stderr.splitlines())) == (2, 1), result.stderr
    return result.stderr.rstrip("\n")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def web_config(tmp_path: Path) -> Callable[[str], str]:
    """Write a web config with the given YAML text; returns its path."""

    def write(text: str) -> str:
        path = tmp_path / "web.yml"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another socket is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


# --- bad flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        pytest.param(["--web.bogus=1"], ["--web.bogus"], id="unknown-flag"),
        pytest.param(["--collector.nope"], ["--collector.nope"], id="unknown-collector"),
        pytest.param(["--no-collector.nope"], ["--no-collector.nope"], id="unknown-no-collector"),
        pytest.param(
            ["--web.listen-address=nonsense"], ["--web.listen-address", "nonsense"], id="listen-nonsense"
        ),
        pytest.param(
            ["--web.listen-address=127.0.0.1:70000"],
            ["--web.listen-address", "70000"],
            id="listen-port-70000",
        ),
        pytest.param(
            ["--web.telemetry-path=metrics"], ["--web.telemetry-path"], id="relative-telemetry-path"
        ),
        pytest.param(["--scrape.timeout=0"], ["--scrape.timeout"], id="zero-scrape-timeout"),
        pytest.param(["--scrape.timeout=soon"], ["--scrape.timeout"], id="non-numeric-scrape-timeout"),
        pytest.param(
            ["--path.procfs=/nonexistent/proc"], ["--path.procfs", "/nonexistent/proc"], id="procfs-missing"
        ),
        pytest.param(
            ["--path.procfs=/dev/null"],
            ["--path.procfs", "/dev/null", "not a directory"],
            id="procfs-is-a-file",
        ),
        pytest.param(
            ["--collector.filesystem.mount-points-exclude=(["],
            ["--collector.filesystem.mount-points-exclude", "(["],
            id="invalid-mount-points-regex",
        ),
    ],
)
def test_bad_flag_is_one_line_naming_it(flags: list[str], named: list[str]) -> None:
    line = refusal(LOCAL, *flags)
    assert [n for n in named if n not in line] == [], line


def test_port_in_use_is_one_line_naming_the_address(busy_port: int) -> None:
    line = refusal(f"--web.listen-address=127.0.0.1:{busy_port}")
    assert "--web.listen-address" in line
    assert f"127.0.0.1:{busy_port}" in line
    assert "in use" in line


# --- bad web config files ----------------------------------------------------------------------------


def test_missing_web_config_is_one_line_naming_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.yml")
    line = refusal(LOCAL, f"--web.config.file={path}")
    assert path in line
    assert "cannot read" in line


def test_web_config_that_is_a_directory_is_one_line_naming_it(tmp_path: Path) -> None:
    line = refusal(LOCAL, f"--web.config.file={tmp_path}")
    assert str(tmp_path) in line
    assert "cannot read" in line


def test_invalid_yaml_is_one_line_naming_file_and_line(web_config: Callable[[str], str]) -> None:
    path = web_config("basic_auth_users:\n  alice: - x\n")
    line = refusal(LOCAL, f"--web.config.file={path}")
    assert f"{path}: line 2" in line
    assert "not valid YAML" in line


def test_unknown_web_config_field_is_one_line_naming_it(web_config: Callable[[str], str]) -> None:
    path = web_config("basic_auth_user: {}\n")
    line = refusal(LOCAL, f"--web.config.file={path}")
    assert f"{path}: basic_auth_user: unknown field" in line


def test_missing_cert_file_is_one_line_naming_it(
    web_config: Callable[[str], str], pki: PKI, tmp_path: Path
) -> None:
    missing = tmp_path / "no-cert.pem"
    path = web_config(f"tls_server_config:\n  cert_file: {missing}\n  key_file: {pki.server_key}\n")
    line = refusal(LOCAL, f"--web.config.file={path}")
    assert f"{path}: tls_server_config.cert_file" in line
    assert str(missing) in line


def test_non_bcrypt_hash_is_one_line_naming_the_user(web_config: Callable[[str], str]) -> None:
    path = web_config("basic_auth_users:\n  alice: plain-text-password\n")
    line = refusal(LOCAL, f"--web.config.file={path}")
    assert f"{path}: basic_auth_users.alice: not a bcrypt hash" in line
    assert "plain-text-password" not in line


# --- help and version ------------------------------------------------------------------------------


def test_help_lists_every_registered_collector() -> None:
    result = run_exporter("--help")
    assert result.returncode == 0
    listed = set(re.findall(r"^ +--collector\.([\w-]+)\s", result.stdout, re.MULTILINE))
    assert sorted(set(COLLECTORS) - listed) == []


def test_version_prints_name_and_version() -> None:
    result = run_exporter("--version")
    assert (result.returncode, result.stdout) == (0, f"y2s-exporter {__version__}\n")


# --- a good run --------------------------------------------------------------------------------------


@pytest.fixture
def running(processes: Callable[..., Process]) -> tuple[Process, str]:
    """The exporter started with valid flags, answering on 127.0.0.1."""
    port = free_port()
    proc = processes(exporter_command(f"--web.listen-address=127.0.0.1:{port}"), cwd=REPO)
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for_url(url, proc)
    return proc, url


def test_started_exporter_answers_metrics(running: tuple[Process, str]) -> None:
    status, _, body = http_get(running[1])
    assert status == 200
    assert b"node_cpu_seconds_total{" in body


def test_sigterm_exits_0_within_a_few_seconds(running: tuple[Process, str]) -> None:
    proc = running[0]
    start = time.monotonic()
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.popen.wait(timeout=10) == 0
    assert time.monotonic() - start < 3


def test_sigterm_leaves_no_traceback(running: tuple[Process, str]) -> None:
    proc = running[0]
    proc.popen.send_signal(signal.SIGTERM)
    proc.popen.wait(timeout=10)
    assert "Traceback" not in proc.output()
