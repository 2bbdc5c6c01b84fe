"""Retries with capped exponential backoff, full jitter, and the server's ``Retry-After``.

Use `RetryPolicy.call` (or `call_async`) around one request. The delay before retry ``n`` (0-based)
is ``random() * min(cap, base * 2**n)``: "full jitter" from the AWS Architecture Blog's
"Exponential Backoff And Jitter", which spreads clients that failed together so they do not retry
together. A response's ``Retry-After`` (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) raises the
delay to at least what the server asked for; one longer than ``max_retry_after`` ends the call at
once with `RetriesExhausted`, because a wait that long is an outage, not a retry.

What is retried is decided by a ``classify`` hook that maps an outcome (a response or an exception)
to a bounded reason label or ``None``; `classify_outcome` is the default and needs no HTTP library.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import math
import random as _random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TypeVar

from exporter.instrumentation._errors import ApiClientError, RetriesExhausted

T = TypeVar("T")

DEFAULT_RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)
Classify = Callable[[object], str | None]
OnRetry = Callable[[str, float], object]


def classify_outcome(
    outcome: object, retry_on_status: Collection[int] = DEFAULT_RETRY_STATUSES
) -> str | None:
    """The retry reason for a response or an exception, or ``None`` when it is final.

    Responses are objects with an ``int`` ``.status_code`` (httpx, requests): a status in
    ``retry_on_status`` gives ``status_429``, ``status_5xx`` or (for other 4xx) ``status_4xx``.
    Exceptions give ``timeout`` for `TimeoutError` or a class named ``*Timeout*`` (httpx's
    ``ReadTimeout``, requests' ``Timeout``) and ``connection`` for `ConnectionError` or a class named
    ``*Connect*`` (httpx's ``ConnectError``); this package's own errors are never retried.

    Example:
        >>> class Response:
        ...     status_code = 503
        >>> classify_outcome(Response()), classify_outcome(TimeoutError()), classify_outcome(KeyError())
        ('status_5xx', 'timeout', None)
    """
    if isinstance(outcome, BaseException):
        return _exception_reason(outcome)
    status = getattr(outcome, "status_code", None)
    if not isinstance(status, int) or status not in retry_on_status:
        return None
    if status == 429:
        return "status_429"
    return "status_5xx" if status >= 500 else "status_4xx"


def _exception_reason(exc: BaseException) -> str | None:
    if isinstance(exc, ApiClientError):
        return None
    names = [cls.__name__ for cls in type(exc).__mro__]
    if isinstance(exc, TimeoutError) or any("Timeout" in n for n in names):
        return "timeout"
    if isinstance(exc, ConnectionError) or any("Connect" in n for n in names):
        return "connection"
    return None


def _header(headers: object, name: str) -> str | None:
    """One header from a case-insensitive mapping (httpx, requests) or a plain dict of any case."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    value = get(name)
    if value is None and hasattr(headers, "items"):
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    return None if value is None else str(value)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), or ``None`` if invalid.

    Args:
        value: the header's value.
        now: the current Unix time, to turn an HTTP-date into a delay (a past date gives 0.0).

    Example:
        >>> parse_retry_after("120", now=0.0)
        120.0
        >>> parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30.0)
        30.0
    """
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "no zone information"; HTTP-dates are GMT anyway
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


class RetryPolicy:
    """When and how long to wait before sending a request again.

    Args:
        max_attempts: requests sent at most, the first one included (>= 1).
        base: the first backoff ceiling in seconds; it doubles each retry.
        cap: the largest backoff ceiling in seconds.
        retry_on_status: the response statuses worth retrying (4xx or 5xx).
        respect_retry_after: whether a response's ``Retry-After`` sets a minimum delay.
        max_retry_after: the longest ``Retry-After`` to honour; a longer one gives up at once.
        classify: outcome -> reason or ``None``; defaults to `classify_outcome` with ``retry_on_status``.
        random: a uniform [0, 1) source for the jitter; tests pass ``lambda: 1.0``.
        sleep, async_sleep: how `call` and `call_async` wait.
        clock: the Unix time, for ``Retry-After`` dates.

    Example:
        >>> errors, slept = [TimeoutError(), ConnectionError()], []
        >>> def send():
        ...     if errors:
        ...         raise errors.pop(0)
        ...     return "ok"
        >>> RetryPolicy(base=0.5, random=lambda: 1.0, sleep=slept.append).call(send), slept
        ('ok', [0.5, 1.0])
    """

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        base: float = 0.5,
        cap: float = 30.0,
        retry_on_status: Iterable[int] = DEFAULT_RETRY_STATUSES,
        respect_retry_after: bool = True,
        max_retry_after: float = 300,
        classify: Classify | None = None,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], object] = time.sleep,
        async_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (isinstance(max_attempts, int) and max_attempts >= 1):
            raise ValueError(f"max_attempts must be an integer >= 1, got {max_attempts!r}")
        for name, value in (("base", base), ("cap", cap), ("max_retry_after", max_retry_after)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        statuses = frozenset(retry_on_status)
        if bad := sorted(s for s in statuses if not (isinstance(s, int) and 400 <= s <= 599)):
            raise ValueError(f"retry_on_status must hold 4xx or 5xx statuses, got {bad}")
        self.max_attempts, self.base, self.cap = max_attempts, float(base), float(cap)
        self.retry_on_status = statuses
        self.respect_retry_after, self.max_retry_after = respect_retry_after, float(max_retry_after)
        self.classify: Classify = classify or functools.partial(classify_outcome, retry_on_status=statuses)
        self.random, self.sleep, self.async_sleep, self.clock = random, sleep, async_sleep, clock

    def delay(self, retry_index: int) -> float:
        """The jittered backoff before retry ``retry_index`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(retry_index, 64))  # 2**64 s: past any cap
        return self.random() * ceiling

    def retry_after(self, outcome: object) -> float | None:
        """The seconds that ``outcome``'s ``Retry-After`` header asks for, if it has a valid one."""
        value = _header(getattr(outcome, "headers", None), "Retry-After")
        return None if value is None else parse_retry_after(value, self.clock())

    def _plan(self, attempt: int, outcome: object, api: str, method: str) -> float:
        """The sleep before the next attempt, or `RetriesExhausted` when there is to be none."""
        status = None if isinstance(outcome, BaseException) else getattr(outcome, "status_code", None)
        error = outcome if isinstance(outcome, BaseException) else None
        asked = self.retry_after(outcome) if self.respect_retry_after and error is None else None
        if attempt >= self.max_attempts or (asked is not None and asked > self.max_retry_after):
            too_long = asked if asked is not None and asked > self.max_retry_after else None
            raise RetriesExhausted(
                api, method, attempt, last_status=status, last_exception=error, retry_after=too_long
            ) from error
        wait = self.delay(attempt - 1)
        return wait if asked is None else max(wait, asked)

    def call(
        self, fn: Callable[[], T], *, api: str = "api", method: str = "call", on_retry: OnRetry | None = None
    ) -> T:
        """Call ``fn`` until its outcome is final; return a final response, raise a final exception.

        Args:
            fn: sends one request; returns a response or raises.
            api, method: named in `RetriesExhausted`.
            on_retry: called with ``(reason, delay)`` before each sleep (metrics, logs).
        """
        outcome: object
        for attempt in range(1, self.max_attempts + 1):
            try:
                result = fn()
            except Exception as exc:
                reason, outcome = self.classify(exc), exc
                if reason is None:
                    raise
            else:
                reason, outcome = self.classify(result), result
                if reason is None:
                    return result
            wait = self._plan(attempt, outcome, api, method)
            if on_retry is not None:
                on_retry(reason, wait)
            self.sleep(wait)
        raise AssertionError("unreachable: _plan raises on the last attempt")  # pragma: no cover

    async def call_async(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        api: str = "api",
        method: str = "call",
        on_retry: OnRetry | None = None,
    ) -> T:
        """`call` for a coroutine function; waits with ``async_sleep``."""
        outcome: object
        for attempt in range(1, self.max_attempts + 1):
            try:
                result = await fn()
            except Exception as exc:
                reason, outcome = self.classify(exc), exc
                if reason is None:
                    raise
            else:
                reason, outcome = self.classify(result), result
                if reason is None:
                    return result
            wait = self._plan(attempt, outcome, api, method)
            if on_retry is not None:
                on_retry(reason, wait)
            await self.async_sleep(wait)
        raise AssertionError("unreachable: _plan raises on the last attempt")  # pragma: no cover
