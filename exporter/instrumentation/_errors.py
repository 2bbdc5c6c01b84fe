"""The errors an outbound API call can end with, besides the response itself or the request's own error.

Catch `ApiClientError` to handle them all; each carries the facts an operator needs as attributes
and says them in one line::

    try:
        response = caller.call("videos.list", send)
    except QuotaExhausted as exc:
        pause_until(exc.resets_at)
    except RetriesExhausted as exc:
        log.warning("giving up: %s", exc)
"""

from __future__ import annotations

import datetime as dt
from typing import Any


class ApiClientError(Exception):
    """Base class of the errors raised by the rate limiter, the retry policy and the quota tracker.

    They pickle with their attributes (a worker process can hand one to its parent), although their
    constructors take more than the message.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[ApiClientError], args: tuple[Any, ...], state: dict[str, Any]) -> ApiClientError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class RetriesExhausted(ApiClientError):
    """Every attempt failed in a retryable way, or the server asked to wait longer than allowed.

    Args:
        api: the API's name (``"youtube"``).
        method: the API method (``"videos.list"``).
        attempts: how many requests were sent.
        last_status: the last response's status, when the last attempt got a response.
        last_exception: the last attempt's exception (also the ``__cause__``), when it got none.
        retry_after: the server's ``Retry-After`` in seconds, when that is why we gave up early.

    Example:
        >>> str(RetriesExhausted("youtube", "videos.list", 5, last_status=503))
        'youtube videos.list: gave up after 5 attempts (last: status 503)'
    """

    def __init__(
        self,
        api: str,
        method: str,
        attempts: int,
        *,
        last_status: int | None = None,
        last_exception: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.api, self.method, self.attempts = api, method, attempts
        self.last_status, self.last_exception, self.retry_after = last_status, last_exception, retry_after
        if last_status is not None:
            last = f"status {last_status}"
        elif last_exception is not None:
            last = f"{type(last_exception).__name__}: {last_exception}".rstrip(": ")
        else:
            last = "unknown"
        plural = "attempt" if attempts == 1 else "attempts"
        why = f"gave up after {attempts} {plural}"
        if retry_after is not None:
            why += f", the server asked to wait {retry_after:g} s"
        super().__init__(f"{api} {method}: {why} (last: {last})")


class QuotaExhausted(ApiClientError):
    """The call would take the API's daily quota past its limit, so it was not sent.

    Args:
        api: the API's name.
        method: the API method that was refused.
        cost: the units the call would have cost.
        used: the units already used today.
        limit: the daily limit in units.
        resets_at: when the quota resets (an aware datetime, midnight in the quota's time zone).

    Example:
        >>> reset = dt.datetime(2026, 3, 9, 7, tzinfo=dt.timezone.utc)
        >>> exc = QuotaExhausted("youtube", "search.list", cost=100, used=9950, limit=10_000, resets_at=reset)
        >>> for part in str(exc).split("; "):
        ...     print(part)
        youtube search.list: quota exhausted (costs 100 units, 9950 of 10000 used)
        resets at 2026-03-09T07:00:00+00:00
    """

    def __init__(
        self, api: str, method: str, *, cost: int, used: int, limit: int, resets_at: dt.datetime
    ) -> None:
        self.api, self.method, self.cost, self.used, self.limit = api, method, cost, used, limit
        self.resets_at = resets_at
        super().__init__(
            f"{api} {method}: quota exhausted (costs {cost} units, {used} of {limit} used); "
            f"resets at {resets_at.isoformat()}"
        )


class RateLimitTimeout(ApiClientError):
    """Getting a rate-limit token would take longer than the caller allowed; no token was taken.

    Args:
        tokens: the tokens asked for.
        wait: the seconds the caller would have had to wait.
        timeout: the seconds the caller allowed.

    Example:
        >>> str(RateLimitTimeout(1, 2.5, 1.0))
        'rate limiter: 1 token needs a 2.5 s wait, longer than the 1 s allowed'
    """

    def __init__(self, tokens: float, wait: float, timeout: float) -> None:
        self.tokens, self.wait, self.timeout = tokens, wait, timeout
        plural = "token needs" if tokens == 1 else "tokens need"
        super().__init__(
            f"rate limiter: {tokens:g} {plural} a {wait:.3g} s wait, longer than the {timeout:g} s allowed"
        )


class QuotaLedgerError(ApiClientError):
    """A quota ledger file cannot be read: corrupt, or not a ledger. The message names the file.

    Example:
        >>> print(QuotaLedgerError("/srv/quota.json", "not JSON"))
        quota ledger /srv/quota.json is unreadable (not JSON); expected {"date": "YYYY-MM-DD", "used": N}
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(
            f'quota ledger {path} is unreadable ({problem}); expected {{"date": "YYYY-MM-DD", "used": N}}'
        )
