"""The API client errors: one-line messages, attributes, and pickling across processes."""

from __future__ import annotations

import datetime as dt
import pickle

from exporter.instrumentation._errors import (
    ApiClientError,
    QuotaExhausted,
    QuotaLedgerError,
    RateLimitTimeout,
    RetriesExhausted,
)

RESET = dt.datetime(2026, 3, 9, 7, tzinfo=dt.UTC)
QUOTA = QuotaExhausted("youtube", "search.list", cost=100, used=9950, limit=10_000, resets_at=RESET)
ERRORS: list[ApiClientError] = [
    RetriesExhausted("youtube", "videos.list", 5, last_status=503),
    RetriesExhausted("youtube", "videos.list", 2, last_exception=TimeoutError("read timed out")),
    QUOTA,
    RateLimitTimeout(1, 2.5, 1.0),
    QuotaLedgerError("/srv/quota.json", "not JSON"),
]


def test_every_error_is_an_api_client_error_with_a_one_line_message() -> None:
    assert all(isinstance(e, ApiClientError) and "\n" not in str(e) and str(e) for e in ERRORS)


def test_retries_exhausted_names_the_last_exception() -> None:
    assert (
        str(ERRORS[1]) == "youtube videos.list: gave up after 2 attempts (last: TimeoutError: read timed out)"
    )


def test_errors_pickle_with_their_message_and_attributes() -> None:
    for error in ERRORS:
        copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own objects, round-tripped)
        assert (type(copy), str(copy)) == (type(error), str(error))
        assert {k: v for k, v in vars(copy).items() if k != "last_exception"} == {
            k: v for k, v in vars(error).items() if k != "last_exception"
        }


def test_quota_exhausted_keeps_an_aware_reset_time() -> None:
    assert QUOTA.resets_at.utcoffset() == dt.timedelta(0)
