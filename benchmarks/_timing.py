"""What the micro-benchmarks share: their flags and rounds of ``timeit`` in rotating order.

Each round times every candidate once, starting one further along each time, so that drift in the
machine's speed (other sessions, frequency changes) hits every candidate alike; figures are per-call
nanoseconds for each round, summarised by quartiles.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Sequence


def rounds_and_number(
    argv: Sequence[str] | None,
    description: str,
    *,
    rounds: tuple[int, int],
    number: tuple[int, int],
    unit: str,
) -> tuple[int, int]:
    """Parse ``--quick``, ``--rounds`` and ``--number``; ``rounds`` and ``number`` are (full, quick)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer, shorter rounds")
    parser.add_argument(
        "--rounds", type=int, default=None, help=f"rounds (default {rounds[0]}, quick {rounds[1]})"
    )
    parser.add_argument(
        "--number", type=int, default=None, help=f"{unit} per timing (default {number[0]}, quick {number[1]})"
    )
    args = parser.parse_args(argv)
    return args.rounds or rounds[args.quick], args.number or number[args.quick]


def rotating_rounds(
    timers: dict[str, timeit.Timer], rounds: int, number: int, calls_per_run: int = 1
) -> dict[str, list[float]]:
    """Nanoseconds per call of every timer in each round, after a warm-up, in rotating order."""
    names = list(timers)
    for t in timers.values():
        t.timeit(warmup_runs(number))
    per_call: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            per_call[n].append(timers[n].timeit(number) / (number * calls_per_run) * 1e9)
    return per_call


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """p25, median and p75."""
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def warmup_runs(number: int) -> int:
    """How many runs `rotating_rounds` makes of each timer before timing (to count calls exactly)."""
    return max(number // 10, 1)
