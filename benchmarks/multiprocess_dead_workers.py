"""Scrape time with 1,000 dead workers' files against none: ours, side by side with prometheus_client's.

What is measured, and how
-------------------------
Every worker has the same metrics: 5 counters with a ``kind`` label (3 values each) and 2 histograms
with a ``route`` label (2 values each, the 12 default buckets), plus the 4 per-worker process gauges.

1. Dead workers are real processes: this process publishes its metrics with ``enable_multiprocess``
   and forks ``--workers`` children one after the other; each child counts, publishes through the
   fork hook's publisher and ``flush()``, then ends with ``os._exit`` (as a crashed worker, it leaves
   its files behind). A pid the kernel reuses during the run is folded by the new child at its start,
   so the number of dead workers' files is counted, not assumed.
2. A second directory holds only a live worker with the same metrics and values (this process,
   through a second MetricSet): the "none" case.
3. Before our first scrape, the dead directory is copied for prometheus_client's MultiProcessCollector,
   which reads every file on every scrape (it does not compact).
4. Our first scrape of the dead directory compacts it (timed: the one-off compaction). Then blocks of
   ``--per-block`` scrapes alternate between the two directories, the order alternating too, so that
   machine noise hits both alike; a scrape is ``list(collector.collect())``. Medians are printed.
   prometheus_client's collector is timed on the copy (``--client-scrapes`` times) and on the "none"
   directory. All collectors must agree on the totals.

Target: our median scrape with the dead workers' files at most 2.0x our median with none.
Usage: ``.venv/bin/python benchmarks/multiprocess_dead_workers.py [--workers N] [--blocks B]``.
Exit status: 0 when the target passes, 1 when it fails, 2 on a setup error (one line on stderr).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from prometheus_client.metrics_core import Metric  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector as ClientCollector  # noqa: E402

from exporter.instrumentation import Counter, Histogram, MetricSet  # noqa: E402
from exporter.instrumentation.multiprocess import (  # noqa: E402
    MultiProcessCollector,
    Publisher,
    enable_multiprocess,
    flush,
)

TARGET = 2.0
KINDS, ROUTES = ("video", "channel", "playlist"), ("/sync", "/health")
Families = tuple[list[Counter], list[Histogram]]


def build(metrics: MetricSet) -> Families:
    counters = [metrics.counter(f"bench_events_{i}_total", f"Events {i}.", ["kind"]) for i in range(5)]
    histograms = [
        metrics.histogram(f"bench_latency_{i}_seconds", f"Latency {i}.", ["route"]) for i in range(2)
    ]
    return counters, histograms


def work(families: Families) -> None:
    """What one worker does: the same every time, so that the totals are known."""
    counters, histograms = families
    for counter in counters:
        for n, kind in enumerate(KINDS, 1):
            for _ in range(n):
                counter.labels(kind).inc()
    for histogram in histograms:
        for route in ROUTES:
            for value in (0.00390625, 0.0625, 0.375, 1.875, 3.0):  # binary fractions: sums are exact
                histogram.labels(route).observe(value)


def make_dead_workers(directory: str, workers: int) -> tuple[Publisher, float]:
    """Fork ``workers`` children that publish and die; this process stays as the live worker."""
    metrics = MetricSet()
    families = build(metrics)
    work(families)
    publisher = enable_multiprocess(metrics, directory, interval=3600)
    started = time.perf_counter()
    for _ in range(workers):
        pid = os.fork()
        if (
            pid == 0
        ):  # the child: its publisher comes from the fork hook, with this process's values as baseline
            try:
                work(families)
                flush(metrics)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise RuntimeError(f"forked worker {pid} exited with status {status}")
    return publisher, time.perf_counter() - started


def totals(metrics: Iterable[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in metrics
        if not m.name.startswith("process_worker")  # per pid: differ between the directories by design
        for s in m.samples
    }


def timed(collect: Callable[[], Iterable[Metric]]) -> float:
    started = time.perf_counter()
    list(collect())
    return time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=1000, help="dead workers to make (default 1000)")
    parser.add_argument("--blocks", type=int, default=20, help="alternating blocks of scrapes (default 20)")
    parser.add_argument("--per-block", type=int, default=25, help="scrapes per block (default 25)")
    parser.add_argument("--client-scrapes", type=int, default=5, help="prometheus_client scrapes (default 5)")
    args = parser.parse_args(argv)
    if min(args.workers, args.blocks, args.per_block, args.client_scrapes) < 1:
        print("multiprocess_dead_workers: every count must be at least 1", file=sys.stderr)
        return 2
    warnings.filterwarnings(
        "ignore", category=DeprecationWarning, message=".*fork.*"
    )  # 3.12+: fork with threads
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as tmp:
        dead_dir, none_dir, client_dir = (os.path.join(tmp, name) for name in ("dead", "none", "client"))
        os.mkdir(dead_dir)
        os.mkdir(none_dir)
        dead_publisher, fork_seconds = make_dead_workers(dead_dir, args.workers)
        live_metrics = MetricSet()
        work(build(live_metrics))
        publishers = [dead_publisher, enable_multiprocess(live_metrics, none_dir, interval=3600)]
        live_pid = str(os.getpid())
        dead_files = [n for n in os.listdir(dead_dir) if n.endswith(".db") and live_pid not in n]
        dead_pids = {n.rsplit("_", 1)[1] for n in dead_files}
        shutil.copytree(dead_dir, client_dir)
        ours_dead, ours_none = MultiProcessCollector(dead_dir), MultiProcessCollector(none_dir)
        client_dead, client_none = (
            ClientCollector(None, path=client_dir),
            ClientCollector(None, path=none_dir),
        )

        compaction = timed(ours_dead.collect)
        left = len([n for n in os.listdir(dead_dir) if n.endswith(".db")])
        expected = {k: v * (args.workers + 1) for k, v in totals(ours_none.collect()).items()}
        agree = totals(ours_dead.collect()) == expected == totals(client_dead.collect())

        samples: dict[str, list[float]] = {"none": [], "dead": []}
        for block in range(args.blocks):
            order = ("none", "dead") if block % 2 == 0 else ("dead", "none")
            for which in order:
                collector = ours_none if which == "none" else ours_dead
                samples[which].extend(timed(collector.collect) for _ in range(args.per_block))
        client_dead_times = [timed(client_dead.collect) for _ in range(args.client_scrapes)]
        client_none_times = [timed(client_none.collect) for _ in range(args.blocks * args.per_block // 10)]
        for publisher in publishers:
            publisher.close()

    none_med, dead_med = statistics.median(samples["none"]), statistics.median(samples["dead"])
    client_dead_med, client_none_med = (
        statistics.median(client_dead_times),
        statistics.median(client_none_times),
    )
    ratio = dead_med / none_med
    print(
        f"dead workers: {len(dead_pids)} real processes (os.fork of this one, published through the fork "
        f"hook and flush(), then os._exit), {len(dead_files)} files; forking took {fork_seconds:.1f} s"
    )
    print(
        f"totals agree (ours with dead, expected, prometheus_client on the copy): {'yes' if agree else 'NO'}"
    )
    print(
        f"one-off compaction (first scrape of the dead directory): {ms(compaction)}; .db files left: {left}"
    )
    print(f"ours, no dead workers                  median {ms(none_med)}   ({len(samples['none'])} scrapes)")
    print(f"ours, {len(dead_pids)} dead workers (compacted)   median {ms(dead_med)}   ratio {ratio:5.2f}x")
    client_none_n = len(client_none_times)
    print(f"prometheus_client, no dead workers     median {ms(client_none_med)}   ({client_none_n} scrapes)")
    print(
        f"prometheus_client, same {len(dead_files)} files  median {ms(client_dead_med)}   "
        f"{client_dead_med / dead_med:,.0f}x ours with the dead workers ({args.client_scrapes} scrapes)"
    )
    passed = ratio <= TARGET and agree
    verdict = "PASS" if passed else "FAIL"
    print(f"target: ours with dead <= {TARGET:.1f}x ours with none, totals agreeing: {verdict}")
    return 0 if passed else 1


def _run() -> Any:
    try:
        return main()
    except (OSError, RuntimeError, ValueError) as err:
        print(f"multiprocess_dead_workers: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(_run())
