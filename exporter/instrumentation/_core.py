"""Metric families that are cheap to update from many threads and are read at scrape time.

prometheus_client's metrics take a lock on every ``inc`` and ``observe`` (about 0.3-1 µs); the
instrumentation in this package sits on hot paths (every decorated call, every cache hit), so its
families update without locks:

- a counter's ``+1`` is ``next()`` on an ``itertools.count``, one C call that the GIL makes atomic;
  other amounts take a lock;
- a histogram's ``observe`` appends to a ``deque`` (atomic too); the values are sorted into buckets
  when the family is read (or when a few thousand are pending), under the child's lock;
- a gauge is set (an attribute store), moved by ``inc``/``dec`` (two counts), or read from a callback.

Reading (``collect``) builds prometheus_client metric families, so a `MetricSet` registers in any
``CollectorRegistry`` and works with ``generate_latest`` and ``make_asgi_app``. These guarantees hold
on CPython with the GIL (3.11 to 3.13 default builds), which is what the project targets.

Every family has a cap on its distinct label sets (`CardinalityGuard`): past it, the guarded labels
of a new label set become ``"other"`` and ``instrumentation_label_sets_folded_total{metric}`` counts
the lookup, so a bug that puts user input in a label cannot blow up Prometheus.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, Literal, TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

# Every latency histogram an SLO reads has a bucket at exactly 2.0 s, and 0.1 s is the DB query target.
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)
OTHER = "other"
DEFAULT_MAX_LABEL_SETS = 1000
log = logging.getLogger(__name__)
_PENDING_LIMIT = 4096  # fold a histogram child's pending values at this many, so memory stays bounded

MultiprocessMode = Literal[
    "all", "liveall", "livesum", "livemax", "livemin", "max", "min", "sum", "mostrecent", "livemostrecent"
]


def count_value(counter: itertools.count[int]) -> int:
    """The next value an ``itertools.count()`` would return, without advancing it (from its repr)."""
    text = repr(counter)  # "count(42)"
    return int(text[text.index("(") + 1 : -1])


class CounterChild:
    """One label set of a `Counter`. ``inc()`` by one is lock-free; other amounts take a lock."""

    __slots__ = ("_extra", "_lock", "_ticks", "inc_one")

    def __init__(self) -> None:
        self._ticks = itertools.count()
        self.inc_one: Callable[[], int] = self._ticks.__next__  # bound once: the hot path calls this
        self._lock = threading.Lock()
        self._extra = 0.0

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (not negative)."""
        if amount == 1:
            self.inc_one()
            return
        if amount < 0:
            raise ValueError(f"counters only go up; got inc({amount})")
        with self._lock:
            self._extra += amount

    def get(self) -> float:
        """The current value."""
        return count_value(self._ticks) + self._extra


class GaugeChild:
    """One label set of a `Gauge`: ``set``, or ``inc``/``dec`` (lock-free by one), or a callback."""

    __slots__ = ("_down", "_function", "_up", "_value", "dec_one", "inc_one")

    def __init__(self) -> None:
        self._value = 0.0
        self._up = itertools.count()
        self._down = itertools.count()
        self._function: Callable[[], float] | None = None
        self.inc_one: Callable[[], int] = self._up.__next__  # bound once, for hot paths
        self.dec_one: Callable[[], int] = self._down.__next__

    def set(self, value: float) -> None:
        """Set the gauge; mixing ``set`` with concurrent ``inc``/``dec`` is not meaningful."""
        self._value = value - (count_value(self._up) - count_value(self._down))

    def inc(self) -> None:
        """Add one (``inc_one`` is the same, one call cheaper)."""
        self.inc_one()

    def dec(self) -> None:
        """Subtract one (``dec_one`` is the same, one call cheaper)."""
        self.dec_one()

    def set_function(self, function: Callable[[], float]) -> None:
        """Read the value from ``function`` at scrape time instead (``len(cache)``, a queue size)."""
        self._function = function

    def get(self) -> float:
        """The current value; NaN when the callback raises, so one bad callback cannot fail a scrape."""
        if self._function is not None:
            try:
                return float(self._function())
            except Exception:
                log.exception("gauge callback %r failed", self._function)
                return math.nan
        return self._value + count_value(self._up) - count_value(self._down)


class HistogramChild:
    """One label set of a `Histogram`; ``observe`` appends, reading sorts the values into buckets."""

    __slots__ = ("_bounds", "_counts", "_lock", "_pending", "_sum", "lock")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self._pending: deque[float] = deque()
        self._counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self._sum = 0.0
        self.lock = threading.Lock()  # held while folding; callers may hold it to read consistently

    def observe(self, value: float) -> None:
        """Record one value (seconds for durations)."""
        pending = self._pending
        pending.append(value)
        if len(pending) > _PENDING_LIMIT:
            with self.lock:
                self.fold()

    def observe_locked(self, value: float) -> None:
        """`observe` for a caller that already holds ``lock`` (which is not reentrant)."""
        self._pending.append(value)
        if len(self._pending) > _PENDING_LIMIT:
            self.fold()

    def fold(self) -> None:
        """Sort the pending values into the buckets; the caller holds ``lock``."""
        pop, counts, bounds = self._pending.popleft, self._counts, self._bounds
        total = 0.0
        while True:
            try:
                value = pop()
            except IndexError:
                break
            counts[bisect_left(bounds, value)] += 1
            total += value
        self._sum += total

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` buckets ending with ``+Inf``, and the sum."""
        with self.lock:
            self.fold()
            counts, total = list(self._counts), self._sum
        buckets, running = [], 0
        for bound, count in zip((*self._bounds, float("inf")), counts, strict=True):
            running += count
            buckets.append((_le(bound), float(running)))
        return buckets, total


def _le(bound: float) -> str:
    if bound == float("inf"):
        return "+Inf"
    return repr(float(bound))


C = TypeVar("C", bound=CounterChild | GaugeChild | HistogramChild)


class CardinalityGuard:
    """Caps the distinct label sets of one family; past the cap, guarded labels become ``"other"``.

    Args:
        labelnames: the family's labels.
        guarded: the labels whose values may be folded (default: all); the others keep their value,
            so ``http_requests_total{status="500", route="other"}`` still tells errors apart.
        max_label_sets: the cap.
    """

    def __init__(self, labelnames: Sequence[str], guarded: Iterable[str] | None, max_label_sets: int) -> None:
        names = tuple(labelnames)
        guard = set(names if guarded is None else guarded)
        if not guard <= set(names):
            raise ValueError(f"guarded labels {sorted(guard - set(names))} are not among {list(names)}")
        self._mask = tuple(n in guard for n in names)
        self.max_label_sets = max_label_sets
        self.folded = CounterChild()

    def fold(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """The label set to use instead of ``values`` once the cap is reached; counts the fold."""
        self.folded.inc_one()
        return tuple(OTHER if guarded else v for v, guarded in zip(values, self._mask, strict=True))


class BaseFamily(Generic[C]):
    """What every family shares: children by label values, the guard, the help text.

    Subclass it for a family of another shape (``observed`` derives its calls counter from its
    duration histogram): implement ``_new_child`` and ``collect`` and add it with ``MetricSet.add``.
    """

    kind = ""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        guarded: Iterable[str] | None = None,
        max_label_sets: int = DEFAULT_MAX_LABEL_SETS,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.guard = CardinalityGuard(self.labelnames, guarded, max_label_sets)
        self._children: dict[tuple[str, ...], C] = {}
        self._lock = threading.Lock()

    def _new_child(self) -> C:
        raise NotImplementedError

    def labels(self, *values: object) -> C:
        """The child for these label values (in ``labelnames`` order), created on first use."""
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is not None:
            return child
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected {len(self.labelnames)} label values, got {len(key)}")
        with self._lock:
            child = self._children.get(key)
            if child is None:
                if len(self._children) >= self.guard.max_label_sets:
                    key = self.guard.fold(key)
                    child = self._children.get(key)
                if child is None:
                    child = self._children[key] = self._new_child()
        return child

    def children(self) -> list[tuple[tuple[str, ...], C]]:
        """A snapshot of ``(label values, child)``, sorted by label values."""
        with self._lock:
            return sorted(self._children.items(), key=lambda item: item[0])

    def collect(self) -> Iterator[Metric]:
        raise NotImplementedError


class Counter(BaseFamily[CounterChild]):
    """A counter family; ``name`` ends in ``_total``.

    Example:
        >>> requests = Counter("cache_requests_total", "Cache lookups.", ["cache", "result"])
        >>> requests.labels("videos", "hit").inc()
        >>> requests.labels("videos", "hit").get()
        1.0
    """

    kind = "counter"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        guarded: Iterable[str] | None = None,
        max_label_sets: int = DEFAULT_MAX_LABEL_SETS,
    ) -> None:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name!r}: the name must end in _total")
        super().__init__(name, documentation, labelnames, guarded=guarded, max_label_sets=max_label_sets)

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def collect(self) -> Iterator[Metric]:
        yield _values(CounterMetricFamily(self.name, self.documentation, labels=self.labelnames), self)


class Gauge(BaseFamily[GaugeChild]):
    """A gauge family.

    Args:
        multiprocess_mode: how worker processes' values combine (prometheus_client's modes):
            ``livesum`` for in-flight counts, ``mostrecent`` for a shared state, ``liveall`` per worker.

    Example:
        >>> in_flight = Gauge("http_requests_in_flight", "Requests being served.")
        >>> in_flight.labels().inc()
        >>> in_flight.labels().get()
        1.0
    """

    kind = "gauge"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        multiprocess_mode: MultiprocessMode = "livesum",
        guarded: Iterable[str] | None = None,
        max_label_sets: int = DEFAULT_MAX_LABEL_SETS,
    ) -> None:
        super().__init__(name, documentation, labelnames, guarded=guarded, max_label_sets=max_label_sets)
        self.multiprocess_mode = multiprocess_mode

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def collect(self) -> Iterator[Metric]:
        yield _values(GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames), self)


_M = TypeVar("_M", CounterMetricFamily, GaugeMetricFamily)


def _values(fam: _M, family: Counter | Gauge) -> _M:
    """``fam`` filled with every child's current value."""
    for values, child in family.children():
        fam.add_metric(values, child.get())
    return fam


class Histogram(BaseFamily[HistogramChild]):
    """A histogram family; ``buckets`` are upper bounds in increasing order (``+Inf`` is added).

    Example:
        >>> duration = Histogram("db_query_duration_seconds", "Query time.", ["operation"])
        >>> duration.labels("select").observe(0.004)
        >>> duration.labels("select").snapshot()[0][0]
        ('0.005', 1.0)
    """

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float] = DEFAULT_BUCKETS,
        guarded: Iterable[str] | None = None,
        max_label_sets: int = DEFAULT_MAX_LABEL_SETS,
    ) -> None:
        bounds = tuple(float(b) for b in buckets if b != float("inf"))
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"histogram {name!r}: buckets must be increasing and not empty, got {buckets}")
        super().__init__(name, documentation, labelnames, guarded=guarded, max_label_sets=max_label_sets)
        self.bounds = bounds

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.bounds)

    def collect(self) -> Iterator[Metric]:
        fam = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in self.children():
            buckets, total = child.snapshot()
            fam.add_metric(values, buckets, total)
        yield fam
