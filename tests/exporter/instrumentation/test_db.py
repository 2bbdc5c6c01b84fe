"""DB timing against real SQLite files and a real SQLAlchemy engine: counts, errors, labels, threads."""

from __future__ import annotations

import sqlite3
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import orm

from exporter.instrumentation import MetricSet
from exporter.instrumentation._db import (
    DB_QUERY_BUCKETS,
    OPERATIONS,
    InstrumentedSQLiteConnection,
    InstrumentedSQLiteCursor,
    _cache,
    instrument_sqlalchemy,
    instrument_sqlite_connection_factory,
    operation_of,
    sqlite_connect,
)

THREADS, PER_THREAD = 8, 200


class Ticks:
    """A clock that moves ``step`` seconds at every reading."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def value(metrics: MetricSet, name: str, **labels: str) -> float:
    registry = CollectorRegistry()
    registry.register(metrics)
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def counts(metrics: MetricSet, db: str = "main") -> dict[str, tuple[float, float, float]]:
    """``operation -> (queries, errors, observed durations)``, for the operations that ran."""
    result: dict[str, tuple[float, float, float]] = {}
    for op in OPERATIONS:
        row = (
            value(metrics, "db_queries_total", db=db, operation=op),
            value(metrics, "db_query_errors_total", db=db, operation=op),
            value(metrics, "db_query_duration_seconds_count", db=db, operation=op),
        )
        if any(row):
            result[op] = row
    return result


def label_values(metrics: MetricSet) -> set[str]:
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    return {
        v
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        for k, v in s.labels.items()
        if k != "le"
    }


@pytest.fixture
def metrics() -> MetricSet:
    return MetricSet()


@pytest.fixture
def conn(tmp_path: Path, metrics: MetricSet) -> Iterator[InstrumentedSQLiteConnection]:
    conn = sqlite_connect(tmp_path / "app.db", metrics=metrics, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE videos (id INTEGER PRIMARY KEY, title TEXT NOT NULL UNIQUE)")
    yield conn
    conn.close()


# --- operation_of -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("SELECT 1", "select"),
        ("  \n\tselect * from videos", "select"),
        ("-- latest first\nSELECT id FROM videos", "select"),
        ("/* multi\nline */ /* two */ UPDATE videos SET title = 'x'", "update"),
        ("(SELECT 1) UNION SELECT 2", "select"),
        ("DeLeTe FROM videos", "delete"),
        ("INSERT INTO videos VALUES (1, 'a')", "insert"),
        ("INSERT OR REPLACE INTO videos VALUES (1, 'a')", "insert"),
        ("REPLACE INTO videos VALUES (1, 'a')", "insert"),
        ("INSERT INTO videos VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET title = 'b'", "insert"),
        ("WITH recent AS (SELECT id FROM videos) SELECT * FROM recent", "select"),
        (
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION SELECT x + 1 FROM n) INSERT INTO t SELECT x FROM n",
            "insert",
        ),
        ('WITH "delete" AS (SELECT 1), b (y) AS MATERIALIZED (SELECT 2) UPDATE t SET y = 1', "update"),
        ("with old as (select id from videos where title = ')') delete from videos", "delete"),
        ("PRAGMA journal_mode=WAL", "other"),
        ("BEGIN IMMEDIATE", "other"),
        ("CREATE TABLE t (x)", "other"),
        ("EXPLAIN SELECT 1", "other"),
        ("WITH unfinished AS (SELECT 1)", "other"),
        ("'SELECT'", "other"),
        ("", "other"),
        ("/* never closed SELECT", "other"),
    ],
)
def test_operation_of_classifies_by_the_leading_or_main_statement(sql: str, operation: str) -> None:
    assert operation_of(sql) == operation


def test_operation_cache_stays_bounded_and_right() -> None:
    for i in range(10_000):
        assert operation_of(f"SELECT {i}") == "select"
    assert 0 < len(_cache) <= 4096


def test_duration_buckets_have_the_100ms_query_target() -> None:
    assert 0.1 in DB_QUERY_BUCKETS
    assert list(DB_QUERY_BUCKETS) == sorted(DB_QUERY_BUCKETS)


# --- sqlite3 ----------------------------------------------------------------------------------------


def test_sqlite_counts_each_operation(conn: InstrumentedSQLiteConnection, metrics: MetricSet) -> None:
    conn.execute("INSERT INTO videos (title) VALUES (?)", ("a",))
    conn.execute("INSERT INTO videos (title) VALUES (?)", ("b",))
    conn.execute("UPDATE videos SET title = 'c' WHERE title = 'b'")
    conn.execute("SELECT * FROM videos").fetchall()
    conn.execute("DELETE FROM videos")
    assert counts(metrics) == {
        "select": (1, 0, 1),
        "insert": (2, 0, 2),
        "update": (1, 0, 1),
        "delete": (1, 0, 1),
        "other": (2, 0, 2),  # the PRAGMA and the CREATE TABLE
    }


def test_sqlite_database_file_is_in_wal_mode(conn: InstrumentedSQLiteConnection) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_bad_sql_counts_a_query_and_an_error(
    conn: InstrumentedSQLiteConnection, metrics: MetricSet
) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        conn.execute("SELECT * FROM missing")
    assert counts(metrics)["select"] == (1, 1, 1)


def test_sqlite_constraint_violation_is_an_insert_error(
    conn: InstrumentedSQLiteConnection, metrics: MetricSet
) -> None:
    conn.execute("INSERT INTO videos (title) VALUES ('same')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO videos (title) VALUES ('same')")
    assert counts(metrics)["insert"] == (2, 1, 2)


def test_sqlite_executemany_counts_once(conn: InstrumentedSQLiteConnection, metrics: MetricSet) -> None:
    conn.executemany("INSERT INTO videos (title) VALUES (?)", [(str(i),) for i in range(50)])
    assert counts(metrics)["insert"] == (1, 0, 1)
    assert conn.execute("SELECT count(*) FROM videos").fetchone() == (50,)


def test_sqlite_executescript_counts_once_as_other(
    conn: InstrumentedSQLiteConnection, metrics: MetricSet
) -> None:
    conn.executescript("INSERT INTO videos (title) VALUES ('a'); DELETE FROM videos; SELECT 1;")
    assert counts(metrics) == {"other": (3, 0, 3)}


def test_sqlite_cursor_methods_are_timed(conn: InstrumentedSQLiteConnection, metrics: MetricSet) -> None:
    cursor = conn.cursor()
    assert isinstance(cursor, InstrumentedSQLiteCursor)
    cursor.execute("INSERT INTO videos (title) VALUES ('a')")
    cursor.executemany("INSERT INTO videos (title) VALUES (?)", [("b",), ("c",)])
    cursor.execute("SELECT title FROM videos ORDER BY title")
    assert [row for row in cursor] == [("a",), ("b",), ("c",)]
    cursor.executescript("DELETE FROM videos;")
    assert counts(metrics) == {"select": (1, 0, 1), "insert": (2, 0, 2), "other": (3, 0, 3)}


def test_sqlite_a_cursor_factory_of_ones_own_is_used_untimed(
    conn: InstrumentedSQLiteConnection, metrics: MetricSet
) -> None:
    cursor = conn.cursor(sqlite3.Cursor)
    assert type(cursor) is sqlite3.Cursor
    cursor.execute("SELECT 1")
    assert "select" not in counts(metrics)


def test_sqlite_fetching_is_not_part_of_the_duration(tmp_path: Path, metrics: MetricSet) -> None:
    clock = Ticks(0.002)
    conn = sqlite_connect(tmp_path / "f.db", metrics=metrics, clock=clock)
    rows = conn.execute(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION SELECT x + 1 FROM n WHERE x < 500) SELECT x FROM n"
    )
    assert len(rows.fetchall()) == 500
    conn.close()
    assert clock.now == pytest.approx(0.004)  # read twice: before and after execute, not while fetching
    assert value(metrics, "db_query_duration_seconds_sum", db="main", operation="select") == 0.002
    assert value(metrics, "db_query_duration_seconds_bucket", db="main", operation="select", le="0.0025") == 1


def test_sqlite_durations_land_in_their_buckets(tmp_path: Path, metrics: MetricSet) -> None:
    conn = sqlite_connect(tmp_path / "f.db", metrics=metrics, clock=Ticks(0.2))
    conn.execute("SELECT 1")
    conn.close()
    assert value(metrics, "db_query_duration_seconds_bucket", db="main", operation="select", le="0.1") == 0
    assert value(metrics, "db_query_duration_seconds_bucket", db="main", operation="select", le="0.25") == 1


def test_sqlite_connection_factory_times_plain_sqlite3_connect(tmp_path: Path, metrics: MetricSet) -> None:
    factory = instrument_sqlite_connection_factory(db="cache", metrics=metrics)
    conn = sqlite3.connect(tmp_path / "cache.db", factory=factory)
    conn.execute("SELECT 1")
    conn.cursor().execute("SELECT 2")
    conn.close()
    assert counts(metrics, db="cache") == {"select": (2, 0, 2)}


def test_sqlite_databases_share_families_by_db_label(tmp_path: Path, metrics: MetricSet) -> None:
    for name in ("main", "cache"):
        conn = sqlite_connect(tmp_path / f"{name}.db", db=name, metrics=metrics)
        conn.execute("SELECT 1")
        conn.close()
    assert counts(metrics, "main") == counts(metrics, "cache") == {"select": (1, 0, 1)}


def test_sqlite_refuses_an_empty_db_label_and_a_foreign_factory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="db must be"):
        sqlite_connect(tmp_path / "x.db", db="", metrics=MetricSet())
    with pytest.raises(ValueError, match="factory must subclass"):
        sqlite_connect(tmp_path / "x.db", metrics=MetricSet(), factory=sqlite3.Connection)


def test_sqlite_is_exact_with_eight_threads_each_on_its_connection(
    tmp_path: Path, metrics: MetricSet
) -> None:
    path = tmp_path / "shared.db"
    with sqlite_connect(path, metrics=metrics, isolation_level=None) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE hits (n INTEGER)")
    barrier = threading.Barrier(THREADS)

    def work() -> None:
        conn = sqlite_connect(path, metrics=metrics, isolation_level=None, timeout=60)
        barrier.wait()
        for i in range(PER_THREAD):
            conn.execute("INSERT INTO hits VALUES (?)", (i,))
            conn.execute("SELECT count(*) FROM hits").fetchone()
        conn.close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    total = THREADS * PER_THREAD
    assert counts(metrics) == {"select": (total, 0, total), "insert": (total, 0, total), "other": (2, 0, 2)}


def test_sqlite_labels_never_carry_sql_text(conn: InstrumentedSQLiteConnection, metrics: MetricSet) -> None:
    conn.execute("SELECT title FROM videos WHERE title = 'secret-title'")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT * FROM secret_table")
    assert label_values(metrics) == {"main", *OPERATIONS}


# --- SQLAlchemy -------------------------------------------------------------------------------------


class Base(orm.DeclarativeBase):
    pass


class Sheet(Base):
    __tablename__ = "sheets"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(unique=True)


SHEETS = cast(sa.Table, Sheet.__table__)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'sa.db'}", connect_args={"timeout": 60})
    with engine.begin() as c:
        c.exec_driver_sql("PRAGMA journal_mode=WAL")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def test_sqlalchemy_core_counts_each_operation(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, db="sheets", metrics=metrics)
    table = SHEETS
    with engine.begin() as c:
        c.execute(sa.insert(table).values(name="a"))
        c.execute(sa.update(table).values(name="b"))
        assert c.execute(sa.select(table.c.name)).scalars().all() == ["b"]
        c.execute(sa.delete(table))
    assert {op: row for op, row in counts(metrics, "sheets").items() if op != "other"} == {
        "select": (1, 0, 1),
        "insert": (1, 0, 1),
        "update": (1, 0, 1),
        "delete": (1, 0, 1),
    }


def test_sqlalchemy_orm_session_is_timed(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, metrics=metrics)
    with orm.Session(engine) as session:
        session.add(Sheet(name="videos"))
        session.commit()
        assert session.scalars(sa.select(Sheet.name)).all() == ["videos"]
    found = counts(metrics)
    assert (found["insert"], found["select"]) == ((1, 0, 1), (1, 0, 1))


def test_sqlalchemy_executemany_counts_once(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, metrics=metrics)
    with engine.begin() as c:
        c.execute(sa.insert(SHEETS), [{"name": str(i)} for i in range(100)])
        assert c.execute(sa.select(sa.func.count()).select_from(SHEETS)).scalar() == 100
    assert counts(metrics)["insert"] == (1, 0, 1)


def test_sqlalchemy_constraint_violation_is_an_insert_error(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, metrics=metrics)
    with engine.begin() as c:
        c.execute(sa.insert(SHEETS).values(name="same"))
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
        c.execute(sa.insert(SHEETS).values(name="same"))
    assert counts(metrics)["insert"] == (2, 1, 2)


def test_sqlalchemy_bad_sql_counts_a_query_and_an_error(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, metrics=metrics, clock=Ticks(0.03))
    with pytest.raises(sa.exc.OperationalError), engine.connect() as c:
        c.execute(sa.text("SELECT * FROM missing"))
    assert counts(metrics)["select"] == (1, 1, 1)
    assert value(metrics, "db_query_duration_seconds_sum", db="main", operation="select") == 0.03


def test_sqlalchemy_connection_failure_is_not_a_query(tmp_path: Path, metrics: MetricSet) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    instrument_sqlalchemy(engine, metrics=metrics)
    with pytest.raises(sa.exc.OperationalError, match="unable to open"), engine.connect():
        pass
    assert counts(metrics) == {}


def test_sqlalchemy_stop_removes_the_listeners(engine: sa.Engine, metrics: MetricSet) -> None:
    stop = instrument_sqlalchemy(engine, metrics=metrics)
    stop()
    with engine.connect() as c:
        c.execute(sa.text("SELECT 1"))
    assert counts(metrics) == {}


def test_sqlalchemy_async_engine_is_instrumented_through_its_sync_engine(
    engine: sa.Engine, metrics: MetricSet
) -> None:
    instrument_sqlalchemy(types.SimpleNamespace(sync_engine=engine), metrics=metrics)  # type: ignore[arg-type]
    with engine.connect() as c:
        c.execute(sa.text("SELECT 1"))
    assert counts(metrics)["select"] == (1, 0, 1)


def test_sqlalchemy_is_exact_with_eight_threads(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, metrics=metrics)
    barrier = threading.Barrier(THREADS)
    table = SHEETS

    def work(thread: int) -> Callable[[], None]:
        def run() -> None:
            barrier.wait()
            for i in range(PER_THREAD):
                with engine.begin() as c:
                    c.execute(sa.insert(table).values(name=f"{thread}-{i}"))
                    c.execute(sa.select(table.c.id).limit(1)).all()

        return run

    threads = [threading.Thread(target=work(n)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    found, total = counts(metrics), THREADS * PER_THREAD
    assert (found["insert"], found["select"]) == ((total, 0, total), (total, 0, total))


def test_sqlalchemy_labels_never_carry_sql_text(engine: sa.Engine, metrics: MetricSet) -> None:
    instrument_sqlalchemy(engine, db="sheets", metrics=metrics)
    with engine.connect() as c:
        c.execute(sa.text("SELECT name FROM sheets WHERE name = 'secret-name'"))
        with pytest.raises(sa.exc.OperationalError):
            c.execute(sa.text("SELECT * FROM secret_table"))
    assert label_values(metrics) == {"sheets", *OPERATIONS}
