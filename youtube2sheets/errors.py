"""The service's errors and the Starlette exception handlers that answer every one of them as JSON.

Handlers raise a `ServiceError` subclass (`BadRequest`, `TooLarge`, `NotFound`, `Conflict`, `QuotaError`,
`UpstreamError`); `EXCEPTION_HANDLERS` turns it, Starlette's own ``HTTPException`` (unknown routes,
405) and anything unexpected (500, logged, no traceback in the response) into
``{"error": "...", "field": ...}``. ``field`` names the input at fault, or is null.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response


def json_bytes(payload: Any) -> bytes:
    """Compact JSON bytes, as every response body of the service is encoded.

    Example:
        >>> json_bytes({"error": "not found", "field": None})
        b'{"error":"not found","field":null}'
    """
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A JSON error: ``{"error": message, "field": field, **extra}`` with ``status``."""
    body = json_bytes({"error": message, "field": field, **extra})
    return Response(body, status_code=status, headers=headers, media_type="application/json")


class ServiceError(Exception):
    """An error a request ends with; ``status`` is its HTTP status, ``field`` the input at fault.

    Args:
        message: one line saying what is wrong and what was expected.
        field: the request field at fault, if any.

    Example:
        >>> error = BadRequest("sheet must match [A-Za-z0-9_-]{1,64}", field="sheet")
        >>> error.status, error.payload()
        (400, {'error': 'sheet must match [A-Za-z0-9_-]{1,64}', 'field': 'sheet'})
    """

    status = 500
    result = "error"  # the sync_runs_total result it counts as

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field

    def payload(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": self.message, "field": self.field}

    def response(self) -> Response:
        """The JSON response."""
        payload = self.payload()
        return error_response(self.status, payload.pop("error"), payload.pop("field"), **payload)


class BadRequest(ServiceError):
    """400: the request is malformed (not JSON, a field missing or invalid)."""

    status = 400


class TooLarge(ServiceError):
    """413: the request body is larger than the endpoint takes."""

    status = 413


class NotFound(ServiceError):
    """404: the sheet, the video or the channel does not exist."""

    status = 404
    result = "not_found"


class Conflict(ServiceError):
    """409: the sheet belongs to another channel."""

    status = 409
    result = "conflict"


class UpstreamError(ServiceError):
    """502: the YouTube API kept failing (after retries) or answered something unusable."""

    status = 502
    result = "upstream_error"


class QuotaError(ServiceError):
    """503: the YouTube quota is spent (by our count, or by the API's); ``resets_at`` says until when."""

    status = 503
    result = "quota_exhausted"

    def __init__(self, resets_at: dt.datetime, message: str = "YouTube quota exhausted") -> None:
        super().__init__(message)
        self.resets_at = resets_at

    def payload(self) -> dict[str, Any]:
        """``{"error", "field", "resets_at"}``."""
        return {**super().payload(), "resets_at": self.resets_at.isoformat()}


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)  # noqa: S101  (registered for ServiceError only)
    return exc.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101  (registered for HTTPException only)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    message = exc.detail
    if exc.status_code == 404:
        message = f"no such endpoint: {request.url.path}"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
    return error_response(exc.status_code, message, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette's ServerErrorMiddleware re-raises after this answers: uvicorn logs the traceback once.
    return error_response(500, "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServiceError: _service_error,
    HTTPException: _http_exception,
    Exception: _unexpected,
}
"""Starlette ``exception_handlers``: every error answers as JSON."""
