"""`MetricSet`: the families a service's instrumentation writes to, collected as one Collector.

Decorating a function at import time must not register anything in prometheus_client's global
registry (STYLE.md): ``observed``, ``cached`` and the rest create their families in a `MetricSet`,
by default the module-level `DEFAULT_METRICS`, which does nothing until the service exposes it:

    registry = CollectorRegistry()
    registry.register(DEFAULT_METRICS)          # one process
    # or, with several workers: see exporter.instrumentation.multiprocess

Tests pass ``metrics=MetricSet()`` to get fresh, isolated families.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from prometheus_client.metrics_core import CounterMetricFamily, Metric

from exporter.instrumentation._core import (
    DEFAULT_BUCKETS,
    DEFAULT_MAX_LABEL_SETS,
    BaseFamily,
    Counter,
    Gauge,
    Histogram,
    MultiprocessMode,
)

F = TypeVar("F", bound=BaseFamily[Any])

FOLDED = "instrumentation_label_sets_folded_total"


class MetricSet:
    """A set of instrumentation families, itself a prometheus_client Collector (``collect()``).

    Families are got-or-created by name: two ``observed`` functions share ``function_calls_total``,
    with different label values. Asking for an existing name with another kind or other labels is an
    error, so two libraries cannot silently share a name with different meanings.

    Args:
        max_label_sets: the default cap on each family's distinct label sets.

    Example:
        >>> metrics = MetricSet()
        >>> hits = metrics.counter("cache_requests_total", "Lookups.", ["cache", "result"])
        >>> hits.labels("videos", "hit").inc()
        >>> [s.value for m in metrics.collect() for s in m.samples if s.name == "cache_requests_total"]
        [1.0]
    """

    def __init__(self, *, max_label_sets: int = DEFAULT_MAX_LABEL_SETS) -> None:
        self.max_label_sets = max_label_sets
        self._families: dict[str, BaseFamily[Any]] = {}
        self._lock = threading.Lock()

    def add(self, family: F) -> F:
        """Add ``family``, or return the existing one of the same name, class and labels."""
        with self._lock:
            existing = self._families.setdefault(family.name, family)
        if existing is family:
            return family
        if type(existing) is not type(family) or existing.labelnames != family.labelnames:
            raise ValueError(
                f"metric {family.name!r} already exists as a {existing.kind} "
                f"with labels {list(existing.labelnames)}"
            )
        return existing

    def counter(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        guarded: Iterable[str] | None = None,
    ) -> Counter:
        """Get or create a counter family."""
        return self.add(
            Counter(name, documentation, labelnames, guarded=guarded, max_label_sets=self.max_label_sets)
        )

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        guarded: Iterable[str] | None = None,
        multiprocess_mode: MultiprocessMode = "livesum",
    ) -> Gauge:
        """Get or create a gauge family; ``multiprocess_mode`` says how workers' values combine."""
        gauge = Gauge(
            name,
            documentation,
            labelnames,
            guarded=guarded,
            max_label_sets=self.max_label_sets,
            multiprocess_mode=multiprocess_mode,
        )
        return self.add(gauge)

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        guarded: Iterable[str] | None = None,
    ) -> Histogram:
        """Get or create a histogram family (``buckets`` must match an existing one's)."""
        new = Histogram(
            name,
            documentation,
            labelnames,
            buckets=buckets,
            guarded=guarded,
            max_label_sets=self.max_label_sets,
        )
        family = self.add(new)
        if family.bounds != new.bounds:
            raise ValueError(f"histogram {name!r} already exists with buckets {family.bounds}")
        return family

    def families(self) -> list[BaseFamily[Any]]:
        """The families, sorted by name."""
        with self._lock:
            return [self._families[n] for n in sorted(self._families)]

    def get(self, name: str) -> BaseFamily[Any] | None:
        """The family called ``name``, if any."""
        with self._lock:
            return self._families.get(name)

    def collect(self) -> Iterator[Metric]:
        """Every family's current samples, plus the folded-label-set counter once anything folded."""
        folded = CounterMetricFamily(
            FOLDED,
            "Label-set lookups folded into 'other' because the metric had reached its cap of label sets.",
            labels=["metric"],
        )
        for family in self.families():
            yield from family.collect()
            count = family.guard.folded.get()
            if count:
                folded.add_metric([family.name], count)
        if folded.samples:
            yield folded

    def describe(self) -> list[Metric]:
        """Nothing: the families are created lazily, so a registry must not check names up front."""
        return []


DEFAULT_METRICS = MetricSet()
