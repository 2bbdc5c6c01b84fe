"""Multiprocess mode with real worker processes (spawned): exact totals, dead workers, forks, compaction."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector

from exporter.instrumentation import Counter, Histogram, MetricSet, _mpfiles, _mpstore
from exporter.instrumentation.multiprocess import MultiProcessCollector as Collector
from exporter.instrumentation.multiprocess import (
    enable_multiprocess,
    flush,
    mark_process_dead,
)

CTX = multiprocessing.get_context("spawn")
WAIT = 60.0  # seconds: the bound on every join and wait
PROCESS_NAMES = set(_mpfiles.PROCESS_HELP)
CLIENT_COLLECTOR: Any = MultiProcessCollector  # prometheus_client's, not annotated
CLIENT_MMAP: Any = MmapedDict
Totals = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# --- what the worker processes run (module level, so that spawn can import them) -----------------------


def build() -> tuple[MetricSet, Counter, Histogram]:
    metrics = MetricSet()
    jobs = metrics.counter("jobs_total", "Jobs done.", ["kind"])
    duration = metrics.histogram("job_duration_seconds", "Job time.", ["kind"], buckets=(0.1, 1.0, 2.0))
    return metrics, jobs, duration


def count(jobs: Counter, duration: Histogram, n: int, kind: str) -> None:
    for i in range(n):
        jobs.labels(kind).inc()
        duration.labels(kind).observe(0.5 if i % 2 else 1.5)


def counting_worker(directory: str, n: int, kind: str) -> None:
    """Counts ``n`` jobs and returns; only the exit hook publishes them (the interval is an hour)."""
    metrics, jobs, duration = build()
    enable_multiprocess(metrics, directory, interval=3600)
    count(jobs, duration, n, kind)


def waiting_worker(directory: str, n: int, ready: Event, release: Event) -> None:
    """Counts ``n`` jobs, flushes, says so, and waits (to be SIGKILLed, or released)."""
    metrics, jobs, duration = build()
    enable_multiprocess(metrics, directory, interval=3600)
    count(jobs, duration, n, "a")
    flush(metrics)
    ready.set()
    release.wait(WAIT)


def gauge_worker(directory: str, value: float, ready: Event, release: Event) -> None:
    """Sets one gauge of each kind of mode to ``value``, flushes, and waits."""
    metrics = MetricSet()
    metrics.gauge("requests_in_flight", "Requests.", multiprocess_mode="livesum").labels().set(value)
    metrics.gauge("queue_peak", "Peak.", multiprocess_mode="max").labels().set(value)
    metrics.gauge("config_version", "Config.", multiprocess_mode="mostrecent").labels().set(value)
    metrics.gauge("worker_load", "Load.", multiprocess_mode="liveall").labels().set(value)
    metrics.gauge("worker_generation", "Generation.", multiprocess_mode="all").labels().set(value)
    enable_multiprocess(metrics, directory, interval=3600)
    ready.set()
    release.wait(WAIT)


def forking_worker(directory: str) -> None:
    """5 jobs before enabling, a forked child counts 3 (and exits without atexit), then the parent 2."""
    metrics, jobs, duration = build()
    count(jobs, duration, 5, "a")
    enable_multiprocess(metrics, directory, interval=3600)
    pid = os.fork()
    if pid == 0:
        try:
            count(jobs, duration, 3, "a")
            flush(metrics)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    count(jobs, duration, 2, "a")


def collecting_worker(directory: str, barrier: Barrier, results: Any) -> None:
    barrier.wait(WAIT)
    results.put(totals(Collector(directory).collect()))


# --- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def spawn() -> Iterator[Callable[..., BaseProcess]]:
    """Start a spawned worker process; any still running at teardown is killed."""
    started: list[BaseProcess] = []

    def start(target: Callable[..., None], *args: object) -> BaseProcess:
        process = CTX.Process(target=target, args=args)
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.is_alive():
            process.kill()
        process.join(WAIT)


def finish(*processes: BaseProcess) -> None:
    for process in processes:
        process.join(WAIT)
        assert process.exitcode == 0


def sigkill(process: BaseProcess) -> None:
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join(WAIT)


def totals(metrics: Iterable[Metric]) -> Totals:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in metrics for s in m.samples}


def scrape(directory: Path) -> Totals:
    return totals(Collector(str(directory)).collect())


def job_totals(scraped: Totals, kind: str = "a") -> tuple[float, float, float, float]:
    """jobs_total, the histogram's count, its le=1.0 bucket and its sum, for ``kind``."""
    k = (("kind", kind),)
    return (
        scraped["jobs_total", k],
        scraped["job_duration_seconds_count", k],
        scraped["job_duration_seconds_bucket", (*k, ("le", "1.0"))],
        scraped["job_duration_seconds_sum", k],
    )


def expected(*ns: int) -> tuple[float, float, float, float]:
    """What `count` makes of ``n`` jobs in each worker: n // 2 of them 0.5 s, the rest 1.5 s."""
    fast = sum(n // 2 for n in ns)
    return float(sum(ns)), float(sum(ns)), float(fast), 0.5 * fast + 1.5 * (sum(ns) - fast)


def pids_of(scraped: Totals, name: str) -> set[str]:
    return {dict(labels)["pid"] for sample, labels in scraped if sample == name}


def write_dead_worker(directory: Path, pid: int, n: int) -> None:
    """A worker's files as our writer writes them, for a pid that cannot be alive."""
    metrics, jobs, duration = build()
    count(jobs, duration, n, "a")
    snap = _mpfiles.snapshot(metrics.collect(), {}, _mpfiles.KeyCache())
    writer = _mpfiles.FileWriter(str(directory), pid)
    writer.write({prefix: {k: (v, 0.0) for k, v in values.items()} for prefix, values in snap.items()})
    writer.close()


def dead_pid(i: int) -> int:
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1 + i  # above pid_max: never alive


@pytest.fixture
def published() -> Iterator[list[Any]]:
    """Publishers started in this test process; closed at teardown."""
    publishers: list[Any] = []
    yield publishers
    for publisher in publishers:
        publisher.close()


# --- the tests -------------------------------------------------------------------------------------------


def test_workers_that_exited_add_up_exactly(tmp_path: Path, spawn: Callable[..., BaseProcess]) -> None:
    finish(*[spawn(counting_worker, str(tmp_path), 100 + i, "a") for i in range(4)])
    assert job_totals(scrape(tmp_path)) == expected(100, 101, 102, 103)


def test_a_clean_exit_folds_the_worker_s_files_into_the_archives(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    finish(spawn(counting_worker, str(tmp_path), 10, "a"))
    assert sorted(os.listdir(tmp_path)) == ["counter_archive.db", "histogram_archive.db", "multiprocess.lock"]


def test_counts_of_a_sigkilled_worker_survive_and_its_files_go(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    ready, release = CTX.Event(), CTX.Event()
    killed = spawn(waiting_worker, str(tmp_path), 7, ready, release)
    assert ready.wait(WAIT)
    sigkill(killed)
    finish(spawn(counting_worker, str(tmp_path), 5, "a"))
    first, second = scrape(tmp_path), scrape(tmp_path)
    assert (job_totals(first), job_totals(second)) == (expected(7, 5), expected(7, 5))
    assert not [name for name in os.listdir(tmp_path) if name.endswith(f"_{killed.pid}.db")]


def test_live_gauges_combine_by_mode(tmp_path: Path, spawn: Callable[..., BaseProcess]) -> None:
    release = CTX.Event()
    first_ready, second_ready = CTX.Event(), CTX.Event()
    first = spawn(gauge_worker, str(tmp_path), 7.0, first_ready, release)
    assert first_ready.wait(WAIT)
    second = spawn(gauge_worker, str(tmp_path), 3.0, second_ready, release)  # set later: the most recent
    assert second_ready.wait(WAIT)
    scraped = scrape(tmp_path)
    release.set()
    finish(first, second)
    per_pid = {(dict(labels)["pid"], v) for (name, labels), v in scraped.items() if name == "worker_load"}
    assert (scraped["requests_in_flight", ()], scraped["queue_peak", ()], scraped["config_version", ()]) == (
        10.0,
        7.0,
        3.0,
    )
    assert per_pid == {(str(first.pid), 7.0), (str(second.pid), 3.0)}


def test_a_dead_worker_s_gauges_are_kept_or_dropped_by_mode(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    ready, release = CTX.Event(), CTX.Event()
    killed = spawn(gauge_worker, str(tmp_path), 7.0, ready, release)
    assert ready.wait(WAIT)
    sigkill(killed)
    names = {name for name, _ in scrape(tmp_path)}
    assert names == {"queue_peak", "config_version"}  # max and mostrecent kept; livesum, liveall, all gone
    assert sorted(os.listdir(tmp_path)) == [
        "gauge_max_archive.db",
        "gauge_mostrecent_archive.db",
        "multiprocess.lock",
    ]


def test_files_left_under_a_reused_pid_are_folded_not_overwritten(
    tmp_path: Path, published: list[Any]
) -> None:
    old = CLIENT_MMAP(str(tmp_path / f"counter_{os.getpid()}.db"))  # a dead process that had our pid
    old.write_value(mmap_key("jobs", "jobs_total", ["kind"], ["a"], "Jobs done."), 5.0, 0.0)
    old.close()
    metrics, jobs, duration = build()
    count(jobs, duration, 3, "a")
    published.append(enable_multiprocess(metrics, str(tmp_path), interval=3600))
    assert scrape(tmp_path)["jobs_total", (("kind", "a"),)] == 8.0


def test_a_child_forked_after_enabling_publishes_only_its_own_counts(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    finish(spawn(forking_worker, str(tmp_path)))
    assert job_totals(scrape(tmp_path)) == expected(5, 3, 2)  # the child counts 3, not 8


def test_process_metrics_carry_the_pid_of_live_workers_only(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    # each its own Event: one a SIGKILLed process was waiting on would make set() block for ever
    readies, releases = [CTX.Event() for _ in range(3)], [CTX.Event() for _ in range(3)]
    workers = [spawn(waiting_worker, str(tmp_path), 1, *pair) for pair in zip(readies, releases, strict=True)]
    assert all(ready.wait(WAIT) for ready in readies)
    sigkill(workers[0])
    scraped = scrape(tmp_path)
    for release in releases[1:]:
        release.set()
    finish(*workers[1:])
    live = {str(w.pid) for w in workers[1:]}
    assert {name: pids_of(scraped, name) for name in PROCESS_NAMES} == {name: live for name in PROCESS_NAMES}
    assert all(v > 0 for (name, _), v in scraped.items() if name in PROCESS_NAMES)


def test_collectors_compacting_at_once_each_see_exact_totals(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    for i in range(200):
        write_dead_worker(tmp_path, dead_pid(i), 3)
    barrier, results = CTX.Barrier(4), CTX.Queue()
    collectors = [spawn(collecting_worker, str(tmp_path), barrier, results) for _ in range(3)]
    thread_result: list[Totals] = []

    def in_a_thread() -> None:
        barrier.wait(WAIT)
        thread_result.append(scrape(tmp_path))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    seen = [results.get(timeout=WAIT) for _ in collectors]
    thread.join(WAIT)
    finish(*collectors)
    assert [job_totals(t) for t in [*seen, *thread_result]] == [expected(*[3] * 200)] * 4
    assert sorted(os.listdir(tmp_path)) == ["counter_archive.db", "histogram_archive.db", "multiprocess.lock"]


def test_prometheus_client_reads_our_files_to_the_same_totals(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    finish(*[spawn(counting_worker, str(tmp_path), n, kind) for n, kind in ((4, "a"), (6, "b"))])
    ready, release = CTX.Event(), CTX.Event()
    live = spawn(gauge_worker, str(tmp_path), 2.0, ready, release)
    assert ready.wait(WAIT)
    ours, theirs = scrape(tmp_path), totals(CLIENT_COLLECTOR(None, path=str(tmp_path)).collect())
    release.set()
    finish(live)
    assert ours == theirs
    assert job_totals(ours, "b") == expected(6)


def test_mark_process_dead_folds_a_dead_worker_at_once(
    tmp_path: Path, spawn: Callable[..., BaseProcess]
) -> None:
    ready, release = CTX.Event(), CTX.Event()
    killed = spawn(waiting_worker, str(tmp_path), 9, ready, release)
    assert ready.wait(WAIT)
    sigkill(killed)
    assert killed.pid is not None
    assert mark_process_dead(killed.pid, str(tmp_path)) == 3  # counter, histogram, gauge_liveall
    client = totals(CLIENT_COLLECTOR(None, path=str(tmp_path)).collect())
    assert job_totals(client) == expected(9)


def test_mark_process_dead_leaves_a_live_pid_alone(tmp_path: Path, published: list[Any]) -> None:
    metrics, jobs, duration = build()
    count(jobs, duration, 2, "a")
    published.append(enable_multiprocess(metrics, str(tmp_path), interval=3600))
    assert mark_process_dead(os.getpid(), str(tmp_path)) == 0
    assert job_totals(scrape(tmp_path)) == expected(2)


def test_an_interrupted_compaction_is_finished_before_anyone_reads(tmp_path: Path) -> None:
    for i in range(3):
        write_dead_worker(tmp_path, dead_pid(i), 4)
    with _mpstore.locked(str(tmp_path), exclusive=True):
        plan = _mpstore.commit(str(tmp_path), lambda pid: True)
    for source, target in plan["rename"]:  # the compactor died after renaming, before deleting
        os.replace(tmp_path / source, tmp_path / target)
    collector = Collector(str(tmp_path), alive=lambda pid: True)  # no compaction of its own
    assert job_totals(totals(collector.collect())) == expected(4, 4, 4)
    assert _mpstore.JOURNAL not in os.listdir(tmp_path)


def test_the_collector_flushes_its_own_process_first(tmp_path: Path, published: list[Any]) -> None:
    metrics, jobs, duration = build()
    count(jobs, duration, 1, "a")
    published.append(enable_multiprocess(metrics, str(tmp_path), interval=3600))
    count(jobs, duration, 1, "a")
    before = scrape(tmp_path)["jobs_total", (("kind", "a"),)]
    flushed = totals(Collector(str(tmp_path), metrics=metrics).collect())
    assert (before, flushed["jobs_total", (("kind", "a"),)]) == (1.0, 2.0)


def test_publishing_again_after_close_does_not_count_twice(tmp_path: Path, published: list[Any]) -> None:
    metrics, jobs, duration = build()
    count(jobs, duration, 2, "a")
    enable_multiprocess(metrics, str(tmp_path), interval=3600).close()
    count(jobs, duration, 1, "a")
    published.append(enable_multiprocess(metrics, str(tmp_path), interval=3600))
    assert job_totals(scrape(tmp_path)) == expected(2, 1)


def test_a_pid_of_another_user_is_alive_and_a_missing_one_is_not() -> None:
    def other_user(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    def missing(pid: int, sig: int) -> None:
        raise ProcessLookupError(3, "No such process")

    assert (_mpfiles.pid_alive(1, kill=other_user), _mpfiles.pid_alive(1, kill=missing)) == (True, False)


def test_bad_arguments_are_refused_with_one_line(tmp_path: Path) -> None:
    metrics = MetricSet()
    with pytest.raises(ValueError, match="interval must be a positive"):
        enable_multiprocess(metrics, str(tmp_path), interval=0)
    with pytest.raises(ValueError, match="is not a directory"):
        Collector(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not published"):
        flush(metrics)


def test_a_second_metric_set_cannot_share_this_process_s_files(tmp_path: Path, published: list[Any]) -> None:
    published.append(enable_multiprocess(MetricSet(), str(tmp_path), interval=3600))
    with pytest.raises(ValueError, match="another MetricSet already publishes"):
        enable_multiprocess(MetricSet(), str(tmp_path), interval=3600)
