"""The endpoints in-process (the app in its lifespan, the simulator its transport): what HTTP hides."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from exporter.instrumentation import MetricSet
from tests.youtube2sheets.conftest import SEED, SMALL, no_sleep_retry, value
from youtube2sheets import db
from youtube2sheets.api import SHEET as SHEET_NAME
from youtube2sheets.api import checked
from youtube2sheets.app import create_app
from youtube2sheets.config import Settings
from youtube2sheets.errors import BadRequest
from youtube2sheets.simulator import SimulatorConfig
from youtube2sheets.simulator import create_app as create_simulator

Scenario = Callable[[httpx.AsyncClient, Starlette, MetricSet], Awaitable[Any]]


@contextlib.asynccontextmanager
async def service(tmp_path: Path, metrics: MetricSet) -> AsyncIterator[tuple[httpx.AsyncClient, Starlette]]:
    sim = create_simulator(SimulatorConfig(seed=SEED, latency_median_ms=0))
    settings = Settings(state_dir=tmp_path, youtube_url="http://simulator/youtube/v3")
    app = create_app(
        settings, metrics=metrics, transport=httpx.ASGITransport(app=sim), retry=no_sleep_retry()
    )
    async with (
        sim.router.lifespan_context(sim),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client,
    ):
        yield client, app


def run(tmp_path: Path, scenario: Scenario) -> Any:
    async def main() -> Any:
        metrics = MetricSet()
        async with service(tmp_path, metrics) as (client, app):
            return await scenario(client, app, metrics)

    return asyncio.run(main())


def test_a_cached_video_costs_no_query(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette, metrics: MetricSet) -> float:
        await client.post("/api/sync", json={"channel_id": SMALL.id, "sheet": "s"})
        video_id = (await client.get("/api/sheets/s/rows")).json()["rows"][0]["video_id"]
        await client.get(f"/api/videos/{video_id}")
        queries = value(metrics, "db_queries_total")
        for _ in range(10):
            assert (await client.get(f"/api/videos/{video_id}")).status_code == 200
        return value(metrics, "db_queries_total") - queries

    assert run(tmp_path, scenario) == 0


def test_a_sync_that_changes_a_video_drops_it_from_the_cache(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette, metrics: MetricSet) -> tuple[int, int, int]:
        await client.post("/api/sync", json={"channel_id": SMALL.id, "sheet": "s"})
        row = (await client.get("/api/sheets/s/rows")).json()["rows"][0]
        with contextlib.closing(db.connect(app.state.worker.database, metrics=MetricSet())) as conn:
            conn.execute("UPDATE videos SET views = -1 WHERE video_id = ?", (row["video_id"],))
        stale = (await client.get(f"/api/videos/{row['video_id']}")).json()["views"]  # cached now
        await client.post("/api/sync", json={"channel_id": SMALL.id, "sheet": "s"})  # restores the views
        return row["views"], stale, (await client.get(f"/api/videos/{row['video_id']}")).json()["views"]

    views, stale, after = run(tmp_path, scenario)
    assert (stale, after) == (-1, views)


def test_healthz_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette, metrics: MetricSet) -> tuple[int, str]:
        app.state.worker.reader.close()
        response = await client.get("/healthz")
        return response.status_code, response.json()["status"]

    assert run(tmp_path, scenario) == (503, "unavailable")


def test_without_instrumentation_there_is_no_metrics_endpoint(tmp_path: Path) -> None:
    async def main() -> int:
        sim = create_simulator(SimulatorConfig(seed=SEED, latency_median_ms=0))
        settings = Settings(state_dir=tmp_path, instrumentation=False)
        app = create_app(settings, metrics=MetricSet(), transport=httpx.ASGITransport(app=sim))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as client,
        ):
            return (await client.get("/metrics")).status_code

    assert asyncio.run(main()) == 404


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "dot.csv", "ünï"])
def test_a_bad_sheet_name_is_refused(name: str) -> None:
    with pytest.raises(BadRequest):
        checked(name, SHEET_NAME, "sheet", "[A-Za-z0-9_-]{1,64}")


def test_a_missing_field_says_nothing_was_given() -> None:
    with pytest.raises(BadRequest, match="got nothing"):
        checked(None, SHEET_NAME, "sheet", "[A-Za-z0-9_-]{1,64}")
