"""The anchors for the service benchmark: a Starlette hello-world, bare and with two kinds of middleware.

``uvicorn --factory _hello_apps:bare`` (or ``ours``, ``prometheus_client``) serves ``GET /hello/{name}``:

- ``bare``: no instrumentation;
- ``ours``: `exporter.instrumentation.PrometheusMiddleware`, as the service uses it;
- ``prometheus_client``: the usual hand-written middleware on prometheus_client's own metrics (a
  ``Counter`` and a ``Histogram`` by method, route template and status), the way most services do it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from exporter.instrumentation import MetricSet, PrometheusMiddleware

BODY = b'{"hello":"world"}'
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def hello(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


def bare() -> Starlette:
    return Starlette(routes=[Route("/hello/{name}", hello)])


def ours() -> Starlette:
    app = bare()
    app.add_middleware(PrometheusMiddleware, metrics=MetricSet())
    return app


class ClientMiddleware:
    """What a service usually writes with prometheus_client: route template by matching, two metrics."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "Requests.", ["method", "route", "status"], registry=registry
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "Duration.", ["method", "route"], registry=registry
        )

    def route(self, scope: Scope) -> str:
        for route in self.app.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return str(getattr(route, "path", "unmatched"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = self.route(scope)
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.duration.labels(scope["method"], route).observe(time.perf_counter() - start)


def prometheus_client() -> ClientMiddleware:
    return ClientMiddleware(bare())
