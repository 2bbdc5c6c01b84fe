"""Every piece of the library, used in real worker processes, adds up exactly across the workers."""

from __future__ import annotations

import contextlib
import multiprocessing
import wsgiref.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from exporter.instrumentation import (
    ApiCaller,
    FileLedger,
    MetricSet,
    MultiProcessCollector,
    PrometheusWSGIMiddleware,
    QuotaTracker,
    cached,
    enable_multiprocess,
    observed,
    sqlite_connect,
)

CTX = multiprocessing.get_context("spawn")
WORKERS = 3


class _Ok:
    status_code, headers = 200, {}


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def worker(directory: str, ledger: str) -> None:
    """One worker's day: calls, cache lookups, HTTP requests, queries and API calls; exits normally."""
    metrics = MetricSet()
    enable_multiprocess(metrics, directory, interval=3600)  # only the exit hook publishes

    @observed(name="sync_sheet", module="worker", metrics=metrics)
    def sync_sheet(fail: bool) -> None:
        if fail:
            raise ValueError("bad sheet")

    @cached(ttl=3600, maxsize=10, name="videos", metrics=metrics)
    def video(video_id: str) -> str:
        return video_id.upper()

    for i in range(7):
        with contextlib.suppress(ValueError):
            sync_sheet(i % 3 == 0)  # 0, 3, 6 fail
    for video_id in ("a", "b", "c") * 4:
        video(video_id)
    app = PrometheusWSGIMiddleware(_app, route_of=lambda env: "/api/videos/{video_id}", metrics=metrics)
    for _ in range(4):
        environ: dict[str, Any] = {"PATH_INFO": "/api/videos/x", "REQUEST_METHOD": "GET"}
        wsgiref.util.setup_testing_defaults(environ)
        body = app(environ, lambda status, headers, exc_info=None: lambda data: None)
        list(body)
        getattr(body, "close", lambda: None)()
    with sqlite_connect(":memory:", db="main", metrics=metrics) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("SELECT x FROM t").fetchall()
    quota = QuotaTracker("youtube", ledger=FileLedger(ledger), metrics=metrics)
    caller = ApiCaller("youtube", quota=quota, metrics=metrics)
    for _ in range(3):
        caller.call("videos.list", _Ok)


def test_every_piece_adds_up_across_worker_processes(tmp_path: Path) -> None:
    directory, ledger = tmp_path / "mp", str(tmp_path / "quota.json")
    directory.mkdir()
    procs = [CTX.Process(target=worker, args=(str(directory), ledger)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    registry = CollectorRegistry()
    registry.register(MultiProcessCollector(str(directory)))
    value = registry.get_sample_value
    fn = {"function": "sync_sheet", "module": "worker"}
    assert value("function_calls_total", {**fn, "result": "ok"}) == 4 * WORKERS
    assert value("function_calls_total", {**fn, "result": "error"}) == 3 * WORKERS
    assert value("function_errors_total", {**fn, "exception": "ValueError"}) == 3 * WORKERS
    assert value("function_call_duration_seconds_count", fn) == 7 * WORKERS
    assert value("cache_requests_total", {"cache": "videos", "result": "hit"}) == 9 * WORKERS
    assert value("cache_requests_total", {"cache": "videos", "result": "miss"}) == 3 * WORKERS
    http = {"method": "GET", "route": "/api/videos/{video_id}"}
    assert value("http_requests_total", {**http, "status": "200"}) == 4 * WORKERS
    assert value("http_request_duration_seconds_count", http) == 4 * WORKERS
    assert value("db_queries_total", {"db": "main", "operation": "select"}) == WORKERS
    assert value("db_queries_total", {"db": "main", "operation": "insert"}) == WORKERS
    assert value(
        "api_client_requests_total", {"api": "youtube", "method": "videos.list", "status_class": "2xx"}
    ) == (3 * WORKERS)
    assert value("api_quota_units_used_total", {"api": "youtube", "method": "videos.list"}) == 3 * WORKERS
    # The quota is one per API key: the workers share the ledger, so the last word is the shared total.
    assert value("api_quota_remaining_units", {"api": "youtube"}) == 10_000 - 3 * WORKERS
