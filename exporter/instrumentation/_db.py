"""DB query timing: queries, errors and duration by a bounded ``operation``, never by SQL text.

Two ways in: `sqlite_connect` (the standard library's ``sqlite3``, through a ``Connection``
subclass) and `instrument_sqlalchemy` (SQLAlchemy 2.x engines, Core and ORM, through its cursor
events). Both write the same three families, labelled ``{db, operation}``:

- ``db_queries_total`` and ``db_query_errors_total`` (a failing query counts in both);
- ``db_query_duration_seconds``, with a bucket at exactly 0.1 s: the "DB query time < 100 ms" target.

A query is timed around the driver call that runs it. For a SELECT that is the time to the first
row: fetching the rest is the caller's loop, which may interleave with its own work or stop early,
so it has no duration that belongs to the database. Time ``execute(...).fetchall()`` with
``observed`` where the whole read matters.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, overload

from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

Operation = Literal["select", "insert", "update", "delete", "other"]
OPERATIONS: tuple[Operation, ...] = ("select", "insert", "update", "delete", "other")
# 0.1 s is the "DB query time < 100 ms" target, so it is a bucket boundary.
DB_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# SQLite's REPLACE is INSERT OR REPLACE; upserts (INSERT ... ON CONFLICT) start with INSERT anyway.
_KEYWORDS: dict[str, Operation] = {**{op: op for op in OPERATIONS if op != "other"}, "replace": "insert"}
# Whitespace and comments, quoted names and strings, parentheses, words: enough to find, at depth 0,
# the statement a WITH clause leads to.
_TOKEN = re.compile(
    r"""\s+|--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`[^`]*`?|\[[^\]]*\]?|\(|\)|(\w+)|.""",
    re.S,
)
_CACHE_SIZE, _CACHE_MAX_SQL = 4096, 4096
_START = "_y2s_query_start"  # the attribute that holds a start time on an SQLAlchemy execution context
_cache: dict[str, Operation] = {}
_T = TypeVar("_T")
_CursorT = TypeVar("_CursorT", bound=sqlite3.Cursor)


def operation_of(sql: str) -> Operation:
    """The kind of statement ``sql`` is: ``select``, ``insert``, ``update``, ``delete`` or ``other``.

    Reads the first keyword after whitespace and comments, case-insensitively; a ``WITH`` clause
    counts as the statement it leads to, ``REPLACE`` as an insert, anything else (``PRAGMA``,
    ``BEGIN``, ``CREATE``, ``MERGE``) as ``other``. Results are cached per string (bounded).

    Example:
        >>> operation_of("/* report */ WITH recent AS (SELECT 1) DELETE FROM rows")
        'delete'
        >>> operation_of("  insert or replace into videos values (?)"), operation_of("PRAGMA journal_mode")
        ('insert', 'other')
    """
    found = _cache.get(sql)
    if found is None:
        found = _classify(sql)
        if len(sql) <= _CACHE_MAX_SQL:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()  # statements repeat: the working set refills at once
            _cache[sql] = found
    return found


def _classify(sql: str) -> Operation:
    depth, with_depth = 0, -1  # with_depth: the depth of the WITH clause once one is seen
    for token in _TOKEN.finditer(sql):
        text = token.group()
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
        elif token.group(1) is not None:
            if with_depth < 0:  # the first word, however many parentheses it follows
                if text.lower() != "with":
                    return _KEYWORDS.get(text.lower(), "other")
                with_depth = depth
            elif depth <= with_depth and text.lower() in _KEYWORDS:
                return _KEYWORDS[text.lower()]  # the statement the CTEs lead to
        elif with_depth < 0 and not (text.isspace() or text.startswith(("--", "/*"))):
            return "other"  # starts with a string, a quoted name or a symbol
    return "other"


class _QueryTimer:
    """The three families' children for one ``db``, made up front for every operation."""

    __slots__ = ("_children", "clock")

    def __init__(self, db: str, metrics: MetricSet, clock: Callable[[], float]) -> None:
        if not isinstance(db, str) or not db:
            raise ValueError(f"db must be a short, fixed name such as 'main', got {db!r}")
        labels = ["db", "operation"]
        runs = metrics.counter("db_queries_total", "Queries run, failed ones included.", labels)
        errors = metrics.counter("db_query_errors_total", "Queries that raised an error.", labels)
        seconds = metrics.histogram(
            "db_query_duration_seconds",
            "Time the driver took to run a query.",
            labels,
            buckets=DB_QUERY_BUCKETS,
        )
        self._children = {
            op: (runs.labels(db, op).inc_one, errors.labels(db, op).inc_one, seconds.labels(db, op).observe)
            for op in OPERATIONS
        }
        self.clock = clock

    def record(self, operation: Operation, seconds: float, failed: bool) -> None:
        """Count one query that took ``seconds``."""
        count, count_error, observe = self._children[operation]
        count()
        if failed:
            count_error()
        observe(seconds)

    def call(self, operation: Operation, run: Callable[..., _T], *args: Any) -> _T:
        """``run(*args)``, timed and counted under ``operation`` once it returns or raises."""
        start, failed = self.clock(), True
        try:
            result = run(*args)
            failed = False
            return result
        finally:
            self.record(operation, self.clock() - start, failed)


class InstrumentedSQLiteCursor(sqlite3.Cursor):
    """A ``sqlite3.Cursor`` whose ``execute``, ``executemany`` and ``executescript`` are timed.

    ``executemany`` counts once per call; a script counts once, as ``other`` (it is a batch of
    statements, such as a migration, not one query). Iterating and fetching are not timed.
    """

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        return _timed(self, operation_of(sql), super().execute, sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> Self:
        return _timed(self, operation_of(sql), super().executemany, sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        return _timed(self, "other", super().executescript, sql_script)


def _timed(cursor: sqlite3.Cursor, operation: Operation, run: Callable[..., _T], *args: Any) -> _T:
    timer: _QueryTimer | None = getattr(cursor.connection, "_y2s_timer", None)
    return run(*args) if timer is None else timer.call(operation, run, *args)


class InstrumentedSQLiteConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` whose queries, on it and on its cursors, are timed.

    Made by `sqlite_connect` or by a factory from `instrument_sqlite_connection_factory`;
    ``cursor()`` returns an `InstrumentedSQLiteCursor`.
    """

    _y2s_timer: _QueryTimer | None = None

    @overload
    def cursor(self, factory: None = None) -> InstrumentedSQLiteCursor: ...
    @overload
    def cursor(self, factory: Callable[[sqlite3.Connection], _CursorT]) -> _CursorT: ...
    def cursor(self, factory: Callable[[sqlite3.Connection], sqlite3.Cursor] | None = None) -> sqlite3.Cursor:
        return super().cursor(InstrumentedSQLiteCursor if factory is None else factory)

    def execute(self, sql: str, parameters: Any = (), /) -> InstrumentedSQLiteCursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> InstrumentedSQLiteCursor:
        return self.cursor().executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        return self.cursor().executescript(sql_script)


def instrument_sqlite_connection_factory(
    *, db: str = "main", metrics: MetricSet = DEFAULT_METRICS, clock: Callable[[], float] = time.perf_counter
) -> type[InstrumentedSQLiteConnection]:
    """A connection class to pass as ``sqlite3.connect(..., factory=...)``, for code that calls it.

    Make it once (it is a class) and reuse it; `sqlite_connect` is the shorter way otherwise.

    Example:
        >>> factory = instrument_sqlite_connection_factory(db="cache", metrics=MetricSet())
        >>> conn = sqlite3.connect(":memory:", factory=factory)
        >>> conn.execute("SELECT 1").fetchone()
        (1,)
        >>> conn.close()
    """
    timer = _QueryTimer(db, metrics, clock)
    return type("InstrumentedSQLiteConnection", (InstrumentedSQLiteConnection,), {"_y2s_timer": timer})


def sqlite_connect(
    database: str | os.PathLike[str],
    *,
    db: str = "main",
    metrics: MetricSet = DEFAULT_METRICS,
    clock: Callable[[], float] = time.perf_counter,
    **kwargs: Any,
) -> InstrumentedSQLiteConnection:
    """``sqlite3.connect`` with every query timed, labelled ``db`` and its operation.

    Args:
        database: as for ``sqlite3.connect`` (a path, ``":memory:"``, a ``file:`` URI with ``uri=True``).
        db: the label that tells databases apart; a fixed name, never a path from user input.
        metrics: where the families live; tests pass a fresh ``MetricSet()``.
        clock: seconds, for durations (tests inject a fake).
        kwargs: the other ``sqlite3.connect`` arguments (``timeout``, ``isolation_level``, ...).

    Example:
        >>> conn = sqlite_connect(":memory:", db="cache", metrics=MetricSet())
        >>> conn.execute("CREATE TABLE t (x)").close()
        >>> conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)]).rowcount
        2
        >>> conn.close()
    """
    factory = kwargs.pop("factory", InstrumentedSQLiteConnection)
    if not (isinstance(factory, type) and issubclass(factory, InstrumentedSQLiteConnection)):
        raise ValueError(f"factory must subclass InstrumentedSQLiteConnection, got {factory!r}")
    timer = _QueryTimer(db, metrics, clock)
    conn = sqlite3.connect(database, factory=factory, **kwargs)
    conn._y2s_timer = timer
    return conn


def instrument_sqlalchemy(
    engine: Engine | AsyncEngine,
    *,
    db: str = "main",
    metrics: MetricSet = DEFAULT_METRICS,
    clock: Callable[[], float] = time.perf_counter,
) -> Callable[[], None]:
    """Time every query an SQLAlchemy 2.x engine runs (Core and ORM); returns a function that stops it.

    Listens to the engine's ``before_cursor_execute``, ``after_cursor_execute`` and ``handle_error``
    events and keeps the start time on the statement's execution context, so concurrent connections
    never mix. One DBAPI call counts once: an ``executemany`` is one query, and an insert that
    SQLAlchemy splits into batches ("insertmanyvalues") is one per batch, as the database sees it.
    SQLAlchemy is imported here, so the library does not need it installed.

    Args:
        engine: an ``Engine``, or an ``AsyncEngine`` (its ``sync_engine`` is used).
        db: the label that tells databases apart.
        metrics: where the families live.
        clock: seconds, for durations.

    Example:
        >>> from sqlalchemy import create_engine, text
        >>> engine = create_engine("sqlite://")
        >>> stop = instrument_sqlalchemy(engine, db="sheets", metrics=MetricSet())
        >>> with engine.connect() as conn:
        ...     conn.execute(text("SELECT 1")).scalar()
        1
        >>> stop()
    """
    from sqlalchemy import event  # noqa: PLC0415  (optional dependency: only its users need it)

    timer = _QueryTimer(db, metrics, clock)
    target = getattr(engine, "sync_engine", engine)

    # Both cursor events pass (conn, cursor, statement, parameters, context, executemany).
    def before(*event: Any) -> None:
        if event[4] is not None:  # no context: a dialect's internal call, not a statement
            setattr(event[4], _START, timer.clock())

    def after(*event: Any) -> None:
        start = getattr(event[4], _START, None)
        if start is not None:
            setattr(event[4], _START, None)
            timer.record(operation_of(event[2]), timer.clock() - start, failed=False)

    def failed(exception_context: Any) -> None:
        context = exception_context.execution_context
        start = getattr(context, _START, None)
        if start is not None:  # None: the error did not come from running a statement
            setattr(context, _START, None)
            timer.record(operation_of(exception_context.statement or ""), timer.clock() - start, failed=True)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("handle_error", failed),
    ]
    for name, listener in listeners:
        event.listen(target, name, listener)

    def stop() -> None:
        for name, listener in listeners:
            event.remove(target, name, listener)

    return stop
