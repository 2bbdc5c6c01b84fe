"""SQLite storage: the schema, connections, the reads the endpoints make and the sync's one transaction.

One database file in WAL mode: readers never block the writer or each other, so each worker reads on
its event loop through one connection (`connect`, ``query_only``), and writes (a sync's transaction)
run in a thread on a connection of their own. Every connection goes through
``exporter.instrumentation.sqlite_connect(..., db="youtube2sheets")``, so ``db_*`` metrics time them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from exporter.instrumentation import DEFAULT_METRICS, InstrumentedSQLiteConnection, MetricSet, sqlite_connect
from youtube2sheets.errors import Conflict

DB_LABEL = "youtube2sheets"
BUSY_TIMEOUT_MS = 15_000  # a sync waits this long for another worker's transaction to end
ROW_COLUMNS = ("video_id", "title", "published_at", "views", "likes", "comments", "duration_seconds")
VIDEO_COLUMNS = (
    "video_id",
    "channel_id",
    "title",
    "published_at",
    "views",
    "likes",
    "comments",
    "duration_seconds",
    "fetched_at",
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, title TEXT NOT NULL, published_at TEXT NOT NULL,
    views INTEGER, likes INTEGER, comments INTEGER, duration_seconds INTEGER, fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sheets (
    name TEXT PRIMARY KEY, channel_id TEXT NOT NULL, created_at TEXT NOT NULL, synced_at TEXT
);
CREATE TABLE IF NOT EXISTS sheet_rows (
    sheet TEXT NOT NULL REFERENCES sheets (name), video_id TEXT NOT NULL REFERENCES videos (video_id),
    PRIMARY KEY (sheet, video_id)
) WITHOUT ROWID;
"""

_UPSERT_VIDEO = """
INSERT INTO videos (video_id, channel_id, title, published_at, views, likes, comments, duration_seconds,
                    fetched_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (video_id) DO UPDATE SET
    channel_id = excluded.channel_id, title = excluded.title, published_at = excluded.published_at,
    views = excluded.views, likes = excluded.likes, comments = excluded.comments,
    duration_seconds = excluded.duration_seconds, fetched_at = excluded.fetched_at
"""
_UPSERT_SHEET = """
INSERT INTO sheets (name, channel_id, created_at, synced_at) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET synced_at = excluded.synced_at
"""
_SHEET_VIDEOS = """
SELECT v.video_id, v.channel_id, v.title, v.published_at, v.views, v.likes, v.comments, v.duration_seconds
FROM sheet_rows AS r JOIN videos AS v ON v.video_id = r.video_id WHERE r.sheet = ?
"""


class Video(NamedTuple):
    """One video as the service stores it (``likes`` is None when the owner hides it)."""

    video_id: str
    channel_id: str
    title: str
    published_at: str
    views: int | None
    likes: int | None
    comments: int | None
    duration_seconds: int | None


class SyncCounts(NamedTuple):
    """What one sync transaction did to a sheet; ``changed`` are the videos inserted or updated."""

    inserted: int
    updated: int
    unchanged: int
    rows: int
    changed: tuple[str, ...]


def connect(
    path: str | Path, *, metrics: MetricSet = DEFAULT_METRICS, readonly: bool = False, threads: bool = False
) -> InstrumentedSQLiteConnection:
    """A timed connection in autocommit mode (transactions are explicit), WAL, ``synchronous=NORMAL``.

    Args:
        path: the database file.
        metrics: where ``db_*`` go.
        readonly: refuse writes (``PRAGMA query_only``): the event loop's read connection.
        threads: allow use from several threads, one at a time (a sync's writer, a CSV export).

    Example:
        >>> import tempfile
        >>> conn = connect(Path(tempfile.mkdtemp()) / "y2s.db", metrics=MetricSet())
        >>> create_schema(conn)
        >>> conn.execute("SELECT COUNT(*) FROM sheets").fetchone()
        (0,)
        >>> conn.close()
    """
    conn = sqlite_connect(
        path,
        db=DB_LABEL,
        metrics=metrics,
        isolation_level=None,
        check_same_thread=not threads,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")
    if readonly:
        conn.execute("PRAGMA query_only = 1")
    return conn


def create_schema(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL and create the tables if they are missing (idempotent, one transaction)."""
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


_VIDEO = "SELECT " + ", ".join(VIDEO_COLUMNS) + " FROM videos WHERE video_id = ?"  # noqa: S608  (constants)
_SHEET_HEAD = (
    "SELECT (SELECT 1 FROM sheets WHERE name = ?), (SELECT COUNT(*) FROM sheet_rows WHERE sheet = ?)"
)
_ROWS = (
    "SELECT " + ", ".join(f"v.{c}" for c in ROW_COLUMNS) + " FROM sheet_rows AS r "  # noqa: S608  (constants)
    "JOIN videos AS v ON v.video_id = r.video_id WHERE r.sheet = ? ORDER BY {order}"
)
# One statement per (sort, order), made here from the column names: no request text reaches the SQL.
# video_id breaks ties, so pages never repeat or skip a row whose sort value equals another's.
_PAGES = {
    (sort, order): _ROWS.format(order=f"v.{sort} {order}, v.video_id {order}") + " LIMIT ? OFFSET ?"
    for sort in ROW_COLUMNS
    for order in ("asc", "desc")
}


def video(conn: sqlite3.Connection, video_id: str) -> dict[str, Any] | None:
    """The stored video as a JSON-ready dict (`VIDEO_COLUMNS`), or None."""
    found = conn.execute(_VIDEO, (video_id,)).fetchone()
    return None if found is None else dict(zip(VIDEO_COLUMNS, found, strict=True))


def sheet_channel(conn: sqlite3.Connection, sheet: str) -> str | None:
    """The channel a sheet belongs to, or None when there is no such sheet."""
    row = conn.execute("SELECT channel_id FROM sheets WHERE name = ?", (sheet,)).fetchone()
    return None if row is None else str(row[0])


def rows_page(
    conn: sqlite3.Connection, sheet: str, *, page: int, per_page: int, sort: str, order: str
) -> tuple[int, list[dict[str, Any]]] | None:
    """``(total rows, this page's rows)`` of a sheet, sorted; None when there is no such sheet.

    ``sort`` is one of `ROW_COLUMNS`, ``order`` ``asc`` or ``desc`` (KeyError otherwise).
    """
    sql = _PAGES[sort, order]
    exists, total = conn.execute(_SHEET_HEAD, (sheet, sheet)).fetchone()
    if exists is None:
        return None
    found = conn.execute(sql, (sheet, per_page, (page - 1) * per_page)).fetchall()
    return int(total), [dict(zip(ROW_COLUMNS, row, strict=True)) for row in found]


def sheet_rows(
    conn: sqlite3.Connection, sheet: str, chunk: int = 1000
) -> Generator[list[tuple[Any, ...]], None, None]:
    """Every row of a sheet (`ROW_COLUMNS`, newest first), ``chunk`` at a time, from one read snapshot."""
    conn.execute("BEGIN")
    try:
        cursor = conn.execute(_PAGES["published_at", "desc"].removesuffix(" LIMIT ? OFFSET ?"), (sheet,))
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def write_sync(
    conn: sqlite3.Connection, sheet: str, channel_id: str, videos: Sequence[Video], now: str
) -> SyncCounts:
    """Upsert ``videos`` and their sheet rows in ONE ``BEGIN IMMEDIATE`` transaction; any error rolls back.

    A video new to the sheet counts as inserted, one whose stored values differ as updated, the rest
    as unchanged; rows are never removed. Raises `Conflict` if the sheet belongs to another channel.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        owner = sheet_channel(conn, sheet)
        if owner is not None and owner != channel_id:
            raise Conflict(f"sheet {sheet!r} belongs to channel {owner}, not {channel_id}", field="sheet")
        stored = {row[0]: tuple(row) for row in conn.execute(_SHEET_VIDEOS, (sheet,))}
        inserted = [v.video_id for v in videos if v.video_id not in stored]
        updated = [v.video_id for v in videos if v.video_id in stored and stored[v.video_id] != tuple(v)]
        conn.execute(_UPSERT_SHEET, (sheet, channel_id, now, now))
        conn.executemany(_UPSERT_VIDEO, [(*v, now) for v in videos])
        conn.executemany(
            "INSERT INTO sheet_rows (sheet, video_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(sheet, video_id) for video_id in inserted],
        )
        rows = int(conn.execute("SELECT COUNT(*) FROM sheet_rows WHERE sheet = ?", (sheet,)).fetchone()[0])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    unchanged = len(videos) - len(inserted) - len(updated)
    return SyncCounts(len(inserted), len(updated), unchanged, rows, (*inserted, *updated))
