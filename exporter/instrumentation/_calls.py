"""The families behind `observed`: durations whose children also count errors, and two derived counters.

``function_call_duration_seconds`` holds the data; ``function_calls_total`` and ``function_errors_total``
are read from its children when collected (see `exporter.instrumentation._observed` for why).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

from prometheus_client.metrics_core import CounterMetricFamily, Metric

from exporter.instrumentation._core import OTHER, BaseFamily, CounterChild, Histogram, HistogramChild
from exporter.instrumentation._metricset import MetricSet

DURATION, CALLS, ERRORS = "function_call_duration_seconds", "function_calls_total", "function_errors_total"
IN_FLIGHT = "function_calls_in_flight"
LABELS = ("function", "module")
MAX_EXCEPTION_LABELS = 10  # distinct exception labels per function; later types count as "other"


class CallChild(HistogramChild):
    """One function's durations, plus its errors by exception label (both guarded by ``lock``)."""

    __slots__ = ("_folded", "errors")

    def __init__(self, bounds: tuple[float, ...], folded: CounterChild) -> None:
        super().__init__(bounds)
        self.errors: dict[str, int] = {}
        self._folded = folded

    def observe_error(self, seconds: float, error: BaseException) -> None:
        """Count ``error`` and record the call's duration, as one step for a concurrent collect."""
        if isinstance(error, GeneratorExit):  # a suspended coroutine closed by its owner: not a failure
            self.observe(seconds)
            return
        label = type(error).__qualname__
        with self.lock:
            errors = self.errors
            if label not in errors and len(errors) >= MAX_EXCEPTION_LABELS:
                label = OTHER
                self._folded.inc_one()
            errors[label] = errors.get(label, 0) + 1
            self.observe_locked(seconds)

    def totals(self) -> tuple[int, dict[str, int]]:
        """The number of calls and the errors by label, read together."""
        with self.lock:
            self.fold()
            return sum(self._counts), dict(self.errors)


class DurationFamily(Histogram):
    """``function_call_duration_seconds``, whose children also count errors."""

    def __init__(self, buckets: Sequence[float], max_label_sets: int) -> None:
        doc = "Duration of observed calls and blocks, in seconds."
        super().__init__(DURATION, doc, LABELS, buckets=buckets, max_label_sets=max_label_sets)
        self.exceptions_folded = CounterChild()

    def _new_child(self) -> CallChild:
        return CallChild(self.bounds, self.exceptions_folded)

    def child(self, function: str, module: str) -> CallChild:
        return cast(CallChild, self.labels(function, module))

    def call_children(self) -> list[tuple[tuple[str, ...], CallChild]]:
        return cast(list[tuple[tuple[str, ...], CallChild]], self.children())


class DerivedFamily(BaseFamily[HistogramChild]):
    """A counter read from the durations' children when collected: the calls by result, the errors."""

    kind = "counter"

    def __init__(self, name: str, documentation: str, label: str, durations: DurationFamily) -> None:
        super().__init__(name, documentation, (*LABELS, label))
        self.durations = durations
        if name == ERRORS:
            self.guard.folded = durations.exceptions_folded  # exception labels past the cap fold here

    def collect(self) -> Iterator[Metric]:
        fam = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self.durations.call_children():
            count, errors = child.totals()
            failed = sum(errors.values())
            by_result = [("ok", count - failed), ("error", failed)]
            for label, value in sorted(errors.items()) if self.name == ERRORS else by_result:
                fam.add_metric((*values, label), float(value))
        yield fam


def durations_family(metrics: MetricSet, buckets: Sequence[float]) -> DurationFamily:
    """Get or create the three derived families in ``metrics``; the duration family holds the data."""
    new = DurationFamily(buckets, metrics.max_label_sets)
    durations = metrics.add(new)
    if durations.bounds != new.bounds:
        raise ValueError(f"{DURATION} already exists in this MetricSet with buckets {durations.bounds}")
    metrics.add(DerivedFamily(CALLS, "Observed calls and blocks, by result.", "result", durations))
    metrics.add(DerivedFamily(ERRORS, "Observed calls and blocks that raised.", "exception", durations))
    return durations
