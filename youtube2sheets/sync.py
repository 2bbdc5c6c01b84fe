"""`Syncer`: one channel's videos into one sheet, fetched in full first, then written in ONE transaction.

A sync asks ``channels.list`` for the uploads playlist, walks its pages (``playlistItems.list``, 50 a
page) and, while the next page loads, fetches each page's videos (``videos.list``, 50 ids a call).
Only once everything is in does a thread open ``BEGIN IMMEDIATE`` and upsert videos and sheet rows
(`youtube2sheets.db.write_sync`), so a failure anywhere leaves nothing half-written, and workers that
sync the same sheet at once take turns on SQLite's write lock. Concurrent syncs of the same
(channel, sheet) in one worker share one run (single flight): they all get its result.

Metrics: ``sync_runs_total{result}`` (ok, not_found, quota_exhausted, upstream_error, conflict,
error), ``sync_rows_upserted_total{change}`` (inserted, updated), ``sync_videos_fetched_total``,
``sync_duration_seconds`` (buckets up to 5 minutes, one at 2.0 s).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from exporter.instrumentation import DEFAULT_METRICS, MetricSet, observed
from youtube2sheets import db
from youtube2sheets.errors import Conflict, ServiceError
from youtube2sheets.youtube import BATCH, YouTubeClient

SYNC_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
RESULTS = ("ok", "not_found", "quota_exhausted", "upstream_error", "conflict", "error")


def utc_now() -> str:
    """Now in RFC 3339 UTC, to the second, as YouTube writes times (``2024-05-01T12:00:00Z``)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Syncer:
    """Runs syncs for one worker; `close` it at shutdown.

    Args:
        client: the YouTube client.
        database: the SQLite file; the syncer keeps its own write connection to it.
        reader: the worker's read connection, to refuse a conflicting sheet before spending quota.
        metrics: where ``sync_*`` (and the writer's ``db_*``) go.
        instrumented: also time each run with ``observed`` (``function_*{function="sync"}``).
        on_changed: called with the ids of videos a sync inserted or updated (the worker's cache drops them).

    Example (a worker's set-up; see ``youtube2sheets.app``)::

        syncer = Syncer(YouTubeClient(settings), settings.database, reader=conn)
        result = await syncer.sync("UC" + 22 * "a", "weekly")   # {"sheet", "inserted", ...}
        syncer.close()
    """

    def __init__(
        self,
        client: YouTubeClient,
        database: str | Path,
        *,
        reader: sqlite3.Connection,
        metrics: MetricSet = DEFAULT_METRICS,
        instrumented: bool = True,
        on_changed: Callable[[Sequence[str]], object] | None = None,
    ) -> None:
        self.client, self.reader, self.on_changed = client, reader, on_changed
        self._writer = db.connect(database, metrics=metrics, threads=True)
        self._write_lock = threading.Lock()  # one transaction at a time on the writer connection
        self._flights: dict[tuple[str, str], asyncio.Task[dict[str, Any]]] = {}
        runs = metrics.counter("sync_runs_total", "Sync runs, by result.", ["result"])
        self._runs = {result: runs.labels(result) for result in RESULTS}
        upserted = metrics.counter("sync_rows_upserted_total", "Sheet rows written, by change.", ["change"])
        self._inserted, self._updated = upserted.labels("inserted"), upserted.labels("updated")
        self._fetched = metrics.counter("sync_videos_fetched_total", "Videos fetched by syncs.").labels()
        self._duration = metrics.histogram(
            "sync_duration_seconds", "Time a sync run took, fetch and write.", buckets=SYNC_BUCKETS
        ).labels()
        self._run = observed("sync", metrics=metrics)(self._run_once) if instrumented else self._run_once

    def close(self) -> None:
        """Close the write connection (waits for a transaction in progress)."""
        with self._write_lock:
            self._writer.close()

    async def sync(self, channel_id: str, sheet: str) -> dict[str, Any]:
        """Sync ``channel_id`` into ``sheet``; joins a run of the same pair already in progress here.

        Returns ``{"sheet", "channel_id", "videos", "inserted", "updated", "unchanged", "rows",
        "duration_seconds"}``; raises a `ServiceError` (`Conflict`, `NotFound`, `QuotaError`, ...).
        """
        key = (channel_id, sheet)
        task = self._flights.get(key)
        if task is None:
            task = self._flights[key] = asyncio.ensure_future(self._run(channel_id, sheet))
            task.add_done_callback(functools.partial(self._landed, key))
        # Shielded: a caller that goes away leaves the run going for the others (and for the data).
        return await asyncio.shield(task)

    def _landed(self, key: tuple[str, str], task: asyncio.Task[dict[str, Any]]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved: every caller may have gone (disconnected) before it ended

    async def _run_once(self, channel_id: str, sheet: str) -> dict[str, Any]:
        start = time.perf_counter()
        result = "error"
        try:
            owner = db.sheet_channel(self.reader, sheet)
            if owner is not None and owner != channel_id:
                raise Conflict(f"sheet {sheet!r} belongs to channel {owner}, not {channel_id}", field="sheet")
            videos = await self.fetch(channel_id)
            self._fetched.inc(len(videos))
            counts = await run_in_threadpool(self._write, sheet, channel_id, videos)
            result = "ok"
        except ServiceError as exc:
            result = exc.result
            raise
        finally:
            seconds = time.perf_counter() - start
            self._duration.observe(seconds)
            self._runs[result].inc()
        self._inserted.inc(counts.inserted)
        self._updated.inc(counts.updated)
        if self.on_changed is not None and counts.changed:
            self.on_changed(counts.changed)
        return {
            "sheet": sheet,
            "channel_id": channel_id,
            "videos": len(videos),
            "inserted": counts.inserted,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "rows": counts.rows,
            "duration_seconds": round(seconds, 6),
        }

    async def fetch(self, channel_id: str) -> list[db.Video]:
        """Every video of the channel, newest first, each once; `NotFound` for an unknown channel."""
        playlist = await self.client.uploads_playlist(channel_id)
        tasks: list[asyncio.Task[list[db.Video]]] = []
        try:
            async for ids in self.client.playlist_pages(playlist):
                for i in range(0, len(ids), BATCH):
                    tasks.append(asyncio.ensure_future(self.client.videos(ids[i : i + BATCH])))
            batches = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        unique = {video.video_id: video for batch in batches for video in batch}
        return list(unique.values())

    def _write(self, sheet: str, channel_id: str, videos: Sequence[db.Video]) -> db.SyncCounts:
        with self._write_lock:
            return db.write_sync(self._writer, sheet, channel_id, videos, utc_now())
