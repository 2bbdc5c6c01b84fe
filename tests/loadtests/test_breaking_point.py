"""The step shape finds the breaking point of a target whose capacity is known, in a real Locust run.

The target serves at most ``CAPACITY`` requests at a time, each taking ``SERVICE_SECONDS``; users wait
for nothing, so each keeps one request in flight. Up to ``CAPACITY`` users a request takes
``SERVICE_SECONDS`` (300 ms); beyond, requests queue and take ``users / CAPACITY`` times as long
(450 ms at 6 users), past the ``p95<420`` gate. The gate sits just under that floor: CPU noise only
ever adds latency, so it is the 4-user step that needs the room. Climbing 2, 4, 6, ... users
(3 s a step, 1 s windows), the shape must stop at 6 and report 4 users at about
CAPACITY / SERVICE_SECONDS = 13.3 req/s. About 11 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import locust_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CAPACITY = 4
SERVICE_SECONDS = 0.3


class CapacityServer(ThreadingHTTPServer):
    """At most ``capacity`` requests served at a time, each holding its slot ``service_seconds``."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, capacity: int, service_seconds: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slots = threading.Semaphore(capacity)
        self.service_seconds = service_seconds
        self.served = 0
        self.lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: when the test stops, Locust drops connections with requests still in flight."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection per user
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: CapacityServer

    def do_GET(self) -> None:
        if self.path != "/healthz":  # the plugin's preflight is answered at once
            with self.server.slots:
                time.sleep(self.server.service_seconds)
            with self.server.lock:
                self.server.served += 1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def target() -> Iterator[CapacityServer]:
    server = CapacityServer(CAPACITY, SERVICE_SECONDS)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_step_shape_reports_the_known_capacity_as_breaking_point(
    target: CapacityServer, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    args = [
        *(str(Path(sys.executable).with_name("locust")), "--headless", "--loglevel", "INFO"),
        *("-f", "tests/loadtests/locustfiles/shapes_user.py,loadtests/shapes/step.py"),
        *("-H", f"http://127.0.0.1:{target.server_address[1]}"),
        *("--thresholds", "p95<420", "--window-seconds", "1", "--consecutive-windows", "3"),
        *("--step-start-users", "2", "--step-users", "2", "--step-seconds", "3", "--step-max-users", "12"),
        *("--step-spawn-rate", "20", "--results-dir", str(results), "--metrics-port", "0"),
    ]
    began = time.monotonic()
    proc = subprocess.run(
        args, check=False, cwd=ROOT, env=locust_env(), capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - began
    output = proc.stdout + proc.stderr
    assert (results / "summary.json").is_file(), output
    summary = json.loads((results / "summary.json").read_text())

    point = summary["breaking_point"]
    assert point is not None, output
    assert point["users"] == CAPACITY, output
    assert 0.75 * CAPACITY / SERVICE_SECONDS <= point["rps"] <= 1.05 * CAPACITY / SERVICE_SECONDS, output
    assert summary["start"] <= point["window_start"] <= summary["end"]
    datetime.fromisoformat(point["window_start"])
    # it stopped in the first overloaded step (6 users, 6 to 9 s), long before the 12-user top (18 s)
    start, end = (datetime.fromisoformat(summary[k]) for k in ("start", "end"))
    assert (end - start).total_seconds() < 12, output
    assert took < 30, output
    assert "breaking point: 4 users" in output
    # the overloaded windows are in the whole run too: its p95 fails, so the run fails (exit code 1)
    assert (proc.returncode, summary["exit_code"], summary["verdict"]) == (1, 1, "fail"), output
    # every request Locust counted was served; those in flight when the users were stopped were not counted
    assert summary["total"] <= target.served <= summary["total"] + 12
