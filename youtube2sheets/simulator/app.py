"""`create_app`: the simulator as a Starlette app, for the command line and for in-process tests.

Routes: the v3 API under ``/youtube/v3`` (`api`), the admin API under ``/admin`` (`admin`),
``/healthz`` and ``/metrics``. Each app has its own `MetricSet` and ``CollectorRegistry``, so two
apps in one test process never share a counter, and nothing touches prometheus_client's global
registry. ``/metrics`` has `PrometheusMiddleware`'s ``http_*`` families, the simulator's
``youtube_simulator_*`` ones (`SimulatorMetrics`), and the process's ``process_*``/``python_*``.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    make_asgi_app,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from exporter.instrumentation import MetricSet, PrometheusMiddleware
from youtube2sheets.simulator._errors import ApiError
from youtube2sheets.simulator.admin import admin_routes
from youtube2sheets.simulator.api import api_routes
from youtube2sheets.simulator.config import SimulatorConfig
from youtube2sheets.simulator.state import Simulator


class _Metrics:
    """``/metrics`` as a plain ASGI app (prometheus_client's, with its format negotiation and gzip)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._app: ASGIApp = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


async def healthz(request: Request) -> Response:
    """``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves."""
    return JSONResponse({"status": "ok"})


async def http_error(request: Request, exc: Exception) -> Response:
    """404 and 405 as JSON: v3-shaped under ``/youtube/v3``, ``{"error", "field"}`` elsewhere."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    what = f"{request.method} {request.url.path}"
    message = f"no such endpoint: {what}" if status == 404 else f"method not allowed: {what}"
    if request.url.path.startswith("/youtube/v3/"):
        reason = "notFound" if status == 404 else "methodNotAllowed"
        return ApiError(status, reason, message, headers=headers).response()
    field = "path" if status == 404 else "method"
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def create_app(config: SimulatorConfig | None = None, *, metrics: MetricSet | None = None) -> Starlette:
    """The simulator app; its state is ``app.state.simulator`` (a `Simulator`).

    Args:
        config: the settings (default `SimulatorConfig()`); ``host`` and ``port`` are not used here.
        metrics: where the app's families go; a fresh `MetricSet` by default.

    Example:
        >>> from starlette.testclient import TestClient
        >>> app = create_app(SimulatorConfig(seed=42, latency_median_ms=0))
        >>> with TestClient(app) as client:
        ...     channel = client.get("/admin/channels").json()["channels"][0]
        ...     query = {"part": "statistics", "id": channel["id"], "key": "dev"}
        ...     found = client.get("/youtube/v3/channels", params=query).json()
        >>> found["items"][0]["statistics"]["videoCount"]
        '3'
    """
    config = SimulatorConfig() if config is None else config
    metrics = MetricSet() if metrics is None else metrics
    sim = Simulator(config, metrics)
    registry = CollectorRegistry()
    registry.register(metrics)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", _Metrics(registry), methods=["GET"]),
        *api_routes(sim),
        *admin_routes(sim),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(PrometheusMiddleware, metrics=metrics)],
        exception_handlers={404: http_error, 405: http_error},
    )
    app.state.simulator = sim
    return app
