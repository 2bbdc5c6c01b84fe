"""The syncer against the in-process simulator: single flight, all-or-nothing writes, its metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from exporter.instrumentation import MetricSet
from tests.youtube2sheets.conftest import BIG, SMALL, InProcess, in_process, value
from youtube2sheets import db
from youtube2sheets.errors import Conflict, UpstreamError


def run(tmp_path: Path, scenario: Any) -> Any:
    """Run ``await scenario(parts)`` against a fresh in-process simulator and syncer."""

    async def main() -> Any:
        async with in_process(tmp_path) as parts:
            return await scenario(parts)

    return asyncio.run(main())


def test_concurrent_syncs_of_one_sheet_share_one_run(tmp_path: Path) -> None:
    async def scenario(parts: InProcess) -> tuple[list[dict[str, Any]], float]:
        results = await asyncio.gather(*(parts.syncer.sync(SMALL.id, "s") for _ in range(5)))
        return list(results), value(parts.metrics, "sync_runs_total", {"result": "ok"})

    results, runs = run(tmp_path, scenario)
    assert runs == 1
    assert all(result == results[0] for result in results)
    assert (results[0]["inserted"], results[0]["rows"]) == (50, 50)


def test_syncs_of_two_sheets_run_apart(tmp_path: Path) -> None:
    async def scenario(parts: InProcess) -> float:
        await asyncio.gather(parts.syncer.sync(SMALL.id, "a"), parts.syncer.sync(SMALL.id, "b"))
        return value(parts.metrics, "sync_runs_total", {"result": "ok"})

    assert run(tmp_path, scenario) == 2


def test_a_sync_that_fails_midway_writes_nothing(tmp_path: Path) -> None:
    async def scenario(parts: InProcess) -> float:
        await parts.admin.post(
            "/admin/faults", json={"kind": "error", "status": 500, "methods": ["videos.list"]}
        )
        with pytest.raises(UpstreamError):
            await parts.syncer.sync(BIG.id, "s")
        return value(parts.metrics, "sync_runs_total", {"result": "upstream_error"})

    assert run(tmp_path, scenario) == 1
    conn = db.connect(tmp_path / "y2s.db", metrics=MetricSet())
    assert conn.execute("SELECT (SELECT COUNT(*) FROM videos), (SELECT COUNT(*) FROM sheets)").fetchone() == (
        0,
        0,
    )
    conn.close()


def test_a_conflicting_sheet_is_refused_before_any_api_call(tmp_path: Path) -> None:
    async def scenario(parts: InProcess) -> tuple[float, float]:
        await parts.syncer.sync(SMALL.id, "s")
        calls = value(parts.metrics, "api_client_calls_total")
        with pytest.raises(Conflict):
            await parts.syncer.sync(BIG.id, "s")
        return value(parts.metrics, "api_client_calls_total") - calls, value(
            parts.metrics, "sync_runs_total", {"result": "conflict"}
        )

    assert run(tmp_path, scenario) == (0, 1)


def test_a_changed_video_is_updated_and_reported(tmp_path: Path) -> None:
    changed: list[str] = []

    async def scenario(parts: InProcess) -> dict[str, Any]:
        await parts.syncer.sync(SMALL.id, "s")
        conn = db.connect(parts.settings.database, metrics=parts.metrics)
        victim = conn.execute("SELECT video_id FROM videos ORDER BY video_id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE videos SET views = -1 WHERE video_id = ?", (victim,))
        conn.close()
        parts.syncer.on_changed = changed.extend
        result = await parts.syncer.sync(SMALL.id, "s")
        return {**result, "victim": victim}

    result = run(tmp_path, scenario)
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 49)
    assert changed == [result["victim"]]


def test_a_sync_counts_what_it_fetched_and_wrote(tmp_path: Path) -> None:
    async def scenario(parts: InProcess) -> tuple[float, ...]:
        await parts.syncer.sync(BIG.id, "s")
        await parts.syncer.sync(BIG.id, "s")
        m = parts.metrics
        return (
            value(m, "sync_videos_fetched_total"),
            value(m, "sync_rows_upserted_total", {"change": "inserted"}),
            value(m, "sync_duration_seconds_count"),
            value(m, "function_calls_total", {"function": "sync", "result": "ok"}),
            value(m, "api_client_calls_total", {"method": "videos.list"}),
        )

    assert run(tmp_path, scenario) == (474, 237, 2, 2, 10)
