"""Several worker processes (gunicorn, uvicorn --workers): each publishes to files, one scrape sums them.

Each worker writes its values to prometheus_client's multiprocess files in ``PROMETHEUS_MULTIPROC_DIR``
(every ``interval`` seconds, at exit, and on `flush`), plus ``process_worker_*`` gauges with a
``pid`` label; whichever worker serves ``/metrics`` reads them with `MultiProcessCollector`, which
first folds dead workers' files into ``*_archive.db`` files, so that a scrape reads a few files, not
one per worker that ever ran::

    # gunicorn.conf.py (without --preload; with --preload call enable_multiprocess() at app import)
    def post_fork(server, worker):
        enable_multiprocess()
    def child_exit(server, worker):
        mark_process_dead(worker.pid)
    # the app
    registry = CollectorRegistry()
    registry.register(MultiProcessCollector(metrics=DEFAULT_METRICS))

What a dead worker's values become, by type and gauge mode:

- counters, histograms, summaries and ``sum`` gauges: summed into the archive, so totals never drop;
- ``max`` / ``min`` gauges: the max / min over all workers kept; ``mostrecent``: the newest value kept;
- ``all`` gauges and every ``live*`` mode: dropped (``all`` is one series per pid: a dead pid's would
  pile up, one file each; prometheus_client keeps them until the directory is wiped).

Use one directory per host, emptied at deploy, and one `Publisher` per process and directory.
prometheus_client's own metrics in multiprocess mode write the same ``counter_<pid>.db`` files: do
not use them in the same processes (their files from other processes are read and compacted fine);
its collector can read this directory, but without our lock it may count a compaction in progress twice.
A process that ends with ``os._exit`` (multiprocessing's fork children) skips ``atexit``: call
`flush` first; SIGKILL loses what changed since the last flush.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator

from prometheus_client.metrics_core import Metric

from exporter.instrumentation import _mpfiles, _mpstore
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet
from exporter.instrumentation._mppublish import ACTIVE, RETIRED, Publisher, install_hooks, log

__all__ = ["MultiProcessCollector", "Publisher", "enable_multiprocess", "flush", "mark_process_dead"]


def resolve_directory(directory: str | None) -> str:
    """``directory``, else ``$PROMETHEUS_MULTIPROC_DIR``, made absolute; ValueError if not a directory."""
    path = directory if directory is not None else os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        raise ValueError("multiprocess: pass directory= or set PROMETHEUS_MULTIPROC_DIR")
    if not os.path.isdir(path):
        raise ValueError(f"multiprocess: {path!r} is not a directory")
    return os.path.realpath(path)


def enable_multiprocess(
    metrics: MetricSet = DEFAULT_METRICS, directory: str | None = None, interval: float = 1.0
) -> Publisher:
    """Publish ``metrics`` from this process: now, every ``interval`` seconds, at exit, and from forks.

    Call it once per worker (gunicorn ``post_fork``), or once before forking (``--preload``): each
    child then publishes what happens in it. Calling it again for the same metrics returns the same
    `Publisher`.

    Args:
        metrics: the families to publish.
        directory: the shared directory (default: ``$PROMETHEUS_MULTIPROC_DIR``).
        interval: seconds between flushes from the background thread.

    Example:
        >>> import tempfile
        >>> metrics = MetricSet()
        >>> metrics.counter("jobs_total", "Jobs done.").labels().inc()
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     publisher = enable_multiprocess(metrics, directory)
        ...     scraped = list(MultiProcessCollector(directory).collect())
        ...     totals = [s.value for m in scraped for s in m.samples if s.name == "jobs_total"]
        ...     publisher.close()
        >>> totals
        [1.0]
    """
    if not (interval > 0 and math.isfinite(interval)):
        raise ValueError(f"multiprocess: interval must be a positive number of seconds, got {interval}")
    path = resolve_directory(directory)
    existing = ACTIVE.get(id(metrics))
    if existing is not None:
        if existing.directory != path:
            raise ValueError(f"multiprocess: these metrics are already published to {existing.directory!r}")
        return existing
    if any(p.directory == path for p in ACTIVE.values()):
        raise ValueError(f"multiprocess: another MetricSet already publishes to {path!r} from this process")
    install_hooks()
    publisher = Publisher(metrics, path, interval, baseline=RETIRED.get(metrics, {}).get(path))
    publisher.flush()
    ACTIVE[id(metrics)] = publisher
    publisher.start(flush_first=False)
    return publisher


def flush(metrics: MetricSet = DEFAULT_METRICS) -> None:
    """Write ``metrics``' values now, e.g. before ``os._exit``; ValueError if they are not published."""
    publisher = ACTIVE.get(id(metrics))
    if publisher is None:
        raise ValueError("multiprocess: these metrics are not published; call enable_multiprocess() first")
    publisher.flush()


class MultiProcessCollector:
    """Collector of every worker's values in the directory, for a ``CollectorRegistry``.

    Like prometheus_client's MultiProcessCollector (counters and histograms summed, gauges by their
    mode, ``pid`` labels for ``all``/``liveall``), and it first folds dead workers' files into the
    archives under the directory lock, so that scrapes stay fast however many workers have died.

    Args:
        directory: the shared directory (default: ``$PROMETHEUS_MULTIPROC_DIR``).
        metrics: this process's published metrics, flushed first so that a scrape has their newest values.
        alive: tells whether a pid is alive (injected in tests).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     list(MultiProcessCollector(directory).collect())
        []
    """

    def __init__(
        self,
        directory: str | None = None,
        metrics: MetricSet | None = None,
        *,
        alive: Callable[[int], bool] = _mpfiles.pid_alive,
    ) -> None:
        self.directory = resolve_directory(directory)
        self.metrics = metrics
        self._alive = alive
        self._aggregator = _mpstore.Aggregator()

    def collect(self) -> Iterator[Metric]:
        """Fold dead workers' files, then read every file under the shared lock."""
        own = ACTIVE.get(id(self.metrics)) if self.metrics is not None else None
        if own is not None:
            try:
                own.flush()
            except OSError:
                log.exception("multiprocess: flushing before the scrape failed; serving the last flush")
        directory = self.directory
        for _ in range(3):  # bounded: another compaction can only interrupt us so often
            with _mpstore.locked(directory, exclusive=False):
                files, journal = _mpstore.list_files(directory)
                pids = {f.pid for f in files if f.pid is not None}
                if not journal and all(self._alive(pid) for pid in pids):
                    return iter(self._aggregator.read(directory, files))
            with _mpstore.locked(directory, exclusive=True):
                _mpstore.compact(directory, lambda pid: not self._alive(pid))
        with _mpstore.locked(directory, exclusive=True):  # still busy: read under the exclusive lock
            _mpstore.compact(directory, lambda pid: not self._alive(pid))
            return iter(self._aggregator.read(directory, _mpstore.list_files(directory)[0]))

    def describe(self) -> list[Metric]:
        """Nothing: which families exist is only known by reading the files."""
        return []


def mark_process_dead(pid: int, directory: str | None = None) -> int:
    """Fold a dead worker's files into the archives at once (gunicorn's ``child_exit``); the files folded.

    Scrapes fold dead workers too; this makes it happen at the exit, not at the next scrape. A pid
    that is alive again (reused) is left alone: its new process folds the old files itself.

    Args:
        pid: the worker that exited.
        directory: the shared directory (default: ``$PROMETHEUS_MULTIPROC_DIR``).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     mark_process_dead(4242, directory)  # nothing there to fold
        0
    """
    path = resolve_directory(directory)
    with _mpstore.locked(path, exclusive=True):
        return _mpstore.compact(path, lambda p: p == pid and not _mpfiles.pid_alive(p))
