"""Instrumentation for services: call timing, a metered cache, outbound API calls, DB and HTTP timing.

Services import this (``from exporter import observed, cached``) without pulling in the host
exporter: nothing here imports psutil, the HTTP server or the collectors. Every piece writes to a
`MetricSet` (``metrics=``, by default `DEFAULT_METRICS`), which the service exposes by registering it
in a ``prometheus_client.CollectorRegistry``, or, with several worker processes, through
`MultiProcessCollector` (see ``exporter.instrumentation.multiprocess``).

Example:
    >>> from prometheus_client import CollectorRegistry, generate_latest
    >>> metrics = MetricSet()
    >>> @observed(metrics=metrics)
    ... def fetch_channel(channel_id: str) -> str:
    ...     return channel_id
    >>> registry = CollectorRegistry()
    >>> registry.register(metrics)
    >>> fetch_channel("UC1")
    'UC1'
    >>> registry.get_sample_value("function_calls_total", {"function": "fetch_channel",
    ...     "module": fetch_channel.__module__, "result": "ok"})
    1.0
"""

from exporter.instrumentation._apiclient import ApiCaller, ApiResponse
from exporter.instrumentation._cache import TTLCache
from exporter.instrumentation._cached import cached
from exporter.instrumentation._core import (
    DEFAULT_BUCKETS,
    OTHER,
    BaseFamily,
    CardinalityGuard,
    Counter,
    Gauge,
    Histogram,
)
from exporter.instrumentation._db import (
    DB_QUERY_BUCKETS,
    InstrumentedSQLiteConnection,
    InstrumentedSQLiteCursor,
    instrument_sqlalchemy,
    instrument_sqlite_connection_factory,
    operation_of,
    sqlite_connect,
)
from exporter.instrumentation._errors import (
    ApiClientError,
    QuotaExhausted,
    QuotaLedgerError,
    RateLimitTimeout,
    RetriesExhausted,
)
from exporter.instrumentation._http import UNMATCHED, PrometheusMiddleware, PrometheusWSGIMiddleware
from exporter.instrumentation._http_routes import starlette_route_of
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet
from exporter.instrumentation._observed import Observed, observed
from exporter.instrumentation._quota import (
    YOUTUBE_COSTS,
    FileLedger,
    Ledger,
    MemoryLedger,
    QuotaCharge,
    QuotaTracker,
)
from exporter.instrumentation._ratelimit import TokenBucket
from exporter.instrumentation._retry import (
    DEFAULT_RETRY_STATUSES,
    RetryPolicy,
    classify_outcome,
    parse_retry_after,
)
from exporter.instrumentation.multiprocess import (
    MultiProcessCollector,
    enable_multiprocess,
    mark_process_dead,
)

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
