"""The native stack: up in < 60 s, the self-test passes, the fault drill's notifications arrive in
time, bad starts leave nothing behind, and stop ends every process it started.

The stack listens on its fixed ports (9090, 9093, 9095, 9111, 8000, 8001): these tests fail, with
one line, when something else (a running stack) holds them."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack._parts import PARTS
from tests.conftest import binary

# Fixed ports (the webhook receiver's 9095, the stack's): scripts/test runs all such tests in one process.
pytestmark = [pytest.mark.integration, pytest.mark.fixed_ports]

REPO = Path(__file__).resolve().parents[2]
PORTS = sorted(p.port for p in PARTS if p.name != "grafana")


def stack(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stack", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def processes_under(state: Path) -> list[str]:
    """Command lines of live processes that mention ``state`` (what a stack on it would run)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(state) in cmdline and "pytest" not in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


def busy_ports(wait: float = 5.0) -> list[int]:
    """The stack's ports still held by something after ``wait`` seconds."""
    end = time.monotonic() + wait
    while True:
        busy = []
        for port in PORTS:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    busy.append(port)
        if not busy or time.monotonic() > end:
            return busy
        time.sleep(0.2)


def require_free_ports() -> None:
    for port in PORTS:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                pytest.fail(
                    f"127.0.0.1:{port} is busy: stop whatever holds it (a running stack?)", pytrace=False
                )


# --- bad starts first: the module's running stack (below) holds the ports until the module ends ---


def test_a_port_in_use_stops_up_with_one_line_and_nothing_started(tmp_path: Path) -> None:
    require_free_ports()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 9093))
        holder.listen()
        run = stack("up", "--detach", "--no-grafana", "--state-dir", str(tmp_path))
    assert run.returncode == 1
    assert run.stderr == "error: alertmanager: port 9093 on 127.0.0.1 is already in use\n"
    assert processes_under(tmp_path) == []


def test_a_missing_binary_stops_up_with_one_line(tmp_path: Path) -> None:
    require_free_ports()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("promtool", "amtool", "prometheus-alertmanager"):
        os.symlink(binary(name), bin_dir / name)
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}"}
    run = stack("up", "--detach", "--no-grafana", "--state-dir", str(tmp_path / "state"), env=env)
    assert run.returncode == 1
    assert run.stderr == "error: prometheus: prometheus is not on PATH (Debian: apt-get install prometheus)\n"
    assert processes_under(tmp_path) == []


def test_a_part_that_dies_at_start_stops_the_others(tmp_path: Path) -> None:
    """A fake prometheus that exits at once: the parts started before it are stopped again."""
    require_free_ports()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("promtool", "amtool", "prometheus-alertmanager"):
        os.symlink(binary(name), bin_dir / name)
    fake = bin_dir / "prometheus"
    fake.write_text("#!/bin/sh\necho 'broken on purpose' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin"}
    state = tmp_path / "state"
    run = stack("up", "--detach", "--no-grafana", "--state-dir", str(state), env=env)
    assert run.returncode == 1
    assert re.fullmatch(
        r"error: prometheus exited with status 3: broken on purpose \(log: .*/prometheus\.log\)\n", run.stderr
    ), run.stderr
    assert busy_ports() == []  # the simulator, service, exporter, webhook and alertmanager were stopped
    assert processes_under(state) == []


# --- a running stack -------------------------------------------------------------------------------


@dataclass
class Up:
    state: Path
    seconds_to_all_targets_up: float


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    binary("prometheus"), binary("prometheus-alertmanager"), binary("amtool"), binary("promtool")
    require_free_ports()
    state = tmp_path_factory.mktemp("stack")
    began = time.monotonic()
    up = stack("up", "--detach", "--no-grafana", "--state-dir", str(state))
    try:
        assert up.returncode == 0, up.stdout + up.stderr

        def all_up() -> bool:
            with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/targets", timeout=5) as resp:
                active = json.load(resp)["data"]["activeTargets"]
            required = [t for t in active if t["labels"]["job"] != "loadgen"]
            return len(required) == 5 and all(t["health"] == "up" for t in required)

        deadline = began + 90
        while not all_up():
            assert time.monotonic() < deadline, "not every target up within 90 s"
            time.sleep(0.5)
        yield Up(state, time.monotonic() - began)
    finally:
        stopped = stack("stop", "--state-dir", str(state))
        assert stopped.returncode == 0, stopped.stderr
        assert busy_ports() == []
        assert processes_under(state) == []


def test_up_brings_every_target_healthy_within_60s(running: Up) -> None:
    print(f"stack up to every target healthy: {running.seconds_to_all_targets_up:.1f}s")
    assert running.seconds_to_all_targets_up < 60


def test_the_selftest_and_the_fault_drill_pass(running: Up) -> None:
    # Run together: the self-test's checks hold while the drill's fault is on (it checks data and
    # delivery, not the absence of alerts), and CI time is saved.
    drill = subprocess.Popen(
        [sys.executable, "-m", "stack", "drill", "--timeout", "300"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        selftest = stack("selftest", timeout=300)
        out, _ = drill.communicate(timeout=420)
    finally:
        if drill.poll() is None:
            drill.kill()
    print(selftest.stdout)
    print(out)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "checks passed" in selftest.stdout
    assert drill.returncode == 0, out
    firing = re.search(r"firing: (\w+) at the (\w+) receiver ([\d.]+)s after the fault \(ok\)", out)
    assert firing is not None, out
    assert re.search(r"resolved: \w+ [\d.]+s after the fault ended", out), out


def test_stop_ends_only_what_the_stack_started(running: Up) -> None:
    pids = json.loads((running.state / "pids.json").read_text())
    assert set(pids) == {p.name for p in PARTS if p.name != "grafana"}
    assert all(Path(f"/proc/{entry['pid']}").exists() for entry in pids.values())
