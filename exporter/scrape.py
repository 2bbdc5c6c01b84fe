"""Run the enabled collectors for one scrape, each alone and under a deadline.

Collectors run in worker threads, never in the request's thread, one after another in one worker while
they are quick (ten threads woken at once would only fight for the GIL); when one stalls for
``stall`` seconds another worker takes over the queue behind it, so a slow collector delays the
others by at most that much. The scrape waits for all of them until the deadline; a collector that
raised reports ``node_scrape_collector_success 0``, one that overran it does too and counts in
``node_scrape_collector_timeouts_total``, and the scrape still answers with everything else.
A collector that is still stuck from an earlier scrape is not started again until it returns, so a
hung ``statvfs`` on a dead NFS mount costs one thread, never one per scrape.

Concurrent scrapes for the same set of collectors share one collection (single flight): eight
scrapers hitting the exporter at once read ``/proc`` once, not eight times, and get samples that
were read after their request arrived or, at worst, during the collection they joined.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import partial

from exporter._families import Collector, Family

log = logging.getLogger(__name__)

_NAMESPACE = "node"


class _Run:
    """One collector's outcome in one collection."""

    __slots__ = ("batch", "duration", "error", "families", "finished", "started")

    def __init__(self) -> None:
        self.batch: _Batch | None = None
        self.started = False
        self.finished = False
        self.families: list[Family] = []
        self.duration = 0.0
        self.error: BaseException | None = None


class _Workers:
    """A fixed set of daemon threads (a stuck collector must not block the exporter's exit)."""

    def __init__(self, size: int) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._loop, name=f"collector-{i}", daemon=True) for i in range(size)
        ]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        while (task := self._queue.get()) is not None:
            task()

    def submit(self, task: Callable[[], None]) -> None:
        self._queue.put(task)

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class _Batch:
    """The collectors of one collection: a queue that drain tasks empty, and a countdown of results.

    Drain tasks run the queued collectors one after another in a worker thread. One drain task is
    enough when every collector is quick, and it avoids waking ten threads that would only fight for
    the GIL; when a collector stalls, the scrape starts another drain task so that the collectors
    behind it still run (``Scraper._collect``).
    """

    __slots__ = ("_done", "_lock", "_pending", "_remaining", "closed", "drains")

    def __init__(self, pending: list[Callable[[], None]]) -> None:
        self._pending = deque(pending)
        self._remaining = len(pending)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.closed = False  # set at the deadline: collectors not started by then are not started
        self.drains = 0
        if not pending:
            self._done.set()

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending) and not self.closed

    def drain(self) -> None:
        while True:
            with self._lock:
                if self.closed or not self._pending:
                    return
                task = self._pending.popleft()
            task()

    def finished_one(self) -> None:
        with self._lock:
            self._remaining -= 1
            if self._remaining == 0:
                self._done.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def close(self) -> None:
        with self._lock:
            self.closed = True


class _Flight:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: list[Family] = []


class Scraper:
    """Collect from named collectors concurrently, isolated, under a deadline.

    Args:
        collectors: the enabled collectors by name (output is in name order).
        timeout: the longest a scrape waits for its collectors, in seconds.
        stall: how long one collector may run before the ones queued behind it move to another thread.

    Example:
        >>> from exporter.collectors.loadavg import LoadavgCollector
        >>> scraper = Scraper({"loadavg": LoadavgCollector(source=lambda: (1.0, 0.5, 0.25))}, timeout=1)
        >>> [f.name for f in scraper.scrape()][:3]
        ['node_load1', 'node_load5', 'node_load15']
        >>> scraper.close()
    """

    def __init__(
        self, collectors: Mapping[str, Collector], *, timeout: float = 5.0, stall: float = 0.05
    ) -> None:
        self.collectors = dict(sorted(collectors.items()))
        self.timeout = timeout
        self.stall = stall
        self._workers = _Workers(max(2, len(self.collectors) + 1))
        self._lock = threading.Lock()
        self._stuck: set[str] = set()
        self._timeouts: dict[str, int] = dict.fromkeys(self.collectors, 0)
        self._flights: dict[frozenset[str], _Flight] = {}

    def close(self) -> None:
        """Stop the worker threads (stuck collectors are abandoned)."""
        self._workers.close()

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names in ``names`` that are not enabled collectors."""
        return sorted(set(names) - self.collectors.keys())

    def scrape(self, names: Iterable[str] | None = None, timeout: float | None = None) -> list[Family]:
        """Collect from ``names`` (all enabled when ``None``) and append the self-metrics."""
        selected = frozenset(self.collectors if names is None else names)
        with self._lock:
            flight = self._flights.get(selected)
            leader = flight is None
            if flight is None:
                flight = self._flights[selected] = _Flight()
        if not leader:
            flight.done.wait()
            return flight.result
        try:
            flight.result = self._collect(selected, self.timeout if timeout is None else timeout)
        finally:
            with self._lock:
                del self._flights[selected]
            flight.done.set()
        return flight.result

    def _run(self, name: str, collector: Collector, run: _Run) -> None:
        run.started = True
        start = time.perf_counter()
        try:
            run.families = list(collector.collect())
        except Exception as exc:  # noqa: BLE001  (a collector must fail alone, whatever it raises)
            run.error = exc
        finally:
            run.duration = time.perf_counter() - start
            with self._lock:
                run.finished = True
                self._stuck.discard(name)
            if run.batch is not None:
                run.batch.finished_one()

    def _collect(self, selected: frozenset[str], timeout: float) -> list[Family]:
        deadline = time.perf_counter() + timeout
        with self._lock:  # still running past an earlier deadline: don't pile up threads
            todo = [n for n in self.collectors if n in selected and n not in self._stuck]
        runs = {name: _Run() for name in todo}
        batch = _Batch([partial(self._run, name, self.collectors[name], runs[name]) for name in todo])
        for run in runs.values():
            run.batch = batch
        while True:
            if batch.has_pending():
                self._workers.submit(batch.drain)
            left = deadline - time.perf_counter()
            if left <= 0 or batch.wait(min(left, self.stall)):
                break
        batch.close()
        late: set[str] = set()
        with self._lock:
            for name in selected:
                if name not in runs or not runs[name].finished:
                    late.add(name)
                    if name in runs and runs[name].started:
                        self._stuck.add(name)  # cleared by _run when it finally returns
        return self._report(selected, runs, late, timeout)

    def _report(
        self, selected: frozenset[str], runs: dict[str, _Run], late: set[str], timeout: float
    ) -> list[Family]:
        """The collected families in collector order, then the three self-metric families."""
        success = Family(
            f"{_NAMESPACE}_scrape_collector_success",
            "gauge",
            "node_exporter: Whether a collector succeeded.",
            ("collector",),
        )
        duration = Family(
            f"{_NAMESPACE}_scrape_collector_duration_seconds",
            "gauge",
            "node_exporter: Duration of a collector scrape.",
            ("collector",),
        )
        timeouts = Family(
            f"{_NAMESPACE}_scrape_collector_timeouts_total",
            "counter",
            "Scrapes that gave up waiting for a collector past the scrape deadline.",
            ("collector",),
        )
        out: list[Family] = []
        for name in self.collectors:
            if name not in selected:
                continue
            if name in late:
                with self._lock:
                    self._timeouts[name] += 1
                log.warning("collector %s did not finish within %.3fs", name, timeout)
                success.add((name,), 0)
                duration.add((name,), timeout)
            else:
                run = runs[name]
                if run.error is not None:
                    log.error("collector %s failed: %r", name, run.error)
                    success.add((name,), 0)
                else:
                    out.extend(run.families)
                    success.add((name,), 1)
                duration.add((name,), run.duration)
            timeouts.add((name,), self._timeouts[name])
        out += (duration, success, timeouts)
        return out
