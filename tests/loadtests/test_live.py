"""The live metrics: exact counts across drains and merges, the histogram, the gate metrics, serving."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from loadtests.gates import Result
from loadtests.live import Aggregate, LiveMetrics, annotate, serve
from loadtests.thresholds import parse
from tests.conftest import binary

NAMES = {
    "loadtest_requests",
    "loadtest_failures",
    "loadtest_request_duration_seconds",
    "loadtest_users",
    "loadtest_workers",
    "loadtest_threshold_value",
    "loadtest_threshold_passed",
    "loadtest_threshold_limit",
    "loadtest_verdict",
    "loadtest_run_start_timestamp_seconds",
    "loadtest_run_info",
}


def exposition(live: LiveMetrics) -> str:
    registry = CollectorRegistry()
    registry.register(live)
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def live() -> LiveMetrics:
    metrics = LiveMetrics(users=lambda: 7, workers=lambda: 2, shape="StepLoadShape", host="http://t")
    metrics.start = 1714564800.0
    return metrics


def test_observe_counts_requests_and_failures_per_method_and_name() -> None:
    agg = Aggregate()
    agg.observe("GET", "/a", 1.0, failed=False)
    agg.observe("GET", "/a", 1.0, failed=True)
    agg.observe("POST", "/a", 1.0, failed=False)
    assert agg.totals() == {("GET", "/a"): (2, 1), ("POST", "/a"): (1, 0)}


def test_drain_then_merge_adds_up_to_the_same_counts_as_one_aggregate() -> None:
    worker_a, worker_b, master, alone = Aggregate(), Aggregate(), Aggregate(), Aggregate()
    for i in range(300):
        worker = worker_a if i % 3 else worker_b
        for agg in (worker, alone):
            agg.observe("GET", f"/n{i % 4}", float(i * 7 % 3000), failed=i % 11 == 0)
        if i % 50 == 0:
            master.merge(worker_a.drain())
    master.merge(worker_a.drain())
    master.merge(worker_b.drain())
    assert master.totals() == alone.totals()
    assert [(m, n, s.buckets, round(s.total_seconds, 9)) for m, n, s in master.series()] == [
        (m, n, s.buckets, round(s.total_seconds, 9)) for m, n, s in alone.series()
    ]


def test_drain_forgets_what_it_returned() -> None:
    agg = Aggregate()
    agg.observe("GET", "/a", 1.0, failed=False)
    agg.drain()
    assert agg.drain()["series"] == []


def test_drain_is_json_safe() -> None:
    agg = Aggregate()
    agg.observe("GET", "/a", 1.0, failed=True)
    assert json.loads(json.dumps(agg.drain()))["series"] == [["GET", "/a", 1, 1, 0.001, [1] + [0] * 12]]


def test_a_latency_on_a_bound_counts_in_that_bucket() -> None:
    live = LiveMetrics()
    live.aggregate.observe("GET", "/a", 2000.0, failed=False)
    live.aggregate.observe("GET", "/a", 2000.1, failed=False)
    found = samples(exposition(live))
    key = "loadtest_request_duration_seconds_bucket"
    assert found[key, (("le", "1.0"), ("method", "GET"), ("name", "/a"))] == 0
    assert found[key, (("le", "2.0"), ("method", "GET"), ("name", "/a"))] == 1
    assert found[key, (("le", "2.5"), ("method", "GET"), ("name", "/a"))] == 2
    assert found[key, (("le", "+Inf"), ("method", "GET"), ("name", "/a"))] == 2


def test_merge_refuses_other_buckets() -> None:
    with pytest.raises(ValueError, match="cannot merge buckets"):
        Aggregate().merge(Aggregate([0.5, 2.0]).drain())


@pytest.mark.parametrize("buckets", [[2.0, 1.0], [1.0, 1.0], [1.0, float("inf")]])
def test_buckets_must_be_finite_and_ascending(buckets: list[float]) -> None:
    with pytest.raises(ValueError, match="strictly ascending"):
        Aggregate(buckets)


def test_exposition_has_exactly_the_documented_families(live: LiveMetrics) -> None:
    live.aggregate.observe("GET", "/a", 5.0, failed=False)
    live.set_limits([parse("p95<2000")])
    live.set_results([Result(parse("p95<2000"), "window", 5.0, True, 0.0, 10.0)])
    live.verdict = True
    names = {family.name for family in text_string_to_metric_families(exposition(live))}
    assert names == NAMES


def test_counts_users_workers_and_run_info(live: LiveMetrics) -> None:
    live.aggregate.observe("GET", "/a", 5.0, failed=True)
    found = samples(exposition(live))
    assert found["loadtest_requests_total", (("method", "GET"), ("name", "/a"))] == 1
    assert found["loadtest_failures_total", (("method", "GET"), ("name", "/a"))] == 1
    assert found["loadtest_users", ()] == 7
    assert found["loadtest_workers", ()] == 2
    assert found["loadtest_run_start_timestamp_seconds", ()] == 1714564800.0
    assert found["loadtest_run_info", (("host", "http://t"), ("shape", "StepLoadShape"))] == 1


def test_gates_are_published_per_threshold_and_scope(live: LiveMetrics) -> None:
    p95, rps = parse("p95<2000"), parse("rps>1000")
    live.set_limits([p95, rps])
    live.set_results([Result(p95, "window", 2500.0, False, 0, 10), Result(rps, "run", 1200.0, True, 0, 10)])
    live.verdict = False
    found = samples(exposition(live))
    assert found["loadtest_threshold_value", (("scope", "window"), ("threshold", "p95<2000"))] == 2500
    assert found["loadtest_threshold_passed", (("scope", "window"), ("threshold", "p95<2000"))] == 0
    assert found["loadtest_threshold_passed", (("scope", "run"), ("threshold", "rps>1000"))] == 1
    assert found["loadtest_threshold_limit", (("threshold", "rps>1000"),)] == 1000
    assert found["loadtest_verdict", ()] == 0


def test_no_verdict_and_no_start_before_they_are_known() -> None:
    text = exposition(LiveMetrics())
    assert "loadtest_verdict" not in text
    assert "loadtest_run_start_timestamp_seconds" not in text


def test_a_later_result_replaces_the_earlier_one_of_its_scope(live: LiveMetrics) -> None:
    p95 = parse("p95<2000")
    live.set_results([Result(p95, "window", 2500.0, False, 0, 10)])
    live.set_results([Result(p95, "window", 100.0, True, 10, 20)])
    found = samples(exposition(live))
    assert found["loadtest_threshold_value", (("scope", "window"), ("threshold", "p95<2000"))] == 100


@pytest.mark.integration
def test_promtool_accepts_the_exposition(live: LiveMetrics, tmp_path: Any) -> None:
    live.aggregate.observe("GET", "/api/videos/[id]", 5.0, failed=False)
    live.set_limits([parse("p95<2000")])
    live.set_results([Result(parse("p95<2000"), "run", 5.0, True, 0.0, 10.0)])
    live.verdict = True
    proc = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=exposition(live),
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_serve_answers_on_the_port_until_stopped(live: LiveMetrics) -> None:
    server = serve(live, "127.0.0.1", 0)
    try:
        with urllib.request.urlopen(server.url, timeout=5) as resp:
            assert b"loadtest_users 7.0" in resp.read()
    finally:
        server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


def test_serve_on_a_taken_port_raises_oserror(live: LiveMetrics) -> None:
    server = serve(live, "127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            serve(LiveMetrics(), "127.0.0.1", server.port)
    finally:
        server.stop()


class _Grafana(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict[str, Any], str | None]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posts.append((self.path, body, self.headers.get("Authorization")))
        answer = json.dumps({"id": len(self.posts), "message": "Annotation added"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def grafana() -> Iterator[tuple[str, list[tuple[str, dict[str, Any], str | None]]]]:
    posts: list[tuple[str, dict[str, Any], str | None]] = []
    handler = type("Handler", (_Grafana,), {"posts": posts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", posts
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_annotate_posts_time_tags_text_and_token(
    grafana: tuple[str, list[tuple[str, dict[str, Any], str | None]]],
) -> None:
    url, posts = grafana
    assert annotate(url, 1714564800.25, ["loadtest", "start"], "started", token="t0k") == 1
    assert posts == [
        (
            "/api/annotations",
            {"time": 1714564800250, "tags": ["loadtest", "start"], "text": "started"},
            "Bearer t0k",
        )
    ]


def test_annotate_without_a_token_sends_no_authorization(
    grafana: tuple[str, list[tuple[str, dict[str, Any], str | None]]],
) -> None:
    url, posts = grafana
    annotate(url, 1.0, ["loadtest"], "x")
    assert posts[0][2] is None
