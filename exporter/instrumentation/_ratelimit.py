"""A token bucket that reserves: a caller takes its tokens at once and sleeps off any debt.

Use it to keep outbound calls under an API's rate (requests per second, with a short burst).
The bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a second. A caller that finds
too few tokens does not poll: it takes them anyway, leaving the bucket in debt, and sleeps exactly
as long as the refill needs to pay that debt (the Generic Cell Rate Algorithm's "theoretical arrival
time", in token terms). Callers are therefore served in the order they asked, and a steady stream of
new callers cannot starve one that is waiting: each new caller queues behind the debt already taken.
`try_acquire` never takes on debt, so it never jumps that queue either.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable

from exporter.instrumentation._errors import RateLimitTimeout


class TokenBucket:
    """A thread-safe token bucket; `acquire` blocks, `acquire_async` awaits, `try_acquire` does neither.

    Args:
        rate: tokens added per second (the sustained request rate), > 0.
        burst: the bucket's capacity (how many calls may go at once after a quiet spell), >= 1.
        timer: a monotonic clock in seconds; tests pass a fake.
        sleep: how `acquire` waits; tests pass a fake that records or advances the fake clock.
        async_sleep: how `acquire_async` waits.

    Example:
        >>> now, slept = [0.0], []
        >>> bucket = TokenBucket(rate=2, burst=1, timer=lambda: now[0], sleep=slept.append)
        >>> bucket.acquire(), bucket.acquire(), bucket.try_acquire()
        (0.0, 0.5, False)
        >>> slept
        [0.5]
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1,
        *,
        timer: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
        async_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a finite number of tokens per second > 0, got {rate!r}")
        if not (isinstance(burst, int | float) and math.isfinite(burst) and burst >= 1):
            raise ValueError(f"burst must be a finite number of tokens >= 1, got {burst!r}")
        self.rate, self.burst = float(rate), float(burst)
        self._timer, self._sleep, self._async_sleep = timer, sleep, async_sleep
        self._lock = threading.Lock()
        self._tokens = self.burst  # negative: the debt that callers already asleep have taken
        self._updated = timer()

    def _check(self, tokens: float, timeout: float | None) -> None:
        if not (isinstance(tokens, int | float) and 0 < tokens <= self.burst):
            raise ValueError(f"tokens must be > 0 and at most the burst ({self.burst:g}), got {tokens!r}")
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be None or >= 0 seconds, got {timeout!r}")

    def _refill(self) -> None:
        """Add the tokens earned since the last update; the caller holds the lock."""
        now = self._timer()
        elapsed = now - self._updated
        if elapsed > 0:  # a clock that stands still or steps back earns nothing
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._updated = now

    def _reserve(self, tokens: float, timeout: float | None) -> float:
        """Take ``tokens`` now and return the seconds to sleep; refuse (taking none) past ``timeout``."""
        self._check(tokens, timeout)
        with self._lock:
            self._refill()
            left = self._tokens - tokens
            wait = -left / self.rate if left < 0 else 0.0
            if timeout is not None and wait > timeout:
                raise RateLimitTimeout(tokens, wait, timeout)
            self._tokens = left
        return wait

    def _give_back(self, tokens: float) -> None:
        """Return a reservation whose caller will not make the call (it was cancelled while waiting)."""
        with self._lock:
            self._refill()
            self._tokens = min(self.burst, self._tokens + tokens)

    def try_acquire(self, tokens: float = 1) -> bool:
        """Take ``tokens`` if the bucket has them now; never waits, never takes on debt.

        Use it to shed load (answer "busy" rather than queue). Returns whether the tokens were taken.
        """
        self._check(tokens, None)
        with self._lock:
            self._refill()
            if self._tokens < tokens:
                return False
            self._tokens -= tokens
            return True

    def acquire(self, tokens: float = 1, timeout: float | None = None) -> float:
        """Take ``tokens``, sleeping exactly as long as the bucket needs to earn the shortfall.

        Args:
            tokens: how many to take (> 0, at most ``burst``).
            timeout: the longest wait allowed; a longer one raises `RateLimitTimeout` at once,
                without sleeping and without taking any tokens. ``None`` waits as long as it takes.

        Returns the seconds slept (0.0 when the tokens were there).
        """
        wait = self._reserve(tokens, timeout)
        if wait > 0:
            self._sleep(wait)
        return wait

    async def acquire_async(self, tokens: float = 1, timeout: float | None = None) -> float:
        """`acquire` for asyncio: awaits ``async_sleep`` instead of blocking the event loop.

        If the task is cancelled while it waits, its tokens go back to the bucket.
        """
        wait = self._reserve(tokens, timeout)
        if wait > 0:
            try:
                await self._async_sleep(wait)
            except asyncio.CancelledError:
                self._give_back(tokens)
                raise
        return wait

    def available(self) -> float:
        """The tokens in the bucket now; negative while callers are waiting off a debt."""
        with self._lock:
            self._refill()
            return self._tokens
