"""What `ApiCaller` adds to one outbound API request, beside a hand-written equivalent, in one run.

What is measured, and how
-------------------------
``send`` returns a ready 200 response at once (no network), so what is timed is the wrapper alone:

1. ``ApiCaller`` with the retry policy only (calls, requests, duration, no limiter or quota);
2. ``ApiCaller`` with a `TokenBucket` that never waits and a `QuotaTracker` on a `MemoryLedger`;
3. the same with a `FileLedger` (an ``flock``-ed read-modify-write of a file per request);
4. the anchor: the same work written by hand with prometheus_client (a counter, a histogram, a
   locked token count and a locked quota count, children resolved once).

Each round times every candidate with ``timeit`` in a rotating order, so machine noise hits all alike;
a candidate's overhead in a round is its per-call time minus the bare ``send()``'s in that round, and
the figure reported is the median over rounds (p25/p75 beside it). After the run, the calls counter
is checked against the number of calls made.

Target, printed with PASS/FAIL: ``ApiCaller`` with limiter and in-memory quota adds at most 20 µs per
request (0.02 % of a 100 ms YouTube Data API request).

Usage: ``python benchmarks/apiclient_overhead.py [--quick] [--rounds N] [--number N]``.
Exit status: 0 when the target passes, 1 when it fails.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path

from _timing import quartiles, rotating_rounds, rounds_and_number, warmup_runs
from prometheus_client import CollectorRegistry, Counter, Histogram

from exporter.instrumentation import MetricSet
from exporter.instrumentation._apiclient import ApiCaller
from exporter.instrumentation._quota import FileLedger, QuotaTracker
from exporter.instrumentation._ratelimit import TokenBucket

TARGET_NS = 20_000.0


class Reply:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012 (a read-only fake)


REPLY = Reply()


def send() -> Reply:
    return REPLY


def caller(metrics: MetricSet, *, limited: bool, ledger: FileLedger | None = None) -> ApiCaller:
    if not limited:
        return ApiCaller(metrics=metrics)
    quota = QuotaTracker(daily_limit=10**15, ledger=ledger, metrics=metrics)
    return ApiCaller(limiter=TokenBucket(1e12, 1e9), quota=quota, metrics=metrics)


def by_hand() -> Callable[[], Reply]:
    registry = CollectorRegistry()
    requests = Counter("hand_requests_total", "R.", ["api", "method", "status_class"], registry=registry)
    duration = Histogram("hand_duration_seconds", "D.", ["api", "method"], registry=registry)
    inc, observe = (
        requests.labels("youtube", "videos.list", "2xx").inc,
        duration.labels("youtube", "videos.list").observe,
    )
    lock, state = threading.Lock(), {"tokens": 1e9, "used": 0}
    clock = time.perf_counter

    def call() -> Reply:
        with lock:
            state["tokens"] -= 1
            state["used"] += 1
        start = clock()
        response = send()
        observe(clock() - start)
        inc()
        return response

    return call


def main(argv: list[str] | None = None) -> int:
    rounds, number = rounds_and_number(
        argv, __doc__.splitlines()[0], rounds=(21, 5), number=(20_000, 2_000), unit="calls"
    )

    metrics = MetricSet()
    with tempfile.TemporaryDirectory() as tmp:
        callers = {
            "ApiCaller, retry only": caller(MetricSet(), limited=False),
            "ApiCaller + limiter + memory quota": caller(metrics, limited=True),
            "ApiCaller + limiter + file quota": caller(
                MetricSet(), limited=True, ledger=FileLedger(Path(tmp) / "quota.json")
            ),
        }
        funcs: dict[str, Callable[[], object]] = {
            "bare send()": send,
            "by hand (prometheus_client)": by_hand(),
        }
        funcs.update({name: (lambda c=c: c.call("videos.list", send)) for name, c in callers.items()})
        timers = {n: timeit.Timer("f()", globals={"f": f}) for n, f in funcs.items()}
        per_call = rotating_rounds(timers, rounds, number)

    calls = metrics.get("api_client_calls_total")
    made = rounds * number + warmup_runs(number)  # the rounds plus the warm-up
    counted = calls.labels("youtube", "videos.list").get() if calls is not None else -1
    print(f"python {platform.python_version()} on {platform.machine()}, {rounds} rounds x {number} calls")
    base = per_call["bare send()"]
    results: dict[str, float] = {}
    for name, values in per_call.items():
        if name == "bare send()":
            continue
        overhead = [v - b for v, b in zip(values, base, strict=True)]
        q1, med, q3 = quartiles(overhead)
        results[name] = med
        print(f"  {name:38s} +{med / 1000:7.2f} µs per call (p25 {q1 / 1000:.2f}, p75 {q3 / 1000:.2f})")
    measured = results["ApiCaller + limiter + memory quota"]
    ok = measured <= TARGET_NS and counted == made
    ratio = measured / results["by hand (prometheus_client)"]
    print(
        f"  ApiCaller (limiter + memory quota) / by hand: {ratio:.2f}x; calls counted {counted:.0f} of {made}"
    )
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict}: ApiCaller with limiter and memory quota adds <= {TARGET_NS / 1000:.0f} µs per request")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
