"""YouTube2Sheets performance stack: the host exporter and, for services, the instrumentation library.

``from exporter import observed, cached`` gives a service the instrumentation library
(`exporter.instrumentation`) without the host exporter: this package's top level does not import
psutil, the HTTP server or the collectors. The names are loaded on first use (PEP 562), so that
``python -m exporter`` (the host exporter, also ``y2s-exporter``) does not load the library either.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exporter.instrumentation import (
        DB_QUERY_BUCKETS,
        DEFAULT_BUCKETS,
        DEFAULT_METRICS,
        DEFAULT_RETRY_STATUSES,
        OTHER,
        UNMATCHED,
        YOUTUBE_COSTS,
        ApiCaller,
        ApiClientError,
        ApiResponse,
        BaseFamily,
        CardinalityGuard,
        Counter,
        FileLedger,
        Gauge,
        Histogram,
        InstrumentedSQLiteConnection,
        InstrumentedSQLiteCursor,
        Ledger,
        MemoryLedger,
        MetricSet,
        MultiProcessCollector,
        Observed,
        PrometheusMiddleware,
        PrometheusWSGIMiddleware,
        QuotaCharge,
        QuotaExhausted,
        QuotaLedgerError,
        QuotaTracker,
        RateLimitTimeout,
        RetriesExhausted,
        RetryPolicy,
        TokenBucket,
        TTLCache,
        cached,
        classify_outcome,
        enable_multiprocess,
        instrument_sqlalchemy,
        instrument_sqlite_connection_factory,
        mark_process_dead,
        observed,
        operation_of,
        parse_retry_after,
        sqlite_connect,
        starlette_route_of,
    )

__version__ = "0.1.0"

__all__ = [
    "DB_QUERY_BUCKETS",
    "DEFAULT_BUCKETS",
    "DEFAULT_METRICS",
    "DEFAULT_RETRY_STATUSES",
    "OTHER",
    "UNMATCHED",
    "YOUTUBE_COSTS",
    "ApiCaller",
    "ApiClientError",
    "ApiResponse",
    "BaseFamily",
    "CardinalityGuard",
    "Counter",
    "FileLedger",
    "Gauge",
    "Histogram",
    "InstrumentedSQLiteConnection",
    "InstrumentedSQLiteCursor",
    "Ledger",
    "MemoryLedger",
    "MetricSet",
    "MultiProcessCollector",
    "Observed",
    "PrometheusMiddleware",
    "PrometheusWSGIMiddleware",
    "QuotaCharge",
    "QuotaExhausted",
    "QuotaLedgerError",
    "QuotaTracker",
    "RateLimitTimeout",
    "RetriesExhausted",
    "RetryPolicy",
    "TTLCache",
    "TokenBucket",
    "__version__",
    "cached",
    "classify_outcome",
    "enable_multiprocess",
    "instrument_sqlalchemy",
    "instrument_sqlite_connection_factory",
    "mark_process_dead",
    "observed",
    "operation_of",
    "parse_retry_after",
    "sqlite_connect",
    "starlette_route_of",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        value = getattr(importlib.import_module("exporter.instrumentation"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'exporter' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
