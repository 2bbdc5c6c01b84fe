"""Instrumentation for services: call timing, a metered cache, outbound API calls, DB and HTTP timing.

Services import this (``from exporter import observed, cached``) without pulling in the host
exporter: nothing here imports psutil, the HTTP server or the collectors.
"""

from exporter.instrumentation._core import (
    DEFAULT_BUCKETS,
    OTHER,
    BaseFamily,
    CardinalityGuard,
    Counter,
    Gauge,
    Histogram,
)
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_METRICS",
    "OTHER",
    "BaseFamily",
    "CardinalityGuard",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricSet",
]
