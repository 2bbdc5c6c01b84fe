"""Storage on a real SQLite file: the schema, the sync transaction's counts and rollbacks, the reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from exporter.instrumentation import InstrumentedSQLiteConnection, MetricSet
from youtube2sheets import db
from youtube2sheets.errors import Conflict

CHANNEL, OTHER = "UC" + 22 * "a", "UC" + 22 * "b"
NOW = "2026-01-01T00:00:00Z"


def video(n: int, views: int = 100) -> db.Video:
    return db.Video(
        f"video{n:06d}", CHANNEL, f"Video {n}", f"2024-05-{n:02d}T12:00:00Z", views, 10, 1, 60 * n
    )


def row(n: int) -> dict[str, object]:
    stored = video(n)
    return {c: getattr(stored, c) for c in db.ROW_COLUMNS}


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[InstrumentedSQLiteConnection]:
    connection = db.connect(tmp_path / "y2s.db", metrics=MetricSet())
    db.create_schema(connection)
    yield connection
    connection.close()


def test_the_schema_is_created_once_in_wal_mode(conn: InstrumentedSQLiteConnection) -> None:
    db.create_schema(conn)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"videos", "sheets", "sheet_rows"}
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_first_sync_inserts_every_video(conn: InstrumentedSQLiteConnection) -> None:
    counts = db.write_sync(conn, "s", CHANNEL, [video(1), video(2), video(3)], NOW)
    assert counts == db.SyncCounts(3, 0, 0, 3, ("video000001", "video000002", "video000003"))


def test_syncing_the_same_videos_again_changes_nothing(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(1), video(2)], NOW)
    assert db.write_sync(conn, "s", CHANNEL, [video(1), video(2)], NOW) == db.SyncCounts(0, 0, 2, 2, ())


def test_a_changed_video_counts_as_updated(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(1), video(2)], NOW)
    counts = db.write_sync(conn, "s", CHANNEL, [video(1), video(2, views=999)], NOW)
    assert counts == db.SyncCounts(0, 1, 1, 2, ("video000002",))
    assert db.video(conn, "video000002")["views"] == 999  # type: ignore[index]


def test_a_video_stored_for_another_sheet_is_inserted_into_this_one(
    conn: InstrumentedSQLiteConnection,
) -> None:
    db.write_sync(conn, "first", CHANNEL, [video(1)], NOW)
    assert db.write_sync(conn, "second", CHANNEL, [video(1)], NOW).inserted == 1


def test_a_sheet_of_another_channel_is_a_conflict_and_untouched(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(1)], NOW)
    other = video(2)._replace(channel_id=OTHER)
    with pytest.raises(Conflict) as caught:
        db.write_sync(conn, "s", OTHER, [other], NOW)
    assert caught.value.field == "sheet"
    assert not conn.in_transaction
    assert db.rows_page(conn, "s", page=1, per_page=50, sort="video_id", order="asc") == (1, [row(1)])


def test_a_failing_write_leaves_nothing_behind(conn: InstrumentedSQLiteConnection) -> None:
    broken = video(2)._replace(title=None)  # type: ignore[arg-type]  (NOT NULL fails in the middle)
    with pytest.raises(sqlite3.IntegrityError):
        db.write_sync(conn, "s", CHANNEL, [video(1), broken], NOW)
    assert conn.execute("SELECT COUNT(*) FROM videos").fetchone() == (0,)
    assert db.sheet_channel(conn, "s") is None


def test_pages_follow_the_sort_and_break_ties_by_video_id(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(n, views=5 if n % 2 else 7) for n in range(1, 8)], NOW)
    pages = [db.rows_page(conn, "s", page=p, per_page=3, sort="views", order="desc") for p in (1, 2, 3)]
    order = [row["video_id"] for found in pages if found for row in found[1]]
    assert order == [f"video{n:06d}" for n in (6, 4, 2, 7, 5, 3, 1)]
    assert {found[0] for found in pages if found} == {7}


def test_a_page_past_the_end_is_empty_and_an_unknown_sheet_none(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(1)], NOW)
    assert db.rows_page(conn, "s", page=2, per_page=50, sort="title", order="asc") == (1, [])
    assert db.rows_page(conn, "nosuch", page=1, per_page=50, sort="title", order="asc") is None


def test_sheet_rows_come_in_chunks_newest_first_and_end_their_transaction(
    conn: InstrumentedSQLiteConnection,
) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(n) for n in range(1, 6)], NOW)
    chunks = list(db.sheet_rows(conn, "s", chunk=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [row[0] for chunk in chunks for row in chunk] == [f"video{n:06d}" for n in (5, 4, 3, 2, 1)]
    assert not conn.in_transaction


def test_the_read_connection_refuses_writes(tmp_path: Path, conn: InstrumentedSQLiteConnection) -> None:
    reader = db.connect(tmp_path / "y2s.db", metrics=MetricSet(), readonly=True)
    with pytest.raises(sqlite3.OperationalError):
        reader.execute("DELETE FROM videos")
    reader.close()


def test_a_video_is_read_with_every_column(conn: InstrumentedSQLiteConnection) -> None:
    db.write_sync(conn, "s", CHANNEL, [video(3)], NOW)
    assert db.video(conn, "video000003") == {**video(3)._asdict(), "fetched_at": NOW}
    assert db.video(conn, "nosuch") is None
