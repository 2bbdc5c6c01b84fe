"""The two error shapes: v3 API errors and admin input errors."""

from __future__ import annotations

import json

from youtube2sheets.simulator._errors import (
    ApiError,
    InputError,
    invalid_parameter,
    missing_parameter,
    quota_exceeded,
)


def test_an_api_error_has_the_v3_shape() -> None:
    body = ApiError(503, "backendError", "down").body()
    assert body == {
        "error": {
            "code": 503,
            "message": "down",
            "errors": [{"message": "down", "domain": "global", "reason": "backendError"}],
        }
    }


def test_a_parameter_error_names_the_parameter() -> None:
    detail = invalid_parameter("maxResults", "too big").body()["error"]["errors"][0]
    assert detail["reason"] == "invalidParameter" and detail["location"] == "maxResults"
    assert "maxResults" in detail["message"]


def test_a_missing_parameter_is_its_own_reason() -> None:
    error = missing_parameter("part")
    assert (error.status, error.reason, error.parameter) == (400, "missingRequiredParameter", "part")


def test_quota_exceeded_is_a_403_in_the_quota_domain() -> None:
    detail = quota_exceeded().body()["error"]
    assert detail["code"] == 403
    assert (
        detail["errors"][0]["domain"] == "youtube.quota" and detail["errors"][0]["reason"] == "quotaExceeded"
    )


def test_an_error_response_carries_its_headers() -> None:
    response = ApiError(429, "rateLimitExceeded", "slow", headers={"Retry-After": "3"}).response()
    assert response.status_code == 429 and response.headers["retry-after"] == "3"


def test_an_input_error_is_one_line_naming_the_field() -> None:
    response = InputError("rate", "expected a number").response()
    assert response.status_code == 400
    assert json.loads(bytes(response.body)) == {"error": "rate: expected a number", "field": "rate"}
