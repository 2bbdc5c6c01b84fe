"""`ApiCaller`: one outbound API call with its quota, rate limit, retries, timing and metrics.

Use it around each request to a rate-limited, metered API, with any HTTP client: ``send`` is a
zero-argument function that makes one request and returns the response (anything with a
``status_code``; ``headers`` for ``Retry-After``). Each attempt, in this order:

1. charges the quota (every attempt: YouTube charges every request it receives, failed or retried);
   `QuotaExhausted` ends the call before anything is sent;
2. takes a rate-limit token, waiting if need be; `RateLimitTimeout` ends the call, and the quota
   charge is refunded, since that request was never sent;
3. sends and times the request; the retry policy then returns a final response (a 404 is the
   caller's business), retries, or raises `RetriesExhausted`.

Metrics (``method`` is bounded by the method table: ``other`` outside it):

- ``api_client_calls_total{api,method}``: calls, counted when they end; of which
  ``api_client_retries_exhausted_total{api,method}`` ran out of retries;
- ``api_client_requests_total{api,method,status_class}``: attempts, by ``2xx``..``5xx``, or ``error``
  when no response came; ``api_client_request_duration_seconds{api,method}``: their durations;
- ``api_client_retries_total{api,method,reason}``: retries, by ``status_429``, ``status_5xx``,
  ``timeout``, ``connection`` (or the reasons of a custom ``classify``);
- ``api_client_rate_limit_acquires_total{api}``: tokens asked for; of which
  ``api_client_throttled_total{api}`` had to wait and ``api_client_rate_limit_timeouts_total{api}``
  were refused; ``api_client_throttle_wait_seconds_total{api}``: the time spent waiting;
- ``api_quota_*``: from the `QuotaTracker`, in the `MetricSet` it was given.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from exporter.instrumentation._core import DEFAULT_BUCKETS, OTHER
from exporter.instrumentation._errors import RateLimitTimeout, RetriesExhausted
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet
from exporter.instrumentation._quota import YOUTUBE_COSTS, QuotaCharge, QuotaTracker
from exporter.instrumentation._ratelimit import TokenBucket
from exporter.instrumentation._retry import RetryPolicy


class ApiResponse(Protocol):
    """What ``send`` returns: an httpx or requests response, or any object with a status code."""

    @property
    def status_code(self) -> int: ...


R = TypeVar("R", bound=ApiResponse)


def status_class(status: int) -> str:
    """The ``status_class`` label of an HTTP status: ``"1xx"`` to ``"5xx"``, else ``"error"``.

    Example:
        >>> status_class(204), status_class(503), status_class(999)
        ('2xx', '5xx', 'error')
    """
    return f"{status // 100}xx" if 100 <= status <= 599 else "error"


class ApiCaller:
    """Sends requests to one API under its quota, rate limit and retry policy, and measures them.

    Args:
        api: the API's name, the ``api`` label.
        limiter: the `TokenBucket` every attempt takes a token from (``None``: no rate limit).
        retry: the `RetryPolicy` (default: ``RetryPolicy()``).
        quota: the `QuotaTracker` every attempt is charged to (``None``: no quota).
        methods: the ``method`` label's values; default: the quota's cost table, or YouTube's.
        acquire_timeout: the longest wait for a token, in seconds (``None``: no limit).
        timer: the clock that times attempts; tests pass a fake.
        metrics: where ``api_client_*`` go.

    Example:
        >>> class Ok:
        ...     status_code, headers = 200, {}
        >>> caller = ApiCaller("youtube", metrics=MetricSet())
        >>> caller.call("videos.list", Ok).status_code
        200
    """

    def __init__(
        self,
        api: str = "youtube",
        *,
        limiter: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        quota: QuotaTracker | None = None,
        methods: Iterable[str] | None = None,
        acquire_timeout: float | None = None,
        timer: Callable[[], float] = time.perf_counter,
        metrics: MetricSet = DEFAULT_METRICS,
    ) -> None:
        if not api:
            raise ValueError("api must be a non-empty name such as 'youtube'")
        if acquire_timeout is not None and not acquire_timeout >= 0:
            raise ValueError(f"acquire_timeout must be None or >= 0 seconds, got {acquire_timeout!r}")
        self.api, self.limiter, self.quota, self.acquire_timeout = api, limiter, quota, acquire_timeout
        self.retry = RetryPolicy() if retry is None else retry
        self.timer = timer
        if methods is None:
            methods = quota.costs if quota is not None else YOUTUBE_COSTS
        self.methods = frozenset(methods)
        by_method, guard = ["api", "method"], ["method"]
        self._calls = metrics.counter("api_client_calls_total", "API calls, ended.", by_method, guarded=guard)
        self._exhausted = metrics.counter(
            "api_client_retries_exhausted_total", "Calls that ran out of retries.", by_method, guarded=guard
        )
        self._requests = metrics.counter(
            "api_client_requests_total", "Requests sent.", [*by_method, "status_class"], guarded=guard
        )
        self._duration = metrics.histogram(
            "api_client_request_duration_seconds",
            "Time per request.",
            by_method,
            buckets=DEFAULT_BUCKETS,
            guarded=guard,
        )
        self._retries = metrics.counter(  # a custom classify may return its own reasons: guard them too
            "api_client_retries_total", "Retries.", [*by_method, "reason"], guarded=[*guard, "reason"]
        )
        self._acquires = metrics.counter("api_client_rate_limit_acquires_total", "Tokens asked for.", ["api"])
        self._throttled = metrics.counter("api_client_throttled_total", "Tokens that had to wait.", ["api"])
        self._waited = metrics.counter(
            "api_client_throttle_wait_seconds_total", "Time spent waiting for tokens.", ["api"]
        )
        self._timeouts = metrics.counter(
            "api_client_rate_limit_timeouts_total", "Tokens refused: the wait passed the timeout.", ["api"]
        )

    def method_label(self, method: str) -> str:
        """``method`` if it is one of ``methods``, else ``other``."""
        return method if method in self.methods else OTHER

    def _charge(self, method: str) -> QuotaCharge | None:
        return None if self.quota is None else self.quota.charge(method)

    def _acquired(self, waited: float) -> None:
        self._acquires.labels(self.api).inc()
        if waited > 0:
            self._throttled.labels(self.api).inc()
            self._waited.labels(self.api).inc(waited)

    def _not_acquired(self, error: BaseException, charge: QuotaCharge | None) -> None:
        """The request will not be sent: give its quota back, count a timeout."""
        if charge is not None and self.quota is not None:
            self.quota.refund(charge)
        if isinstance(error, RateLimitTimeout):
            self._acquires.labels(self.api).inc()
            self._timeouts.labels(self.api).inc()

    def _measured(self, label: str, start: float, response: ApiResponse | None) -> None:
        klass = "error" if response is None else status_class(response.status_code)
        self._duration.labels(self.api, label).observe(self.timer() - start)
        self._requests.labels(self.api, label, klass).inc()

    def _attempt(self, method: str, label: str, send: Callable[[], R]) -> R:
        charge = self._charge(method)
        if self.limiter is not None:
            try:
                waited = self.limiter.acquire(timeout=self.acquire_timeout)
            except BaseException as exc:
                self._not_acquired(exc, charge)
                raise
            self._acquired(waited)
        start = self.timer()
        try:
            response = send()
        except BaseException:
            self._measured(label, start, None)
            raise
        self._measured(label, start, response)
        return response

    async def _attempt_async(self, method: str, label: str, send: Callable[[], Awaitable[R]]) -> R:
        charge = self._charge(method)
        if self.limiter is not None:
            try:
                waited = await self.limiter.acquire_async(timeout=self.acquire_timeout)
            except BaseException as exc:  # a timeout, or the task was cancelled while waiting
                self._not_acquired(exc, charge)
                raise
            self._acquired(waited)
        start = self.timer()
        try:
            response = await send()
        except BaseException:
            self._measured(label, start, None)
            raise
        self._measured(label, start, response)
        return response

    def _on_retry(self, label: str) -> Callable[[str, float], None]:
        return lambda reason, _delay: self._retries.labels(self.api, label, reason).inc()

    def call(self, method: str, send: Callable[[], R]) -> R:
        """Send ``send()`` as API method ``method``; return the final response.

        Raises `QuotaExhausted`, `RateLimitTimeout`, `RetriesExhausted`, or ``send``'s own final error.
        """
        label = self.method_label(method)
        try:
            return self.retry.call(
                lambda: self._attempt(method, label, send),
                api=self.api,
                method=method,
                on_retry=self._on_retry(label),
            )
        except RetriesExhausted:
            self._exhausted.labels(self.api, label).inc()
            raise
        finally:
            self._calls.labels(self.api, label).inc()

    async def call_async(self, method: str, send: Callable[[], Awaitable[R]]) -> R:
        """`call` for a coroutine function ``send`` (``lambda: client.get(url)`` with httpx.AsyncClient)."""
        label = self.method_label(method)
        try:
            return await self.retry.call_async(
                lambda: self._attempt_async(method, label, send),
                api=self.api,
                method=method,
                on_retry=self._on_retry(label),
            )
        except RetriesExhausted:
            self._exhausted.labels(self.api, label).inc()
            raise
        finally:
            self._calls.labels(self.api, label).inc()
