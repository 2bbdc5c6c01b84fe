"""The HTTP endpoints: sync, a sheet's rows (paged and sorted), its CSV, one video (cached), health.

`Endpoints` holds one worker's `Worker` parts and answers each route; ``youtube2sheets.app`` wires
them up. Input is checked here and refused as ``400 {"error", "field"}`` (`BadRequest`). Quick reads
run on the event loop on the worker's read connection (WAL: they never wait for a writer); the CSV
export streams from a thread on its own connection; a hit on the video cache is served as the JSON
bytes it stored, with no query and no encoding.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from exporter.instrumentation import MetricSet, TTLCache
from youtube2sheets import db
from youtube2sheets.errors import BadRequest, NotFound, TooLarge, json_bytes
from youtube2sheets.sync import Syncer

CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
SHEET = re.compile(r"[A-Za-z0-9_-]{1,64}")
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
MAX_PER_PAGE = 500
CSV_CHUNK_ROWS = 1000
MAX_SYNC_BODY = 16 * 1024  # bytes: a sync request is two short strings
JSON = "application/json"


class Worker(NamedTuple):
    """What the endpoints use, made at a worker's start (``youtube2sheets.app``)."""

    database: Path
    reader: sqlite3.Connection
    cache: TTLCache[str, bytes]
    syncer: Syncer
    metrics: MetricSet


def checked(value: object, pattern: re.Pattern[str], field: str, shape: str) -> str:
    """``value`` if it is a string matching ``pattern``, else `BadRequest` naming ``field``.

    Example:
        >>> checked("weekly", SHEET, "sheet", "[A-Za-z0-9_-]{1,64}")
        'weekly'
    """
    if not isinstance(value, str) or not pattern.fullmatch(value):
        got = "nothing" if value is None else repr(value)[:80]
        raise BadRequest(f"{field} must be {shape}, got {got}", field=field)
    return value


def _int_param(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= high):
        raise BadRequest(f"{name} must be a whole number from 1 to {high}, got {text[:40]!r}", field=name)
    return int(text)


def _choice(params: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, default)
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(choices)}, got {value[:40]!r}", field=name)
    return value


async def _body(request: Request, limit: int) -> bytes:
    """The request body, or `TooLarge` once it passes ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body must be at most {limit} bytes, got {declared}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"the body must be at most {limit} bytes")
    return body


def _csv_lines(rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


class Endpoints:
    """The route handlers; `worker` is set when the worker starts (the app's lifespan)."""

    def __init__(self) -> None:
        self.worker: Worker | None = None

    @property
    def _w(self) -> Worker:
        if self.worker is None:
            raise RuntimeError("the worker has not started: run the app under its lifespan")
        return self.worker

    async def video(self, request: Request) -> Response:
        """``GET /api/videos/{video_id}``: the stored video, from the cache when it can."""
        video_id = checked(request.path_params["video_id"], VIDEO_ID, "video_id", "11 of [A-Za-z0-9_-]")
        worker = self._w

        async def load() -> bytes:
            found = db.video(worker.reader, video_id)
            if found is None:
                raise NotFound(f"video {video_id} not found: sync its channel first", field="video_id")
            return json_bytes(found)

        return Response(await worker.cache.aget_or_load(video_id, load), media_type=JSON)

    async def rows(self, request: Request) -> Response:
        """``GET /api/sheets/{sheet}/rows?page=&per_page=&sort=&order=``: one page of a sheet."""
        sheet = checked(request.path_params["sheet"], SHEET, "sheet", "[A-Za-z0-9_-]{1,64}")
        params = request.query_params
        page = _int_param(params, "page", 1, 10**9)
        per_page = _int_param(params, "per_page", 50, MAX_PER_PAGE)
        sort = _choice(params, "sort", "published_at", db.ROW_COLUMNS)
        order = _choice(params, "order", "desc", ("asc", "desc"))
        found = db.rows_page(self._w.reader, sheet, page=page, per_page=per_page, sort=sort, order=order)
        if found is None:
            raise NotFound(f"sheet {sheet!r} not found", field="sheet")
        total, rows = found
        body = {"sheet": sheet, "page": page, "per_page": per_page, "total": total, "rows": rows}
        return Response(json_bytes(body), media_type=JSON)

    async def csv(self, request: Request) -> Response:
        """``GET /api/sheets/{sheet}.csv``: every row, streamed, read in chunks from one snapshot."""
        sheet = checked(request.path_params["sheet"], SHEET, "sheet", "[A-Za-z0-9_-]{1,64}")
        if db.sheet_channel(self._w.reader, sheet) is None:
            raise NotFound(f"sheet {sheet!r} not found", field="sheet")
        headers = {"Content-Disposition": f'attachment; filename="{sheet}.csv"'}
        return StreamingResponse(self._csv_body(sheet), media_type="text/csv", headers=headers)

    async def _csv_body(self, sheet: str) -> AsyncIterator[bytes]:
        worker = self._w
        conn = await run_in_threadpool(db.connect, worker.database, metrics=worker.metrics, threads=True)
        chunks = db.sheet_rows(conn, sheet, CSV_CHUNK_ROWS)
        try:
            yield _csv_lines([db.ROW_COLUMNS])
            while (rows := await run_in_threadpool(next, chunks, None)) is not None:
                yield _csv_lines(rows)
        finally:
            chunks.close()  # ends the read transaction
            conn.close()

    async def sync(self, request: Request) -> Response:
        """``POST /api/sync {"channel_id", "sheet"}``: fetch the channel, upsert its rows, count changes."""
        try:
            body = json.loads(await _body(request, MAX_SYNC_BODY))
        except ValueError:  # UnicodeDecodeError included
            body = None
        if not isinstance(body, dict):
            raise BadRequest('the body must be a JSON object: {"channel_id": "UC...", "sheet": "name"}')
        channel_id = checked(body.get("channel_id"), CHANNEL_ID, "channel_id", "UC + 22 of [A-Za-z0-9_-]")
        sheet = checked(body.get("sheet"), SHEET, "sheet", "[A-Za-z0-9_-]{1,64}")
        return Response(json_bytes(await self._w.syncer.sync(channel_id, sheet)), media_type=JSON)

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 once ``SELECT 1`` answers, else 503."""
        try:
            self._w.reader.execute("SELECT 1").fetchone()
        except (sqlite3.Error, RuntimeError) as exc:
            body = {"status": "unavailable", "error": f"database unavailable: {exc}", "field": None}
            return Response(json_bytes(body), status_code=503, media_type=JSON)
        return Response(b'{"status":"ok"}', media_type=JSON)
