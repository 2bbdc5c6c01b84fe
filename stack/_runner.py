"""Start the native stack's parts, wait until each is healthy, and stop exactly what was started.

Every part runs in its own session (process group), so stopping it also stops its children
(uvicorn's workers). The pids, with the command line each was started with, go to
``<state>/pids.json``; ``stop`` signals only processes whose command line still matches, so a pid
reused by something else is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alerting import stage_alertmanager

from ._parts import PARTS, ROOT, Context, Part, grafana_available

HEALTH_TIMEOUT = 45.0  # seconds a part has to answer its health check
STOP_TIMEOUT = 10.0


class StackError(Exception):
    """Why the stack cannot start or stop; one line."""


@dataclass
class Started:
    part: Part
    popen: subprocess.Popen[bytes]


def selected_parts(grafana: bool | None) -> list[Part]:
    """The parts to run: Grafana when asked for, or when it is on PATH and not refused."""
    want_grafana = grafana_available() if grafana is None else grafana
    return [p for p in PARTS if p.name != "grafana" or want_grafana]


def preflight(parts: Sequence[Part]) -> None:
    """Binaries present, ports free, configs valid; a `StackError` naming the first problem."""
    for part in parts:
        if part.name == "grafana":
            if not grafana_available():
                raise StackError("grafana: no grafana or grafana-server on PATH (run without --grafana)")
        elif part.binary is not None and shutil.which(part.binary) is None:
            raise StackError(
                f"{part.name}: {part.binary} is not on PATH (Debian: apt-get install {part.binary})"
            )
    for part in parts:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", part.port))
            except OSError:
                raise StackError(f"{part.name}: port {part.port} on 127.0.0.1 is already in use") from None
    names = {p.name for p in parts}
    if "prometheus" in names:
        _check(
            ["promtool", "check", "config", str(ROOT / "alerting" / "prometheus.yml")], "prometheus config"
        )
    if "alertmanager" in names:
        config = ROOT / "alerting" / "alertmanager" / "alertmanager.yml"
        _check(["amtool", "check-config", str(config)], "alertmanager config")


def _check(command: list[str], what: str) -> None:
    if shutil.which(command[0]) is None:
        raise StackError(f"{what}: {command[0]} is not on PATH")
    run = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if run.returncode != 0:
        lines = [line.strip() for line in (run.stdout + run.stderr).splitlines() if line.strip()]
        detail = next(
            (line for line in lines if "FAILED" in line or "error" in line.lower()),
            lines[-1] if lines else "",
        )
        raise StackError(f"{what} is broken: {detail}")


def prepare(ctx: Context) -> None:
    """The state directory: logs, the Alertmanager config dir with a fresh bearer token."""
    ctx.logs.mkdir(parents=True, exist_ok=True)
    token = ctx.token_file.read_text().strip() if ctx.token_file.exists() else secrets.token_urlsafe(24)
    stage_alertmanager(ctx.state / "alertmanager", token)


def _healthy(part: Part) -> bool:
    try:
        with urllib.request.urlopen(part.url() + part.health, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def start(ctx: Context, parts: Sequence[Part], say: object = print) -> list[Started]:
    """Start ``parts`` in order, each healthy before the next; on a failure stop them all and raise."""
    started: list[Started] = []
    try:
        for part in parts:
            log = ctx.logs / f"{part.name}.log"
            env = {**os.environ, "PYTHONPATH": str(ROOT), **part.env(ctx)}
            with open(log, "ab") as out:
                popen = subprocess.Popen(
                    part.command(ctx),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    env=env,
                    start_new_session=True,
                )
            started.append(Started(part, popen))
            _record(ctx, started)
            deadline = time.monotonic() + HEALTH_TIMEOUT
            while not _healthy(part):
                if popen.poll() is not None:
                    raise StackError(
                        f"{part.name} exited with status {popen.returncode}: {_last_line(log)} (log: {log})"
                    )
                if time.monotonic() > deadline:
                    raise StackError(f"{part.name} not healthy after {HEALTH_TIMEOUT:.0f}s (log: {log})")
                time.sleep(0.2)
            if callable(say):
                say(f"  {part.name:<15} {part.url()}")
    except BaseException:
        stop_started(started)
        _record(ctx, [])
        raise
    return started


def _record(ctx: Context, started: Sequence[Started]) -> None:
    data = {s.part.name: {"pid": s.popen.pid, "cmdline": s.popen.args} for s in started}
    path = ctx.state / "pids.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    tmp.replace(path)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_started(started: Sequence[Started]) -> None:
    """SIGTERM each part's process group, newest first; SIGKILL what is left after the timeout."""
    for s in reversed(started):
        if s.popen.poll() is None:
            _signal_group(s.popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for s in reversed(started):
        try:
            s.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(s.popen.pid, signal.SIGKILL)
            s.popen.wait(STOP_TIMEOUT)
        _signal_group(s.popen.pid, signal.SIGKILL)  # children left in the group (workers)


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def stop_recorded(ctx: Context) -> list[str]:
    """Stop the parts a detached ``up`` recorded in ``pids.json``; the names stopped."""
    path = ctx.state / "pids.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    stopped = []
    for name, entry in reversed(list(data.items())):
        pid, cmdline = int(entry["pid"]), [str(a) for a in entry["cmdline"]]
        if _cmdline(pid) != cmdline:
            continue  # gone, or the pid now belongs to another program
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _cmdline(pid) == cmdline and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(pid, signal.SIGKILL)
        stopped.append(name)
    path.unlink(missing_ok=True)
    return stopped
