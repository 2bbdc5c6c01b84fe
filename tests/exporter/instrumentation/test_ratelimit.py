"""The token bucket: exact sleeps with an injected clock, reservations in order, timeouts, threads, async."""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from collections.abc import Callable

import pytest

from exporter.instrumentation._errors import RateLimitTimeout
from exporter.instrumentation._ratelimit import TokenBucket


class Clock:
    """A fake monotonic clock; ``sleep`` records each duration and, if ``advance``, moves the clock."""

    def __init__(self, advance: bool = False) -> None:
        self.now = 100.0
        self.advance = advance
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.advance:
            self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def bucket(clock: Clock, rate: float = 4, burst: float = 2) -> TokenBucket:
    return TokenBucket(rate, burst, timer=clock, sleep=clock.sleep, async_sleep=clock.async_sleep)


def test_a_full_bucket_grants_a_burst_without_sleeping() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=1, burst=3)
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.slept == []


def test_acquire_sleeps_exactly_the_deficit_and_queues_reservations() -> None:
    clock = Clock()  # the clock stands still: each caller queues behind the debt already taken
    limiter = bucket(clock, rate=4, burst=2)
    waits = [limiter.acquire() for _ in range(5)]
    assert waits == [0.0, 0.0, 0.25, 0.5, 0.75]
    assert clock.slept == [0.25, 0.5, 0.75]


def test_acquire_with_a_clock_that_moves_sleeps_one_interval_each_time() -> None:
    clock = Clock(advance=True)
    limiter = bucket(clock, rate=2, burst=1)
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == [0.5, 0.5, 0.5]


def test_several_tokens_sleep_for_all_of_their_deficit() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=4, burst=4)
    limiter.acquire(3)
    assert limiter.acquire(4) == 0.75


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=4, burst=2)
    limiter.acquire(2)
    clock.now += 0.25
    assert limiter.available() == 1.0
    clock.now += 3600
    assert limiter.available() == 2.0


def test_a_clock_stepping_back_earns_nothing() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=4, burst=2)
    limiter.acquire(2)
    clock.now -= 10
    assert limiter.available() == 0.0


def test_a_newcomer_cannot_take_tokens_owed_to_a_waiter() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=1, burst=1)
    limiter.acquire()
    assert limiter.acquire() == 1.0  # this caller is now asleep, owning the next token
    clock.now += 1.0  # its token has arrived: a newcomer must not get it
    assert limiter.try_acquire() is False
    assert limiter.acquire() == 1.0


def test_try_acquire_takes_what_is_there_and_never_sleeps() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=1, burst=3)
    assert [limiter.try_acquire(2), limiter.try_acquire(2), limiter.try_acquire(1)] == [True, False, True]
    assert clock.slept == []


def test_timeout_raises_without_sleeping_and_takes_no_tokens() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=1, burst=1)
    limiter.acquire()
    with pytest.raises(RateLimitTimeout) as raised:
        limiter.acquire(timeout=0.5)
    assert (raised.value.wait, raised.value.timeout, clock.slept) == (1.0, 0.5, [])
    assert limiter.acquire(timeout=1.0) == 1.0  # the refused call took nothing: still a 1 s wait


def test_timeout_error_says_what_it_needed_in_one_line() -> None:
    assert str(RateLimitTimeout(2, 1.25, 0.5)) == (
        "rate limiter: 2 tokens need a 1.25 s wait, longer than the 0.5 s allowed"
    )


@pytest.mark.parametrize("rate", [0, -1, math.nan, math.inf, "2"])
def test_bad_rate_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        TokenBucket(rate)


@pytest.mark.parametrize("burst", [0, 0.5, math.inf])
def test_bad_burst_is_refused(burst: float) -> None:
    with pytest.raises(ValueError, match="burst must be"):
        TokenBucket(1, burst)


@pytest.mark.parametrize("tokens", [0, -1, 3])
def test_tokens_outside_zero_to_burst_are_refused(tokens: float) -> None:
    limiter = TokenBucket(1, 2)
    with pytest.raises(ValueError, match="at most the burst"):
        limiter.acquire(tokens)
    with pytest.raises(ValueError, match="at most the burst"):
        limiter.try_acquire(tokens)


def test_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        TokenBucket(1).acquire(timeout=-1)


def test_acquire_async_awaits_exactly_the_deficit() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=4, burst=1)

    async def main() -> list[float]:
        return [await limiter.acquire_async() for _ in range(3)]

    assert asyncio.run(main()) == [0.0, 0.25, 0.5]
    assert clock.slept == [0.25, 0.5]


def test_acquire_async_timeout_raises_without_awaiting() -> None:
    clock = Clock()
    limiter = bucket(clock, rate=1, burst=1)
    limiter.acquire()
    with pytest.raises(RateLimitTimeout):
        asyncio.run(limiter.acquire_async(timeout=0.1))
    assert clock.slept == []


def test_a_waiter_cancelled_while_asleep_gives_its_tokens_back() -> None:
    clock = Clock()

    async def cancelled(seconds: float) -> None:
        raise asyncio.CancelledError

    limiter = TokenBucket(1, 1, timer=clock, async_sleep=cancelled)
    limiter.acquire()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(limiter.acquire_async())
    assert limiter.available() == 0.0  # not -1: the cancelled caller's debt is gone


THREADS = 8


def yielding_clock() -> float:
    """A frozen clock that lets other threads run while it is read, as a real lock must survive."""
    time.sleep(0)
    return 0.0


def run_threads(work: Callable[[], None]) -> None:
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        barrier.wait()
        work()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so that races show
    try:
        threads = [threading.Thread(target=run) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads)


def test_eight_threads_get_exactly_the_budget_from_try_acquire() -> None:
    limiter = TokenBucket(1, 500, timer=yielding_clock)  # a frozen clock: the budget is the burst
    granted: list[bool] = []

    def work() -> None:
        granted.extend([limiter.try_acquire() for _ in range(200)])

    run_threads(work)
    assert (granted.count(True), len(granted)) == (500, THREADS * 200)


def test_eight_threads_blocking_each_get_their_own_slot() -> None:
    slept: list[float] = []
    limiter = TokenBucket(4, 4, timer=yielding_clock, sleep=slept.append)

    def work() -> None:
        for _ in range(25):
            limiter.acquire()

    run_threads(work)
    # 200 reservations, the first 4 free: every wait k/4 s for k = 1..196, each exactly once
    assert sorted(slept) == [k / 4 for k in range(1, THREADS * 25 - 4 + 1)]
