"""The worker side of multiprocess mode: `Publisher`, its flush thread, and the fork and exit hooks.

Fork safety (gunicorn ``--preload``): a ``before`` hook holds each publisher's lock so that no flush
is half done at the fork; in the child, an ``after_in_child`` hook replaces each publisher with one
for the child's pid, whose baseline is every counter and histogram value at the fork (the parent's,
which the parent keeps publishing), and which starts its own thread. A process-wide ``atexit`` hook
closes the publishers: last flush, then this pid's files are folded into the archives at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from exporter.instrumentation import _mpfiles, _mpstore
from exporter.instrumentation._metricset import MetricSet

log = logging.getLogger("exporter.instrumentation.multiprocess")
ACTIVE: dict[int, Publisher] = {}  # id(metrics) -> its publisher in this process
# The last values a closed publisher wrote: the baseline if the same metrics are published again.
RETIRED: weakref.WeakKeyDictionary[MetricSet, dict[str, _mpfiles.Snapshot]] = weakref.WeakKeyDictionary()
_INSTALLED: list[bool] = []


def compact_pid(directory: str, pid: int) -> int:
    """Fold ``pid``'s files into the archives, under the exclusive lock; the files folded."""
    with _mpstore.locked(directory, exclusive=True):
        return _mpstore.compact(directory, lambda p: p == pid)


class Publisher:
    """Writes one MetricSet's values to this process's files; use the one `enable_multiprocess` returns.

    Keep it to `flush` on demand (before ``os._exit``) or to `close` early (tests); otherwise the
    thread, the fork hook and the exit hook do everything. Counters and histograms are written minus
    a baseline: the values this process inherited when it was forked, which its parent publishes.
    Gauges are states and are written as they are (a forked child that calls ``set(3)`` publishes 3,
    not 3 minus the parent's value); ``mostrecent`` gauges carry the time their value last changed.

    Args:
        metrics: the families to publish; directory: the shared directory; interval: seconds
        between flushes; baseline: values not to publish (by file prefix and key); stamps: the
        parent's mostrecent timestamps; clock: the time source for those timestamps.
    """

    def __init__(
        self,
        metrics: MetricSet,
        directory: str,
        interval: float,
        *,
        baseline: _mpfiles.Snapshot | None = None,
        stamps: dict[str, tuple[float, float]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics, self.directory, self.interval, self.pid = metrics, directory, interval, os.getpid()
        self._baseline = baseline or {}
        self._stamps = dict(stamps or {})  # mostrecent gauges: key -> (value, when it last changed)
        self._clock = clock
        self._keys = _mpfiles.KeyCache()
        self._writer = _mpfiles.FileWriter(directory, self.pid)
        self._raw: _mpfiles.Snapshot = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._claimed = self.closed = self._held = False

    def _snapshot(self) -> _mpfiles.Snapshot:
        modes = {f.name: str(getattr(f, "multiprocess_mode", "livesum")) for f in self.metrics.families()}
        return _mpfiles.snapshot(self.metrics.collect(), modes, self._keys)

    def flush(self) -> None:
        """Write the current values now (the first flush folds files a dead process with this pid left)."""
        with self._lock:
            if self.closed:
                return
            if not self._claimed:
                compact_pid(self.directory, self.pid)
                self._claimed = True
            raw = self._snapshot()
            raw.setdefault("gauge_liveall", {}).update(_mpfiles.process_entries(_mpfiles.read_process()))
            self._writer.write({prefix: self._entries(prefix, values) for prefix, values in raw.items()})
            self._raw = raw

    def _entries(self, prefix: str, values: dict[str, float]) -> _mpfiles.Entries:
        if prefix in _mpfiles.CUMULATIVE:
            base = self._baseline.get(prefix, {})
            return {key: (value - base.get(key, 0.0), 0.0) for key, value in values.items()}
        if not prefix.endswith("mostrecent"):
            return {key: (value, 0.0) for key, value in values.items()}
        now, out = self._clock(), {}
        for key, value in values.items():
            last = self._stamps.get(key)
            if last is None or last[0] != value:
                # never set (still 0): timestamp 0, losing to any set value, as in prometheus_client
                last = self._stamps[key] = (value, 0.0 if last is None and value == 0.0 else now)
            out[key] = last
        return out

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread, flush a last time, and fold this process's files into the archives."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.flush()
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._writer.close()
            compact_pid(self.directory, self.pid)
            cumulative = {p: v for p, v in self._raw.items() if p in _mpfiles.CUMULATIVE}
            RETIRED.setdefault(self.metrics, {})[self.directory] = cumulative
        if ACTIVE.get(id(self.metrics)) is self:
            del ACTIVE[id(self.metrics)]

    def start(self, *, flush_first: bool) -> None:
        """Start the daemon thread that flushes every ``interval`` seconds."""
        self._thread = threading.Thread(target=self._run, args=(flush_first,), name="multiprocess-flush")
        self._thread.daemon = True
        self._thread.start()

    def _run(self, flush_first: bool) -> None:
        failing = [False]
        if flush_first:
            self._flush_logged(failing)
        while not self._stop.wait(self.interval):
            self._flush_logged(failing)

    def _flush_logged(self, failing: list[bool]) -> None:
        try:
            self.flush()
            failing[0] = False
        except Exception:  # one failed flush (full disk, a raising callback) must not stop the next
            if not failing[0]:
                log.exception(
                    "multiprocess: flushing to %s failed; retrying every %ss", self.directory, self.interval
                )
            failing[0] = True

    def forked(self) -> Publisher:
        """Its counterpart in a child just forked: own pid and thread, the values at the fork as baseline."""
        raw = self._snapshot()
        baseline = {p: v for p, v in raw.items() if p in _mpfiles.CUMULATIVE}
        child = Publisher(self.metrics, self.directory, self.interval, baseline=baseline, stamps=self._stamps)
        child._keys = self._keys
        child.start(flush_first=True)
        return child


def install_hooks() -> None:
    """Register the fork and exit hooks, once per process tree (forked children inherit them)."""
    if not _INSTALLED:
        _INSTALLED.append(True)
        os.register_at_fork(
            before=_before_fork, after_in_parent=_after_fork_parent, after_in_child=_after_fork_child
        )
        atexit.register(close_all)


def _before_fork() -> None:
    for publisher in list(ACTIVE.values()):  # no flush half done in the child
        publisher._held = publisher._lock.acquire(timeout=5.0)


def _after_fork_parent() -> None:
    for publisher in list(ACTIVE.values()):
        if publisher._held:
            publisher._held = False
            publisher._lock.release()


def _after_fork_child() -> None:
    parents = [p for p in ACTIVE.values() if not p.closed]
    ACTIVE.clear()
    for parent in parents:
        try:
            ACTIVE[id(parent.metrics)] = parent.forked()
        except Exception:  # a fork hook must not raise; this child then publishes nothing
            log.exception("multiprocess: could not start publishing in forked child %s", os.getpid())


def close_all() -> None:
    """Close every publisher of this process (at exit)."""
    for publisher in list(ACTIVE.values()):
        try:
            publisher.close()
        except Exception:  # at exit, one directory's failure must not stop the others
            log.exception("multiprocess: final flush to %s failed", publisher.directory)
