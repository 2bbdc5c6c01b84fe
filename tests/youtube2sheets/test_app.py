"""End to end over real HTTP: the service (2 workers) against the simulator, both as processes."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.instrumentation import MetricSet
from tests.youtube2sheets.conftest import (
    BIG,
    CATALOGUE,
    SMALL,
    Stack,
    metric,
    running_stack,
    samples,
    scrape_until,
)
from youtube2sheets.app import SERVER_ERRORS, create_app
from youtube2sheets.config import Settings


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("app")) as running:
        yield running


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def synced(api: httpx.Client) -> dict[str, Any]:
    """The 237-video channel synced once into the sheet ``big``: the first sync's answer."""
    response = api.post("/api/sync", json={"channel_id": BIG.id, "sheet": "big"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def all_rows(api: httpx.Client, sheet: str, **params: str) -> list[dict[str, Any]]:
    """Every row of a sheet, page by page (50 a page)."""
    rows: list[dict[str, Any]] = []
    for page in range(1, 100):
        body = api.get(f"/api/sheets/{sheet}/rows", params={"page": str(page), **params}).json()
        rows += body["rows"]
        if len(rows) >= body["total"]:
            return rows
    raise AssertionError("more pages than a sheet of this size has")


def test_a_sync_of_the_237_video_channel_inserts_every_video(synced: dict[str, Any]) -> None:
    assert {k: synced[k] for k in ("sheet", "channel_id", "videos", "inserted", "updated", "unchanged")} == {
        "sheet": "big",
        "channel_id": BIG.id,
        "videos": 237,
        "inserted": 237,
        "updated": 0,
        "unchanged": 0,
    }
    assert synced["rows"] == 237
    assert synced["duration_seconds"] > 0


def test_a_second_sync_inserts_nothing_and_keeps_the_rows(api: httpx.Client, synced: dict[str, Any]) -> None:
    before = all_rows(api, "big")
    again = api.post("/api/sync", json={"channel_id": BIG.id, "sheet": "big"}).json()
    assert (again["inserted"], again["updated"], again["unchanged"], again["rows"]) == (0, 0, 237, 237)
    assert all_rows(api, "big") == before


def test_pages_hold_every_video_exactly_once_newest_first(api: httpx.Client, synced: dict[str, Any]) -> None:
    rows = all_rows(api, "big")
    ids = [row["video_id"] for row in rows]
    assert sorted(ids) == sorted(CATALOGUE.video_at(BIG, p).id for p in range(BIG.videos))
    assert [row["published_at"] for row in rows] == sorted(
        (row["published_at"] for row in rows), reverse=True
    )


def test_a_row_carries_the_video_data(api: httpx.Client, synced: dict[str, Any]) -> None:
    newest = CATALOGUE.video_at(BIG, 0)
    row = api.get("/api/sheets/big/rows", params={"per_page": "1"}).json()["rows"][0]
    assert row == {
        "video_id": newest.id,
        "title": newest.title,
        "published_at": newest.published_at,
        "views": newest.views,
        "likes": newest.likes,
        "comments": newest.comments,
        "duration_seconds": newest.duration_seconds,
    }


def test_sorting_by_views_ascending_breaks_ties_by_video_id(
    api: httpx.Client, synced: dict[str, Any]
) -> None:
    body = api.get("/api/sheets/big/rows", params={"sort": "views", "order": "asc", "per_page": "500"}).json()
    keys = [(row["views"], row["video_id"]) for row in body["rows"]]
    assert (body["total"], body["per_page"], len(keys)) == (237, 500, 237)
    assert keys == sorted(keys)


def test_the_csv_has_a_header_and_every_row(api: httpx.Client, synced: dict[str, Any]) -> None:
    response = api.get("/api/sheets/big.csv")
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["video_id", "title", "published_at", "views", "likes", "comments", "duration_seconds"]
    newest = CATALOGUE.video_at(BIG, 0)
    assert len(table) == 1 + 237
    assert table[1] == [newest.id, newest.title, newest.published_at] + [
        str(v) for v in (newest.views, newest.likes, newest.comments, newest.duration_seconds)
    ]


def test_twenty_concurrent_syncs_give_exactly_one_row_per_video(stack: Stack) -> None:
    async def sync_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=stack.service, timeout=60) as client:
            body = {"channel_id": BIG.id, "sheet": "crowd"}
            return await asyncio.gather(*(client.post("/api/sync", json=body) for _ in range(20)))

    responses = asyncio.run(sync_all())
    assert [r.status_code for r in responses] == [200] * 20
    assert {r.json()["rows"] for r in responses} == {237}
    assert max(r.json()["inserted"] for r in responses) == 237
    assert httpx.get(f"{stack.service}/api/sheets/crowd/rows").json()["total"] == 237


def test_transient_503s_are_retried_and_counted(stack: Stack, api: httpx.Client) -> None:
    def retries(text: str) -> float:
        return metric(text, "api_client_retries_total", {"method": "videos.list", "reason": "status_5xx"})

    before = retries(httpx.get(f"{stack.service}/metrics").text)
    fault = {"kind": "error", "status": 503, "count": 2, "methods": ["videos.list"]}
    assert httpx.post(f"{stack.simulator}/admin/faults", json=fault).status_code in (200, 201)
    try:
        response = api.post("/api/sync", json={"channel_id": SMALL.id, "sheet": "flaky"})
        fired = httpx.get(f"{stack.simulator}/admin/faults").json()["faults"][0]["fired"]
    finally:
        httpx.delete(f"{stack.simulator}/admin/faults")
    assert response.status_code == 200, response.text
    assert (response.json()["rows"], fired) == (50, 2)
    scrape_until(f"{stack.service}/metrics", lambda text: retries(text) == before + 2)


def test_video_cache_misses_at_most_once_per_worker(stack: Stack, synced: dict[str, Any]) -> None:
    def lookups(text: str, result: str) -> float:
        return metric(text, "cache_requests_total", {"cache": "videos", "result": result})

    text = httpx.get(f"{stack.service}/metrics").text
    hits, misses = lookups(text, "hit"), lookups(text, "miss")
    video = CATALOGUE.video_at(BIG, 5)
    for _ in range(30):  # a new connection each time: both workers answer some
        response = httpx.get(f"{stack.service}/api/videos/{video.id}")
        assert (response.status_code, response.json()["title"]) == (200, video.title)
    text = scrape_until(
        f"{stack.service}/metrics", lambda t: lookups(t, "hit") + lookups(t, "miss") >= hits + misses + 30
    )
    assert lookups(text, "miss") - misses <= 2
    assert lookups(text, "hit") - hits >= 28


def test_an_unknown_video_is_404_and_never_cached(stack: Stack, api: httpx.Client) -> None:
    def misses(text: str) -> float:
        return metric(text, "cache_requests_total", {"cache": "videos", "result": "miss"})

    before = misses(httpx.get(f"{stack.service}/metrics").text)
    answers = [api.get("/api/videos/AAAAAAAAAAA") for _ in range(3)]
    assert [(a.status_code, a.json()["field"]) for a in answers] == [(404, "video_id")] * 3
    scrape_until(f"{stack.service}/metrics", lambda text: misses(text) == before + 3)


BAD_SYNCS = [
    (b"not json", None),
    (b'["a list"]', None),
    (b'{"sheet": "s"}', "channel_id"),
    (b'{"channel_id": "UCshort", "sheet": "s"}', "channel_id"),
    (b'{"channel_id": "XX' + b"a" * 22 + b'", "sheet": "s"}', "channel_id"),
    (b'{"channel_id": "UC' + b"a" * 22 + b'"}', "sheet"),
    (b'{"channel_id": "UC' + b"a" * 22 + b'", "sheet": "no spaces"}', "sheet"),
    (b'{"channel_id": "UC' + b"a" * 22 + b'", "sheet": "' + b"s" * 65 + b'"}', "sheet"),
    (b'{"channel_id": "UC' + b"a" * 22 + b'", "sheet": 7}', "sheet"),
]


@pytest.mark.parametrize(("body", "field"), BAD_SYNCS)
def test_a_bad_sync_request_is_400_naming_the_field(
    api: httpx.Client, body: bytes, field: str | None
) -> None:
    response = api.post("/api/sync", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"]


def test_an_oversized_sync_body_is_a_json_413(api: httpx.Client) -> None:
    response = api.post("/api/sync", content=b" " * 20_000, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["field"]) == (413, None)


BAD_READS = [
    ("/api/sheets/big/rows?per_page=501", 400, "per_page"),
    ("/api/sheets/big/rows?per_page=0", 400, "per_page"),
    ("/api/sheets/big/rows?page=0", 400, "page"),
    ("/api/sheets/big/rows?page=x", 400, "page"),
    ("/api/sheets/big/rows?sort=rowid", 400, "sort"),
    ("/api/sheets/big/rows?order=up", 400, "order"),
    ("/api/sheets/no%20such/rows", 400, "sheet"),
    ("/api/sheets/nosuch/rows", 404, "sheet"),
    ("/api/sheets/nosuch.csv", 404, "sheet"),
    ("/api/videos/short", 400, "video_id"),
    ("/no/such/route", 404, None),
]


@pytest.mark.parametrize(("path", "status", "field"), BAD_READS)
def test_a_bad_read_is_a_json_error(
    api: httpx.Client, synced: dict[str, Any], path: str, status: int, field: str | None
) -> None:
    response = api.get(path)
    assert (response.status_code, response.json()["field"]) == (status, field)


def test_a_wrong_method_is_a_json_405(api: httpx.Client) -> None:
    response = api.get("/api/sync")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert "not allowed" in response.json()["error"]


def test_another_channel_into_a_sheet_is_409_and_changes_nothing(
    api: httpx.Client, synced: dict[str, Any]
) -> None:
    response = api.post("/api/sync", json={"channel_id": SMALL.id, "sheet": "big"})
    assert (response.status_code, response.json()["field"]) == (409, "sheet")
    assert api.get("/api/sheets/big/rows").json()["total"] == 237


def test_a_channel_unknown_upstream_is_404(api: httpx.Client) -> None:
    response = api.post("/api/sync", json={"channel_id": "UC" + "x" * 22, "sheet": "ghost"})
    assert (response.status_code, response.json()["field"]) == (404, "channel_id")
    assert api.get("/api/sheets/ghost/rows").status_code == 404


def test_healthz_answers_ok(api: httpx.Client) -> None:
    response = api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_metrics_come_from_both_workers(stack: Stack) -> None:
    def pids(text: str) -> set[str]:
        return {labels["pid"] for labels, _ in samples(text, "process_worker_resident_memory_bytes")}

    text = scrape_until(f"{stack.service}/metrics", lambda t: len(pids(t)) == 2, timeout=20)
    assert str(stack.process.popen.pid) not in pids(text)


def test_metrics_label_requests_by_route_template(stack: Stack, synced: dict[str, Any]) -> None:
    httpx.get(f"{stack.service}/api/sheets/big/rows")
    labels = {"method": "GET", "route": "/api/sheets/{sheet}/rows", "status": "200"}
    text = scrape_until(f"{stack.service}/metrics", lambda t: metric(t, "http_requests_total", labels) > 0)
    assert metric(text, "sync_runs_total", {"result": "ok"}) >= 1
    assert metric(text, "db_queries_total", {"db": "youtube2sheets", "operation": "select"}) > 0


def test_the_state_directory_holds_the_database_ledger_and_metrics(stack: Stack) -> None:
    assert {p.name for p in Path(stack.state_dir).iterdir()} >= {"y2s.db", "quota.json", "metrics"}


def test_the_service_primes_its_server_errors_on_every_route() -> None:
    metrics = MetricSet()
    create_app(Settings.from_env({}), metrics=metrics).build_middleware_stack()
    registry = CollectorRegistry()
    registry.register(metrics)
    primed = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for fam in text_string_to_metric_families(generate_latest(registry).decode())
        for s in fam.samples
        if s.name == "http_requests_total"
    }
    assert ("POST", "/api/sync", "502") in primed and ("GET", "/healthz", "503") in primed
    assert {status for _, _, status in primed} == set(SERVER_ERRORS)
    assert not any(route == "/metrics" for _, route, _ in primed)
    assert set(primed.values()) == {0.0}
