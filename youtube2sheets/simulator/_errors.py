"""The simulator's two error shapes: the v3 API's (`ApiError`) and the admin API's (`InputError`).

The API answers errors as the real YouTube Data API v3 does::

    {"error": {"code": 403, "message": "...",
               "errors": [{"message": "...", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}

(parameter errors also carry ``location`` and ``locationType``, as the real ones do). The admin
endpoints answer bad input with the project's one-line shape, ``{"error": "...", "field": "..."}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


class ApiError(Exception):
    """A v3 API error answer; raise it from an endpoint, or build its `response` directly.

    Args:
        status: the HTTP status and ``error.code``.
        reason: ``errors[0].reason``, such as ``invalidParameter`` or ``quotaExceeded``.
        message: the human-readable message, naming the parameter when one is at fault.
        domain: ``errors[0].domain``.
        parameter: the query parameter at fault, if any (``location``).
        headers: extra response headers (``Retry-After``).

    Example:
        >>> ApiError(400, "invalidParameter", "bad part", parameter="part").body()["error"]["code"]
        400
    """

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        parameter: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.domain, self.parameter, self.headers = domain, parameter, dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        detail: dict[str, Any] = {"message": self.message, "domain": self.domain, "reason": self.reason}
        if self.parameter is not None:
            detail.update(location=self.parameter, locationType="parameter")
        return {"error": {"code": self.status, "message": self.message, "errors": [detail]}}

    def response(self) -> JSONResponse:
        """The error as a response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid_parameter(parameter: str, message: str) -> ApiError:
    """400 ``invalidParameter``: ``message`` says what is wrong with ``parameter``."""
    text = f"Invalid value for parameter {parameter}: {message}"
    return ApiError(400, "invalidParameter", text, domain="youtube.parameter", parameter=parameter)


def missing_parameter(parameter: str) -> ApiError:
    """400 ``missingRequiredParameter`` for ``parameter``."""
    text = f"No value given for the required parameter {parameter}."
    return ApiError(400, "missingRequiredParameter", text, domain="youtube.parameter", parameter=parameter)


def quota_exceeded() -> ApiError:
    """403 ``quotaExceeded``: the key's daily quota would be passed."""
    return ApiError(403, "quotaExceeded", QUOTA_MESSAGE, domain="youtube.quota")


class InputError(ValueError):
    """Bad admin input: one line saying what was expected, and the field (or ``body``) at fault.

    Example:
        >>> InputError("rate", "expected a number from 0.0 to 1.0").as_json()
        {'error': 'rate: expected a number from 0.0 to 1.0', 'field': 'rate'}
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message

    def as_json(self) -> dict[str, str]:
        """``{"error": ..., "field": ...}``."""
        return {"error": str(self), "field": self.field}

    def response(self, status: int = 400) -> JSONResponse:
        """The error as a JSON response."""
        return JSONResponse(self.as_json(), status_code=status)
