"""ApiCaller: quota per attempt, a token per attempt, retries, and the exact metrics of a scripted run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from exporter.instrumentation import MetricSet
from exporter.instrumentation._apiclient import ApiCaller, status_class
from exporter.instrumentation._errors import QuotaExhausted, RateLimitTimeout, RetriesExhausted
from exporter.instrumentation._quota import QuotaTracker
from exporter.instrumentation._ratelimit import TokenBucket
from exporter.instrumentation._retry import RetryPolicy

MAR_8 = 1772956800.0  # 2026-03-08 00:00 in America/Los_Angeles


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


class Timer:
    """A fake clock for timing attempts: each request "takes" ``step`` seconds."""

    def __init__(self, step: float = 0.25) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        return self.now


class Script:
    """A ``send`` that plays back outcomes (returns a `Reply`, raises an exception) on a `Timer`."""

    def __init__(self, timer: Timer, *outcomes: Reply | BaseException) -> None:
        self.timer, self.outcomes, self.calls = timer, list(outcomes), 0

    def __call__(self) -> Reply:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        self.timer.now += self.timer.step
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def send_async(self) -> Reply:
        return self()


class Setup:
    """An ApiCaller with fresh metrics, a fake timer, a quota and a no-wait retry policy."""

    def __init__(
        self, daily_limit: int = 10_000, max_attempts: int = 3, limiter: TokenBucket | None = None
    ) -> None:
        self.metrics, self.timer = MetricSet(), Timer()
        self.slept: list[float] = []
        self.quota = QuotaTracker(daily_limit=daily_limit, clock=lambda: MAR_8, metrics=self.metrics)
        retry = RetryPolicy(max_attempts=max_attempts, random=lambda: 0.0, sleep=self.slept.append)
        self.caller = ApiCaller(
            "youtube", limiter=limiter, retry=retry, quota=self.quota, timer=self.timer, metrics=self.metrics
        )

    def script(self, *outcomes: Reply | BaseException) -> Script:
        return Script(self.timer, *outcomes)

    def samples(self) -> dict[tuple[str, tuple[str, ...]], float]:
        return {
            (s.name, tuple(s.labels.values())): s.value for m in self.metrics.collect() for s in m.samples
        }

    def family(self, name: str) -> dict[tuple[str, ...], float]:
        return {labels: v for (n, labels), v in self.samples().items() if n == name}


def frozen_bucket(rate: float, burst: float, slept: list[float]) -> TokenBucket:
    return TokenBucket(rate, burst, timer=lambda: 0.0, sleep=slept.append)


def run_scripted_sequence(setup: Setup) -> None:
    caller = setup.caller
    assert caller.call("videos.list", setup.script(Reply(503), Reply(200))).status_code == 200
    found = caller.call(
        "search.list", setup.script(TimeoutError(), Reply(429, {"Retry-After": "2"}), Reply(404))
    )
    assert found.status_code == 404
    with pytest.raises(RetriesExhausted):
        caller.call("videos.list", setup.script(Reply(503), Reply(503), Reply(502)))
    assert caller.call("comments.list", setup.script(Reply(200))).status_code == 200


def test_a_scripted_sequence_counts_calls_requests_and_retries_exactly() -> None:
    setup = Setup(limiter=frozen_bucket(1, 100, []))
    run_scripted_sequence(setup)
    assert setup.family("api_client_calls_total") == {
        ("youtube", "videos.list"): 2,
        ("youtube", "search.list"): 1,
        ("youtube", "other"): 1,
    }
    assert setup.family("api_client_retries_exhausted_total") == {("youtube", "videos.list"): 1}
    assert setup.family("api_client_requests_total") == {
        ("youtube", "videos.list", "5xx"): 4,
        ("youtube", "videos.list", "2xx"): 1,
        ("youtube", "search.list", "error"): 1,
        ("youtube", "search.list", "4xx"): 2,
        ("youtube", "other", "2xx"): 1,
    }
    assert setup.family("api_client_retries_total") == {
        ("youtube", "videos.list", "status_5xx"): 3,
        ("youtube", "search.list", "timeout"): 1,
        ("youtube", "search.list", "status_429"): 1,
    }
    assert setup.slept == [0.0, 0.0, 2.0, 0.0, 0.0]  # no jitter: only the Retry-After waits


def test_a_scripted_sequence_times_every_attempt() -> None:
    setup = Setup()
    run_scripted_sequence(setup)
    got = setup.samples()
    assert got[("api_client_request_duration_seconds_count", ("youtube", "videos.list"))] == 5
    assert got[("api_client_request_duration_seconds_sum", ("youtube", "videos.list"))] == 1.25
    assert got[("api_client_request_duration_seconds_bucket", ("youtube", "search.list", "0.25"))] == 3
    assert got[("api_client_request_duration_seconds_bucket", ("youtube", "search.list", "0.1"))] == 0


def test_a_scripted_sequence_charges_the_quota_for_every_attempt() -> None:
    setup = Setup()
    run_scripted_sequence(setup)
    assert setup.family("api_quota_units_used_total") == {
        ("youtube", "videos.list"): 5,
        ("youtube", "search.list"): 300,
        ("youtube", "other"): 1,
    }
    assert setup.quota.used() == 306
    assert setup.family("api_quota_remaining_units") == {("youtube",): 10_000 - 306}


def test_every_attempt_takes_a_token_and_waits_are_counted() -> None:
    slept: list[float] = []
    setup = Setup(limiter=frozen_bucket(2, 1, slept))
    for _ in range(3):
        setup.caller.call("videos.list", setup.script(Reply(200)))
    assert slept == [0.5, 1.0]
    assert setup.family("api_client_rate_limit_acquires_total") == {("youtube",): 3}
    assert setup.family("api_client_throttled_total") == {("youtube",): 2}
    assert setup.family("api_client_throttle_wait_seconds_total") == {("youtube",): 1.5}


def test_an_exhausted_quota_ends_the_call_before_anything_is_sent() -> None:
    setup = Setup(daily_limit=99)
    send = setup.script(Reply(200))
    with pytest.raises(QuotaExhausted):
        setup.caller.call("search.list", send)
    assert send.calls == 0
    assert setup.family("api_quota_exhausted_total") == {("youtube", "search.list"): 1}
    assert setup.family("api_client_calls_total") == {("youtube", "search.list"): 1}
    assert setup.family("api_client_requests_total") == {}


def test_a_retry_that_would_pass_the_quota_is_not_sent() -> None:
    setup = Setup(daily_limit=2)
    send = setup.script(Reply(503), Reply(503), Reply(200))
    with pytest.raises(QuotaExhausted):
        setup.caller.call("videos.list", send)
    assert (send.calls, setup.quota.used()) == (2, 2)


def test_a_rate_limit_timeout_refunds_the_quota_of_the_unsent_request() -> None:
    setup = Setup(limiter=frozen_bucket(1, 1, []))
    setup.caller.acquire_timeout = 0.5
    send = setup.script(Reply(200), Reply(200))
    setup.caller.call("search.list", send)
    with pytest.raises(RateLimitTimeout):
        setup.caller.call("search.list", send)
    assert (send.calls, setup.quota.used()) == (1, 100)
    assert setup.family("api_client_rate_limit_timeouts_total") == {("youtube",): 1}
    assert setup.family("api_client_rate_limit_acquires_total") == {("youtube",): 2}
    assert setup.family("api_quota_units_refunded_total") == {("youtube", "search.list"): 100}


def test_a_final_error_from_send_is_raised_and_counted_as_error() -> None:
    setup = Setup()
    with pytest.raises(ValueError, match="bad body"):
        setup.caller.call("videos.list", setup.script(ValueError("bad body"), Reply(200)))
    assert setup.family("api_client_requests_total") == {("youtube", "videos.list", "error"): 1}
    assert setup.family("api_client_retries_total") == {}


def test_call_async_takes_tokens_retries_and_counts_like_call() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    setup = Setup()
    setup.caller.limiter = TokenBucket(4, 1, timer=lambda: 0.0, sleep=pytest.fail, async_sleep=sleep)
    setup.caller.retry = RetryPolicy(random=lambda: 1.0, base=1.0, sleep=pytest.fail, async_sleep=sleep)
    send = setup.script(Reply(503), Reply(200))
    assert asyncio.run(setup.caller.call_async("videos.list", send.send_async)).status_code == 200
    assert slept == [1.0, 0.25]  # the backoff, then the second token
    assert setup.family("api_client_requests_total") == {
        ("youtube", "videos.list", "5xx"): 1,
        ("youtube", "videos.list", "2xx"): 1,
    }
    assert setup.family("api_client_throttled_total") == {("youtube",): 1}


def test_call_async_counts_exhaustion() -> None:
    async def sleep(seconds: float) -> None:
        pass

    setup = Setup()
    setup.caller.retry = RetryPolicy(max_attempts=2, async_sleep=sleep)
    with pytest.raises(RetriesExhausted) as raised:
        asyncio.run(setup.caller.call_async("videos.list", setup.script(Reply(500), Reply(503)).send_async))
    assert raised.value.last_status == 503
    assert setup.family("api_client_retries_exhausted_total") == {("youtube", "videos.list"): 1}
    assert setup.family("api_client_calls_total") == {("youtube", "videos.list"): 1}


def test_the_method_label_is_bounded_by_the_given_methods() -> None:
    caller = ApiCaller("sheets", methods=["values.get"], metrics=MetricSet())
    assert (caller.method_label("values.get"), caller.method_label("videos.list")) == ("values.get", "other")


def test_without_a_quota_the_youtube_methods_are_the_labels() -> None:
    caller = ApiCaller(metrics=MetricSet())
    assert (caller.method_label("search.list"), caller.method_label("https://x/?q=cats")) == (
        "search.list",
        "other",
    )


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (204, "2xx"), (304, "3xx"), (404, "4xx"), (503, "5xx"), (0, "error")]
)
def test_status_class(status: int, label: str) -> None:
    assert status_class(status) == label


@pytest.mark.parametrize(
    ("options", "message"), [({"api": ""}, "api must be"), ({"acquire_timeout": -1}, "acquire")]
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ApiCaller(metrics=MetricSet(), **options)
