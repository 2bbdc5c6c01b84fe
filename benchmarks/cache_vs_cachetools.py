"""A cache hit through our metered ``cached`` side by side with ``cachetools.cached(TTLCache)``, in one run.

What is measured, and how
-------------------------
The same function (``def title(video_id: str) -> str``) is decorated twice, with the same maxsize
(1024) and ttl (300 s, longer than the run) and the same clock (``time.monotonic``):

1. ours: ``@cached(ttl=300, maxsize=1024, name="titles", metrics=MetricSet())``, metrics included
   (every hit increments ``cache_requests_total{result="hit"}``);
2. anchor: ``@cachetools.cached(cachetools.TTLCache(maxsize=1024, ttl=300))``, no metrics and no lock
   (cachetools' fastest configuration); the same with ``lock=threading.Lock()``, thread-safe as ours
   is, is printed beside it for information.

Both are warmed with 1000 YouTube-like video ids (11-character strings), so every timed call is a
hit; a timing is ``number`` passes over the 1000 ids (``for v in ids: f(v)``), and a hit's cost is
that time per call, the loop included, for both alike. Each round times both (and a plain call, for
reference) in a rotating order, and the figure reported is the median over rounds (p25/p75 beside it).
After the run our hit and miss counters are checked against the calls made.

Targets, each printed with PASS/FAIL: our hit at most 0.5 µs, and at least 3x faster than cachetools'.

Usage: ``python benchmarks/cache_vs_cachetools.py [--quick] [--rounds N] [--number N]``; ``--quick``
is a smoke run. Needs ``cachetools`` (a dev dependency).
Exit status: 0 when every target passes, 1 when one fails, 2 when cachetools is missing.
"""

from __future__ import annotations

import platform
import sys
import threading
import timeit
from collections.abc import Callable

from _timing import quartiles, rotating_rounds, rounds_and_number, warmup_runs

from exporter.instrumentation import MetricSet, cached

TARGET_NS, TARGET_RATIO = 500.0, 3.0
MAXSIZE, TTL = 1024, 300.0
IDS = [f"vid{i:08d}" for i in range(1000)]  # 11 characters, like a YouTube video id
PLAIN, OURS, ANCHOR = "plain call (no cache)", "ours: cached (metered)", "cachetools.cached(TTLCache)"
LOCKED = "cachetools, lock=Lock() (for info)"  # thread-safe like ours; not a target


def title(video_id: str) -> str:
    return video_id.upper()


def candidates(metrics: MetricSet) -> dict[str, Callable[[str], str]]:
    import cachetools  # noqa: PLC0415 (imported here so that a missing package is one clear line)

    ours = cached(ttl=TTL, maxsize=MAXSIZE, name="titles", metrics=metrics)(title)
    theirs = cachetools.cached(cachetools.TTLCache(maxsize=MAXSIZE, ttl=TTL))(title)
    locked = cachetools.cached(cachetools.TTLCache(maxsize=MAXSIZE, ttl=TTL), lock=threading.Lock())(title)
    for video_id in IDS:
        ours(video_id)
        theirs(video_id)
        locked(video_id)
    return {PLAIN: title, OURS: ours, ANCHOR: theirs, LOCKED: locked}


def main(argv: list[str] | None = None) -> int:
    rounds, number = rounds_and_number(
        argv, __doc__.splitlines()[0], rounds=(41, 9), number=(200, 20), unit="passes over the ids"
    )

    metrics = MetricSet()
    try:
        funcs = candidates(metrics)
    except ImportError:
        print("cachetools is not installed: .venv/bin/pip install cachetools", file=sys.stderr)
        return 2
    timers = {n: timeit.Timer("for v in ids: f(v)", globals={"f": f, "ids": IDS}) for n, f in funcs.items()}
    per_call = rotating_rounds(timers, rounds, number, calls_per_run=len(IDS))

    print(
        f"Python {platform.python_version()} on {platform.machine()}, {rounds} rounds x {number} x 1000 hits"
    )
    print(f"{'candidate':32} {'hit ns p25 / median / p75':>30}")
    median: dict[str, float] = {}
    for name, values in per_call.items():
        low, median[name], high = quartiles(values)
        print(f"{name:32} {f'{low:.1f} / {median[name]:.1f} / {high:.1f}':>30}")
    ours, theirs = median[OURS], median[ANCHOR]
    ratios = [t / o for o, t in zip(per_call[OURS], per_call[ANCHOR], strict=True)]
    print(f"ratio cachetools / ours: {theirs / ours:.2f}x (per-round ratios: min {min(ratios):.2f}x)")

    hits = sum(s.value for m in metrics.collect() for s in m.samples if s.labels.get("result") == "hit")
    misses = sum(s.value for m in metrics.collect() for s in m.samples if s.labels.get("result") == "miss")
    calls = (rounds * number + warmup_runs(number)) * len(IDS)
    checks = [
        (f"our hit {ours:.1f} ns <= {TARGET_NS:.0f} ns", ours <= TARGET_NS),
        (
            f"ours {theirs / ours:.2f}x faster than cachetools >= {TARGET_RATIO:.0f}x",
            theirs / ours >= TARGET_RATIO,
        ),
        (
            f"our counters saw every call ({hits:.0f} hits == {calls}, {misses:.0f} misses == 1000)",
            (hits, misses) == (calls, len(IDS)),
        ),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
