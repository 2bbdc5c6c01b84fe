"""`observed` side by side with prometheus_client's own ways of timing a function, in one run.

What is measured, and how
-------------------------
One plain function (``def handler(video_id): return video_id``) is called directly and through three
timing wrappers, each with its metrics on a fresh registry or MetricSet:

1. ``observed``: ``@observed(metrics=MetricSet())`` (histogram + derived calls/errors counters);
2. ``Histogram.time()``: prometheus_client's decorator, ``@histogram.labels(...).time()``;
3. naive: ``perf_counter()`` around the call, then ``histogram.observe`` and ``counter.inc`` on
   prometheus_client metrics whose label children were resolved once (what people write by hand).

Each round times every candidate with ``timeit`` (``number`` calls each) in a rotating order, so
machine noise hits all alike; a candidate's overhead in a round is its per-call time minus the plain
call's in that round, and the figure reported is the median over rounds (p25/p75 beside it). After the
run, the observed histogram's count is checked against the number of calls made.

Targets, each printed with PASS/FAIL: ``observed``'s overhead at most 1.0 µs per call, and below
``Histogram.time()``'s measured in the same run.

Usage: ``python benchmarks/observed_vs_prometheus_client.py [--quick] [--rounds N] [--number N]``;
``--quick`` is a smoke run (fewer, shorter rounds).
Exit status: 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from typing import Any

from _timing import quartiles, rotating_rounds, rounds_and_number, warmup_runs
from prometheus_client import CollectorRegistry, Counter, Histogram

from exporter.instrumentation import MetricSet, observed

TARGET_NS = 1000.0
VIDEO_ID = "dQw4w9WgXcQ"


def handler(video_id: str) -> str:
    return video_id


def candidates(metrics: MetricSet) -> dict[str, Callable[[str], str]]:
    registry = CollectorRegistry()
    labels = {"function": "handler", "module": __name__}
    hist = Histogram("prom_duration_seconds", "Duration.", list(labels), registry=registry)
    timed = hist.labels(**labels).time()(handler)

    naive_hist = Histogram("naive_duration_seconds", "Duration.", list(labels), registry=registry)
    naive_calls = Counter("naive_calls_total", "Calls.", [*labels, "result"], registry=registry)
    observe, ok, error = (
        naive_hist.labels(**labels).observe,
        naive_calls.labels(**labels, result="ok").inc,
        naive_calls.labels(**labels, result="error").inc,
    )
    clock = time.perf_counter

    def naive(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            result = handler(*args, **kwargs)
        except BaseException:
            error()
            raise
        observe(clock() - start)
        ok()
        return result

    return {
        "plain call": handler,
        "observed": observed(metrics=metrics)(handler),
        "prometheus_client Histogram.time()": timed,
        "naive perf_counter + observe + inc": naive,
    }


def main(argv: list[str] | None = None) -> int:
    rounds, number = rounds_and_number(
        argv, __doc__.splitlines()[0], rounds=(41, 9), number=(200_000, 20_000), unit="calls"
    )

    metrics = MetricSet()
    funcs = candidates(metrics)
    timers = {n: timeit.Timer("f(v)", globals={"f": f, "v": VIDEO_ID}) for n, f in funcs.items()}
    per_call = rotating_rounds(timers, rounds, number)
    plain = per_call["plain call"]

    print(f"Python {platform.python_version()} on {platform.machine()}, {rounds} rounds x {number} calls")
    print(f"{'candidate':40} {'per call ns (median)':>22} {'overhead ns p25 / median / p75':>34}")
    overhead: dict[str, float] = {}
    for name, values in per_call.items():
        if name == "plain call":
            print(f"{name:40} {statistics.median(values):22.1f} {'-':>34}")
            continue
        low, mid, high = quartiles([v - p for v, p in zip(values, plain, strict=True)])
        overhead[name] = mid
        print(f"{name:40} {statistics.median(values):22.1f} {f'{low:.1f} / {mid:.1f} / {high:.1f}':>34}")

    ours, anchor = overhead["observed"], overhead["prometheus_client Histogram.time()"]
    naive = overhead["naive perf_counter + observe + inc"]
    print(f"overhead ratios: Histogram.time() / observed {anchor / ours:.2f}x,", end=" ")
    print(f"naive / observed {naive / ours:.2f}x")

    calls = rounds * number + warmup_runs(number)
    counted = [s.value for m in metrics.collect() for s in m.samples if s.name.endswith("_count")]
    checks = [
        (f"observed overhead {ours:.1f} ns <= {TARGET_NS:.0f} ns", ours <= TARGET_NS),
        (f"observed overhead {ours:.1f} ns < Histogram.time() {anchor:.1f} ns", ours < anchor),
        (f"observed counted every call ({counted} == [{calls}])", counted == [calls]),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
