"""`TTLCache`: a thread-safe TTL and LRU cache that meters itself and loads once per key.

The `cached` decorator (in ``_cached``) puts a function in front of one.

Metrics (label ``cache`` is the cache's name): ``cache_requests_total{result}`` (``hit``/``miss``),
``cache_evictions_total{reason}`` (``expired``/``capacity``), ``cache_entries`` and
``cache_capacity_entries`` (read at scrape time; multiprocess mode livesum), ``cache_load_duration_seconds``
(the backing calls) and ``cache_load_errors_total`` (its total is the histogram's ``_count``). A caller
that waits for another's load counts as a miss. The hit ratio is left to PromQL.

A hit is one dict lookup, one clock read compared with the entry's deadline, and one lock-free
``inc_one()``; everything else takes the cache's lock. LRU order is kept cheaply: a hit moves its entry
to the recent end (under the lock) only once the entry is ``min(ttl / 4, 1 s)`` older than its last
move, so eviction by capacity is least-recently-used to within that much.

What the lock-free hit relies on (CPython with the GIL, as `_core` does): ``OrderedDict.get`` is one C
call, so it sees an entry from before or after a writer's whole change, never half of one (writers hold
the lock); entries are immutable tuples ``(value, fresh_until, expires_at)`` replaced whole, so a value
is read with its own deadline; ``fresh_until <= expires_at``, so one compare also proves the entry has
not expired. A hit that races a writer returns the value from just before the write, as if it came first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, ParamSpec, TypeVar, cast

from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = ParamSpec("P")
R = TypeVar("R")

MAX_RECENCY_SECONDS = 1.0  # a hit re-marks its entry as recent at most this often (or ttl / 4)
_KWARGS = object()  # separates positional from keyword arguments in a key, as functools' _make_key does
_FAILED = object()  # what a load that raised passes as its value


class _Flight(concurrent.futures.Future[V]):
    """One thread's load of a key; other threads wanting the key wait on it."""

    def __init__(self) -> None:
        super().__init__()
        self.owner = threading.get_ident()


class _Sizes(weakref.WeakSet["TTLCache[Any, Any]"]):
    """The live caches of one name in one MetricSet; the entries and capacity gauges read their sums."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()  # against adds while a scrape iterates

    def total(self, size: Callable[[TTLCache[Any, Any]], int]) -> float:
        with self.lock:
            caches = list(self)
        return float(sum(size(cache) for cache in caches))


_SIZES: weakref.WeakKeyDictionary[MetricSet, dict[str, _Sizes]] = weakref.WeakKeyDictionary()
_SIZES_LOCK = threading.Lock()


def _register(cache: TTLCache[Any, Any], metrics: MetricSet) -> None:
    with _SIZES_LOCK:
        by_name = _SIZES.setdefault(metrics, {})
        sizes = by_name.get(cache.name)
        if sizes is None:
            sizes = by_name[cache.name] = _Sizes()
            entries = metrics.gauge("cache_entries", "Entries in the cache.", ["cache"])
            entries.labels(cache.name).set_function(lambda: sizes.total(len))
            capacity = metrics.gauge("cache_capacity_entries", "The most entries the cache holds.", ["cache"])
            capacity.labels(cache.name).set_function(lambda: sizes.total(lambda c: c.maxsize))
    with sizes.lock:
        sizes.add(cache)


class TTLCache(Generic[K, V]):
    """A dict-like cache whose entries expire after ``ttl`` seconds, at most ``maxsize`` of them.

    Use it for answers that are expensive to get and fine to serve a little stale (channel titles,
    quota-costly API lookups). ``get_or_load`` makes one backing call per key however many threads
    (or asyncio tasks of one loop, ``aget_or_load``) miss it at once; all of them get its result or
    its exception, and an exception is not cached (threads and tasks do not share one load). ``in``,
    ``len`` and ``pop`` are not counted as requests.

    Args:
        name: the ``cache`` label.
        maxsize: the most entries; past it the least recently used goes.
        ttl: seconds an entry lives (``math.inf`` for never).
        metrics: where the families live; tests pass a fresh ``MetricSet()``.
        timer: seconds, for expiry and load durations; tests inject a fake clock.

    Example:
        >>> now = [0.0]
        >>> titles = TTLCache(name="titles", maxsize=100, ttl=60, metrics=MetricSet(), timer=lambda: now[0])
        >>> titles.get_or_load("UC1", lambda: "Channel one")
        'Channel one'
        >>> now[0] = 60.0
        >>> titles.get("UC1") is None
        True
    """

    def __init__(
        self,
        *,
        name: str,
        maxsize: int,
        ttl: float,
        metrics: MetricSet = DEFAULT_METRICS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if not name:
            raise ValueError("TTLCache: name must not be empty (it is the cache label)")
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"TTLCache {name!r}: maxsize must be a positive integer, got {maxsize!r}")
        if not ttl > 0:
            raise ValueError(f"TTLCache {name!r}: ttl must be positive seconds, got {ttl!r}")
        self.name, self.maxsize, self.ttl = name, maxsize, ttl
        self._recency = min(ttl / 4, MAX_RECENCY_SECONDS)
        self._data: OrderedDict[K, tuple[V, float, float]] = OrderedDict()  # LRU first
        self._expiry: deque[tuple[float, K]] = deque()  # (expires_at, key) in the order set
        self._flights: dict[K, _Flight[V]] = {}
        self._tasks: dict[K, asyncio.Task[V]] = {}
        self._lock = threading.Lock()
        self._timer = timer
        requests = metrics.counter("cache_requests_total", "Cache lookups, by result.", ["cache", "result"])
        self._hit, self._miss = requests.labels(name, "hit").inc_one, requests.labels(name, "miss").inc_one
        evictions = metrics.counter(
            "cache_evictions_total", "Entries dropped, by reason.", ["cache", "reason"]
        )
        self._expired = evictions.labels(name, "expired").inc_one
        self._capacity = evictions.labels(name, "capacity").inc_one
        doc = "Backing calls that filled the cache on a miss, in seconds."
        self._load_seconds = (
            metrics.histogram("cache_load_duration_seconds", doc, ["cache"]).labels(name).observe
        )
        doc = "Backing calls that raised; their total is cache_load_duration_seconds_count."
        self._load_errors = metrics.counter("cache_load_errors_total", doc, ["cache"]).labels(name).inc_one
        _register(self, metrics)

    def get(self, key: K, default: V | None = None) -> V | None:
        """The value for ``key``, or ``default`` (a miss)."""
        entry = self._find(key)
        return default if entry is None else entry[0]

    def __getitem__(self, key: K) -> V:
        entry = self._find(key)
        if entry is None:
            raise KeyError(key)
        return entry[0]

    def set(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds from now."""
        with self._lock:
            self._store(key, value, self._timer())

    __setitem__ = set

    def __contains__(self, key: object) -> bool:
        entry = self._data.get(cast(K, key))
        return entry is not None and self._timer() < entry[2]

    def __len__(self) -> int:
        with self._lock:
            self._purge(self._timer())
            return len(self._data)

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Remove ``key``: its value, or ``default`` when it was not there (not counted as a request)."""
        with self._lock:
            entry = self._entry(key, self._timer())
            if entry is not None:
                del self._data[key]
        return default if entry is None else entry[0]

    def clear(self) -> None:
        """Remove every entry (not counted as evictions)."""
        with self._lock:
            self._data.clear()
            self._expiry.clear()

    def get_or_load(self, key: K, loader: Callable[[], V]) -> V:
        """The value for ``key``; on a miss, ``loader()``'s, called once however many threads miss."""
        entry = self._data.get(key)
        if entry is not None and self._timer() < entry[1]:
            self._hit()
            return entry[0]
        return self._load(key, loader)

    async def aget_or_load(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        """``get_or_load`` for asyncio: one ``await loader()`` per key for the tasks of one loop."""
        entry = self._data.get(key)
        if entry is not None and self._timer() < entry[1]:
            self._hit()
            return entry[0]
        return await self._aload(key, loader)

    def _find(self, key: K) -> tuple[V, float, float] | None:
        """The live entry for ``key``, counted as a hit or a miss."""
        entry = self._data.get(key)
        if entry is not None and self._timer() >= entry[1]:  # expired, or due to be marked recent
            with self._lock:
                entry = self._entry(key, self._timer())
        (self._miss if entry is None else self._hit)()
        return entry

    def _entry(self, key: K, now: float) -> tuple[V, float, float] | None:
        """The live entry for ``key``, marked recent when due; drops it if expired. Holds the lock."""
        data = self._data
        entry = data.get(key)
        if entry is not None and now >= entry[2]:
            del data[key]
            self._expired()
            return None
        if entry is not None and now >= entry[1]:
            data.move_to_end(key)
            entry = data[key] = (entry[0], min(now + self._recency, entry[2]), entry[2])
        return entry

    def _purge(self, now: float) -> None:
        """Drop the expired entries, oldest first. Holds the lock."""
        expiry, data = self._expiry, self._data
        while expiry and expiry[0][0] <= now:
            expires, key = expiry.popleft()
            entry = data.get(key)
            if entry is not None and entry[2] == expires:  # not set again since
                del data[key]
                self._expired()

    def _store(self, key: K, value: V, now: float) -> None:
        """Set ``key``, making room first: expired entries, then the least recently used. Holds the lock."""
        data = self._data
        self._purge(now)
        if key in data:
            data.move_to_end(key)
        while key not in data and len(data) >= self.maxsize:
            data.popitem(last=False)
            self._capacity()
        expires = now + self.ttl
        data[key] = (value, min(now + self._recency, expires), expires)
        self._expiry.append((expires, key))
        if len(self._expiry) > 2 * len(data) + 64:  # keys set again leave stale items: rebuild
            self._expiry = deque(sorted(((e[2], k) for k, e in data.items()), key=lambda item: item[0]))

    def _finish(self, key: K, flights: dict[K, Any], flight: object, start: float, value: Any) -> None:
        """Record a load that returned ``value`` (`_FAILED` if it raised), store it, end the flight."""
        self._load_seconds(self._timer() - start)
        if value is _FAILED:
            self._load_errors()
        with self._lock:
            if value is not _FAILED:
                self._store(key, value, self._timer())
            if flights.get(key) is flight:
                del flights[key]

    def _load(self, key: K, loader: Callable[[], V]) -> V:
        with self._lock:
            entry = self._entry(key, self._timer())
            flight = self._flights.get(key) if entry is None else None
            leader = entry is None and flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        (self._miss if entry is None else self._hit)()
        if entry is not None:
            return entry[0]
        flight = cast(_Flight[V], flight)
        if not leader:
            if flight.owner == threading.get_ident():
                raise RuntimeError(f"cache {self.name!r}: the loader of {key!r} asked for {key!r} again")
            return flight.result()
        start = self._timer()
        try:
            value = loader()
        except BaseException as error:
            self._finish(key, self._flights, flight, start, _FAILED)
            flight.set_exception(error)
            raise
        self._finish(key, self._flights, flight, start, value)
        flight.set_result(value)
        return value

    async def _aload(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._entry(key, self._timer())
            task = self._tasks.get(key) if entry is None else None
            if entry is None and (task is None or task.get_loop() is not loop):
                task = self._tasks[key] = loop.create_task(self._arun(key, loader))
        (self._miss if entry is None else self._hit)()
        if entry is not None:
            return entry[0]
        if task is asyncio.current_task():
            raise RuntimeError(f"cache {self.name!r}: the loader of {key!r} asked for {key!r} again")
        # Shielded: a caller that is cancelled leaves the load running for the others (and the cache).
        return await asyncio.shield(cast(asyncio.Task[V], task))

    async def _arun(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        start, task = self._timer(), asyncio.current_task()
        try:
            value = await loader()
        except BaseException:
            self._finish(key, self._tasks, task, start, _FAILED)
            raise
        self._finish(key, self._tasks, task, start, value)
        return value
