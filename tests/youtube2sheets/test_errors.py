"""Every error answers as ``{"error", "field"}`` JSON: the service's own, Starlette's, the unexpected."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from youtube2sheets.errors import (
    EXCEPTION_HANDLERS,
    BadRequest,
    Conflict,
    NotFound,
    QuotaError,
    UpstreamError,
)

RESET = dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))


async def boom(request: Request) -> Response:
    raise KeyError("secret internals")


async def refuse(request: Request) -> Response:
    raise QuotaError(RESET)


def get(path: str, method: str = "GET") -> httpx.Response:
    app = Starlette(
        routes=[Route("/boom", boom), Route("/quota", refuse, methods=["POST"])],
        exception_handlers=EXCEPTION_HANDLERS,
    )

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path)

    return asyncio.run(send())


@pytest.mark.parametrize(
    ("error", "status"),
    [(BadRequest("x"), 400), (NotFound("x"), 404), (Conflict("x"), 409), (UpstreamError("x"), 502)],
)
def test_each_error_has_its_status(error: BadRequest, status: int) -> None:
    assert error.response().status_code == status


def test_an_error_names_its_field() -> None:
    response = BadRequest("sheet must be short", field="sheet").response()
    assert json.loads(bytes(response.body)) == {"error": "sheet must be short", "field": "sheet"}


def test_a_quota_error_says_when_the_quota_resets() -> None:
    assert get("/quota", "POST").json() == {
        "error": "YouTube quota exhausted",
        "field": None,
        "resets_at": "2026-03-09T00:00:00-07:00",
    }


def test_an_unknown_route_is_a_json_404() -> None:
    response = get("/nowhere")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "no such endpoint: /nowhere", "field": None},
    )


def test_a_wrong_method_is_a_json_405_with_allow() -> None:
    response = get("/quota")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json()["error"] == "GET is not allowed on /quota; allowed: POST"


def test_an_unexpected_error_is_a_json_500_without_the_details() -> None:
    response = get("/boom")
    assert (response.status_code, response.json()) == (500, {"error": "internal error", "field": None})
