"""The retry policy: full-jitter backoff, the cap, Retry-After, what is retried, exhaustion, async."""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from exporter.instrumentation._errors import RateLimitTimeout, RetriesExhausted
from exporter.instrumentation._retry import RetryPolicy, classify_outcome, parse_retry_after


@dataclass
class Reply:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


class Script:
    """A ``send`` that plays back outcomes: returns each `Reply`, raises each exception."""

    def __init__(self, *outcomes: Reply | BaseException) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> Reply:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def send_async(self) -> Reply:
        return self()


def policy(slept: list[float], jitter: float = 1.0, **options: Any) -> RetryPolicy:
    return RetryPolicy(random=lambda: jitter, sleep=slept.append, **options)


def test_backoff_doubles_from_base_with_random_at_one() -> None:
    slept: list[float] = []
    with pytest.raises(RetriesExhausted):
        policy(slept, max_attempts=5, base=0.5).call(Script(*[Reply(503)] * 5))
    assert slept == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped() -> None:
    slept: list[float] = []
    with pytest.raises(RetriesExhausted):
        policy(slept, max_attempts=6, base=1.0, cap=3.0).call(Script(*[Reply(500)] * 6))
    assert slept == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_full_jitter_scales_the_whole_ceiling() -> None:
    slept: list[float] = []
    with pytest.raises(RetriesExhausted):
        policy(slept, jitter=0.25, max_attempts=4, base=1.0).call(Script(*[Reply(502)] * 4))
    assert slept == [0.25, 0.5, 1.0]


def test_jittered_delays_stay_between_zero_and_the_ceiling() -> None:
    p = RetryPolicy(base=0.5, cap=30.0, random=random.Random(7).random)  # noqa: S311 (seeded jitter)
    delays = [(p.delay(n), min(30.0, 0.5 * 2**n)) for n in range(12) for _ in range(50)]
    assert all(0.0 <= d < ceiling for d, ceiling in delays)
    assert len({round(d, 9) for d, _ in delays}) > 500  # spread out, not one value per retry


def test_a_huge_retry_index_does_not_overflow() -> None:
    assert RetryPolicy(cap=30.0, random=lambda: 1.0).delay(100_000) == 30.0


def test_retry_after_seconds_raise_the_delay() -> None:
    slept: list[float] = []
    result = policy(slept, jitter=0.0).call(Script(Reply(429, {"Retry-After": "7"}), Reply(200)))
    assert (result.status_code, slept) == (200, [7.0])


def test_a_backoff_longer_than_retry_after_wins() -> None:
    slept: list[float] = []
    policy(slept, base=4.0).call(Script(Reply(503, {"Retry-After": "1"}), Reply(200)))
    assert slept == [4.0]


def test_retry_after_as_an_http_date_uses_the_clock() -> None:
    slept: list[float] = []
    now = 1445412480.0 - 90  # 90 s before Wed, 21 Oct 2015 07:28:00 GMT
    p = policy(slept, jitter=0.0, clock=lambda: now)
    p.call(Script(Reply(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), Reply(200)))
    assert slept == [90.0]


def test_retry_after_is_found_whatever_the_header_case() -> None:
    slept: list[float] = []
    policy(slept, jitter=0.0).call(Script(Reply(429, {"retry-after": "3"}), Reply(200)))
    assert slept == [3.0]


def test_an_invalid_retry_after_falls_back_to_backoff() -> None:
    slept: list[float] = []
    policy(slept, base=0.5).call(Script(Reply(503, {"Retry-After": "soon"}), Reply(200)))
    assert slept == [0.5]


def test_retry_after_is_ignored_when_not_respected() -> None:
    slept: list[float] = []
    p = policy(slept, base=0.5, respect_retry_after=False)
    p.call(Script(Reply(429, {"Retry-After": "120"}), Reply(200)))
    assert slept == [0.5]


def test_retry_after_past_the_maximum_gives_up_at_once() -> None:
    slept: list[float] = []
    send = Script(Reply(503, {"Retry-After": "301"}), Reply(200))
    with pytest.raises(RetriesExhausted) as raised:
        policy(slept, max_retry_after=300).call(send, api="youtube", method="search.list")
    error = raised.value
    assert (error.attempts, error.last_status, error.retry_after, send.calls, slept) == (1, 503, 301.0, 1, [])
    assert str(error) == (
        "youtube search.list: gave up after 1 attempt, the server asked to wait 301 s (last: status 503)"
    )


def test_a_non_retryable_status_is_returned_at_once() -> None:
    slept: list[float] = []
    send = Script(Reply(404), Reply(200))
    assert policy(slept).call(send).status_code == 404
    assert (send.calls, slept) == (1, [])


def test_exhaustion_carries_the_last_status_and_the_attempts() -> None:
    with pytest.raises(RetriesExhausted) as raised:
        policy([], max_attempts=3).call(Script(Reply(503), Reply(502), Reply(500)), api="youtube", method="m")
    assert (raised.value.attempts, raised.value.last_status, raised.value.last_exception) == (3, 500, None)
    assert str(raised.value) == "youtube m: gave up after 3 attempts (last: status 500)"


def test_exhaustion_after_errors_carries_the_last_error_as_its_cause() -> None:
    last = ConnectionResetError("reset by peer")
    with pytest.raises(RetriesExhausted) as raised:
        policy([], max_attempts=2).call(Script(TimeoutError("read"), last))
    assert raised.value.last_exception is last
    assert raised.value.__cause__ is last
    assert raised.value.last_status is None


def test_a_non_retryable_error_is_raised_at_once() -> None:
    slept: list[float] = []
    send = Script(ValueError("bad request body"), Reply(200))
    with pytest.raises(ValueError, match="bad request body"):
        policy(slept).call(send)
    assert (send.calls, slept) == (1, [])


def test_on_retry_hears_each_reason_and_delay() -> None:
    heard: list[tuple[str, float]] = []
    send = Script(TimeoutError(), ConnectionError(), Reply(429), Reply(503), Reply(200))
    policy([], base=1.0, cap=100.0).call(send, on_retry=lambda reason, delay: heard.append((reason, delay)))
    assert heard == [("timeout", 1.0), ("connection", 2.0), ("status_429", 4.0), ("status_5xx", 8.0)]


def test_a_custom_classify_decides_what_is_retried() -> None:
    heard: list[str] = []
    p = policy([], classify=lambda o: "conflict" if getattr(o, "status_code", 0) == 409 else None)
    result = p.call(Script(Reply(409), Reply(503)), on_retry=lambda reason, _: heard.append(reason))
    assert (result.status_code, heard) == (503, ["conflict"])


class ReadTimeout(Exception):  # named like httpx.ReadTimeout, not a TimeoutError
    pass


class ConnectError(Exception):  # named like httpx.ConnectError
    pass


class TimeoutException(Exception):  # like httpx's base class; its subclasses are timeouts too
    pass


class PoolFull(TimeoutException):
    pass


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (TimeoutError(), "timeout"),
        (ReadTimeout(), "timeout"),
        (PoolFull(), "timeout"),
        (ConnectionRefusedError(), "connection"),
        (ConnectError(), "connection"),
        (KeyError("x"), None),
        (RateLimitTimeout(1, 2.0, 1.0), None),  # named *Timeout, but our own decision: final
        (Reply(429), "status_429"),
        (Reply(504), "status_5xx"),
        (Reply(501), None),
        (Reply(404), None),
        (Reply(200), None),
        ("not a response", None),
    ],
)
def test_default_classification(outcome: object, reason: str | None) -> None:
    assert classify_outcome(outcome) == reason


def test_a_configured_4xx_status_is_retried_as_status_4xx() -> None:
    assert RetryPolicy(retry_on_status=(408, 503)).classify(Reply(408)) == "status_4xx"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Thu, 01 Jan 1970 00:01:00 GMT", 30.0),
        ("Thu, 01 Jan 1970 00:00:10 GMT", 0.0),
        ("-5", None),
        ("1.5", None),
        ("tomorrow", None),
        ("", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=30.0) == seconds


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"base": -1}, "base"),
        ({"cap": math.nan}, "cap"),
        ({"max_retry_after": math.inf}, "max_retry_after"),
        ({"retry_on_status": (200, 503)}, "4xx or 5xx"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)


def test_call_async_waits_with_the_async_sleep() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    p = RetryPolicy(base=0.5, random=lambda: 1.0, sleep=pytest.fail, async_sleep=sleep)
    send = Script(Reply(503), TimeoutError(), Reply(429, {"Retry-After": "9"}), Reply(200))
    assert asyncio.run(p.call_async(send.send_async)).status_code == 200
    assert slept == [0.5, 1.0, 9.0]


def test_call_async_exhaustion_carries_the_last_status() -> None:
    async def sleep(seconds: float) -> None:
        pass

    p = RetryPolicy(max_attempts=2, async_sleep=sleep)
    with pytest.raises(RetriesExhausted) as raised:
        asyncio.run(p.call_async(Script(Reply(503), Reply(429)).send_async))
    assert (raised.value.attempts, raised.value.last_status) == (2, 429)
