"""The command: flags, one-line errors with exit 2, and the real server on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Process, free_port, http_get, wait_for, wait_for_url
from youtube2sheets.simulator import Catalogue
from youtube2sheets.simulator.cli import PROG, main, parse_config

ROOT = Path(__file__).resolve().parents[3]


def command(*flags: str) -> list[str]:
    return [sys.executable, "-m", "youtube2sheets.simulator", *flags]


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = http_get(url)
    return status, json.loads(body)


def metric(base: str, line: str) -> bool:
    return line in http_get(f"{base}/metrics")[2].decode()


def test_flags_fill_the_config() -> None:
    config = parse_config(
        ["--seed", "7", "--daily-quota", "500", "--latency-median-ms", "20", "--latency-sigma", "0.5"]
    )
    assert (config.seed, config.daily_quota, config.latency_median_ms, config.latency_sigma) == (
        7,
        500,
        20.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--port", "abc"], "argument --port: invalid int value: 'abc'"),
        (["--port", "70000"], "argument --port: expected a whole number from 0 to 65535, got 70000"),
        (["--daily-quota", "-1"], "argument --daily-quota: expected a whole number from 0"),
        (["--latency-sigma", "9"], "argument --latency-sigma: expected a number from 0.0 to 5.0, got 9.0"),
        (["--latency-median-ms", "nan"], "argument --latency-median-ms: expected a number"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_print_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(flags) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m youtube2sheets.simulator: error: ")
    assert message in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--host", "127.0.0.1", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"{PROG}: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_the_real_command_exits_2_on_a_bad_flag() -> None:
    done = subprocess.run(
        command("--seed", "x"), cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr == "python -m youtube2sheets.simulator: error: argument --seed: invalid int value: 'x'\n"
    )


@pytest.fixture
def server(processes: Callable[..., Process]) -> tuple[str, Process]:
    port = free_port()
    flags = (
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--seed",
        "42",
        "--latency-median-ms",
        "1",
        "--log-level",
        "warning",
    )
    proc = processes(command(*flags), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait_for_url(f"{base}/healthz", proc, timeout=30)
    return base, proc


def test_the_real_server_serves_the_catalogue_of_its_seed(server: tuple[str, Process]) -> None:
    base, _ = server
    channel = Catalogue(42).channels[4]
    status, listed = get_json(f"{base}/admin/channels")
    assert status == 200 and listed["channels"][4]["id"] == channel.id
    status, body = get_json(
        f"{base}/youtube/v3/playlistItems?part=contentDetails&maxResults=50&key=k&playlistId={channel.uploads}"
    )
    assert (
        status == 200
        and body["items"][0]["contentDetails"]["videoId"] == Catalogue(42).video_at(channel, 0).id
    )
    assert metric(base, 'youtube_simulator_requests_total{method="playlistItems.list",status="200"} 1.0')


def test_the_real_server_stops_on_sigterm(server: tuple[str, Process]) -> None:
    _, proc = server
    assert proc.stop() == -signal.SIGTERM  # uvicorn shuts down, then re-raises the signal it caught


def test_a_client_leaving_a_held_request_ends_it(server: tuple[str, Process]) -> None:
    base, _ = server
    fault = json.dumps({"kind": "timeout", "delay_ms": 600_000}).encode()
    added = urllib.request.Request(
        f"{base}/admin/faults", data=fault, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(added, timeout=10) as response:
        assert response.status == 201
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /youtube/v3/videos?part=id&id=x&key=k HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        held = 'youtube_simulator_faults_fired_total{kind="timeout",status="504"} 1.0'
        wait_for(lambda: metric(base, held), timeout=10, what="the request to be held")
    # closed: the held request ends now, not after ten minutes
    gone = 'youtube_simulator_requests_total{method="videos.list",status="499"} 1.0'
    wait_for(lambda: metric(base, gone), timeout=10, what="the held request to end")
