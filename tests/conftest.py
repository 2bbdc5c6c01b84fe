"""Shared helpers: real binaries (fail under CI=true when missing), free ports, bounded waits."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# Prometheus 2.42's Accept header for scrapes, byte for byte.
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def binary(name: str) -> str:
    """Path of a real binary; skipped locally when missing, a failure under CI=true."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not on PATH; scripts/test installs it (CI=true: missing binaries fail)")
        pytest.skip(f"{name} is not installed; run scripts/test as root to install it")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``check`` every 0.1 s until it is true; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def http_get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, dict[str, str], bytes]:
    """GET returning (status, headers, body) for any status."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


# --- processes and URLs (appended: shared by the CLI and integration tests) ---------------------------


class Process:
    """A real program, its stdout and stderr going to one log file; stop it (`stop`) in a teardown."""

    def __init__(self, args: Sequence[str], log: Path, **kwargs: Any) -> None:
        self.args = list(args)
        self.log = log
        with open(log, "wb") as out:
            self.popen = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, **kwargs)

    def output(self) -> str:
        """Everything the program printed so far."""
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL; the exit status."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        return self.popen.returncode


def exporter_command(*flags: str) -> list[str]:
    """The real exporter command, ``python -m exporter FLAGS``, with this interpreter."""
    return [sys.executable, "-m", "exporter", *flags]


def start_exporter(workdir: Path, *flags: str) -> tuple[Process, str]:
    """The exporter with ``flags`` on a free 127.0.0.1 port, logging to ``workdir/exporter.log``;
    ``(process, host:port)``, not yet waited for (`wait_for_url` its ``/metrics``)."""
    address = f"127.0.0.1:{free_port()}"
    repo = Path(__file__).resolve().parent.parent
    proc = Process(
        exporter_command(f"--web.listen-address={address}", *flags), workdir / "exporter.log", cwd=repo
    )
    return proc, address


def wait_for_url(
    url: str,
    process: Process | None = None,
    timeout: float = 20.0,
    context: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Wait until ``url`` answers 200; fail at once (with its output) if ``process`` exits meanwhile."""

    def ready() -> bool:
        if process is not None and process.popen.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.popen.returncode}:\n{process.output()}")
        req = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=2, context=context) as resp:
                return bool(resp.status == 200)
        except urllib.error.HTTPError:
            return False

    wait_for(ready, timeout=timeout, what=url)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start real programs (``processes(args, **popen_kwargs)``); all are stopped at teardown."""
    started: list[Process] = []

    def start(args: Sequence[str], **kwargs: Any) -> Process:
        proc = Process(args, tmp_path / f"process-{len(started)}.log", **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


def locust_env(**extra: str) -> dict[str, str]:
    """The environment for a real Locust subprocess: gevent's monkey patching on (the root conftest
    turns it off for this process), the repository importable."""
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def start_prometheus(workdir: Path, targets: dict[str, list[str]]) -> tuple[Process, str]:
    """The real Prometheus on the committed `prometheus.yml` and rules, staged with ``targets`` (job ->
    ``host:port``; its own job is added), on a free port; ``(process, base URL)`` once it is ready.
    The caller stops the process."""
    from alerting import stage_prometheus  # noqa: PLC0415  (only the tests that run Prometheus need it)
    from stack._parts import RESEND_DELAY  # noqa: PLC0415

    port = free_port()
    config = stage_prometheus(workdir / "prometheus", {"prometheus": [f"127.0.0.1:{port}"], **targets})
    proc = Process(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            "--log.level=warn",
            RESEND_DELAY,  # as the stack runs it
        ],
        workdir / "prometheus.log",
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_url(f"{url}/-/ready", proc, timeout=30)
    except BaseException:
        proc.stop()
        raise
    return proc, url
