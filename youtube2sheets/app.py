"""`create_app`: the YouTube2Sheets ASGI application, one per worker process.

uvicorn calls ``create_app()`` (``factory=True``) in each spawned worker, which reads its settings
from the ``Y2S_*`` variables the CLI checked and set. The lifespan opens the worker's parts and
closes them at shutdown: the read connection, the YouTube client (its httpx pool), the syncer's write
connection, the video cache, and, with instrumentation on, this worker's multiprocess metrics
publisher (``enable_multiprocess(metrics, state/metrics)``), so that ``/metrics`` from any worker
shows all of them (`MultiProcessCollector`).

Routes::

    POST /api/sync                      {"channel_id": "UC...", "sheet": "name"}
    GET  /api/sheets/{sheet}/rows       ?page=1&per_page=50&sort=published_at&order=desc
    GET  /api/sheets/{sheet}.csv
    GET  /api/videos/{video_id}
    GET  /healthz, GET /metrics
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, MutableMapping, Sequence
from typing import Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from exporter.instrumentation import (
    DEFAULT_METRICS,
    MetricSet,
    MultiProcessCollector,
    PrometheusMiddleware,
    RetryPolicy,
    TTLCache,
    enable_multiprocess,
)
from youtube2sheets import db
from youtube2sheets.api import Endpoints, Worker
from youtube2sheets.config import Settings
from youtube2sheets.errors import EXCEPTION_HANDLERS
from youtube2sheets.sync import Syncer
from youtube2sheets.youtube import YouTubeClient

SERVER_ERRORS = ("500", "502", "503")  # a bug; YouTube kept failing; quota exhausted or the DB down


def route_of(scope: MutableMapping[str, Any]) -> str | None:
    """The route template Starlette matched (``scope["route"]``, set for 405s too), or None: unmatched.

    The routes here are flat (no ``Mount``), so a route's own ``path`` is its full template, and this
    dictionary lookup replaces `starlette_route_of`'s search (it matters at 20,000 requests a second).
    """
    return getattr(scope.get("route"), "path", None)


def create_app(
    settings: Settings | None = None,
    *,
    metrics: MetricSet | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
) -> Starlette:
    """The application; its lifespan starts and stops one worker's parts (``app.state.worker`` meanwhile).

    Use it through uvicorn (``youtube2sheets serve``), or in tests with a fresh ``MetricSet`` and the
    simulator as ``transport``, entering ``app.router.lifespan_context(app)`` around the requests.

    Args:
        settings: the settings; default `Settings.from_env()` (what the CLI hands its workers).
        metrics: where every metric goes; default `DEFAULT_METRICS`, or a private, unexposed set when
            instrumentation is off.
        transport: the httpx transport to the YouTube API (default: the network, ``youtube_url``).
        retry: the YouTube client's retry policy (default: see ``youtube2sheets.youtube``).

    Example:
        >>> app = create_app(Settings(instrumentation=False), metrics=MetricSet())
        >>> sorted(route.path for route in app.routes)[:2]
        ['/api/sheets/{sheet}.csv', '/api/sheets/{sheet}/rows']
    """
    settings = Settings.from_env() if settings is None else settings
    instrumented = settings.instrumentation
    if metrics is None:
        metrics = DEFAULT_METRICS if instrumented else MetricSet()
    endpoints = Endpoints()
    registry = CollectorRegistry()  # a MultiProcessCollector joins it at the first start
    registered: list[bool] = []

    async def metrics_endpoint(request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, registry)
        return Response(data, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.metrics_dir.mkdir(parents=True, exist_ok=True)
        publisher = enable_multiprocess(metrics, str(settings.metrics_dir)) if instrumented else None
        if instrumented and not registered:
            registry.register(MultiProcessCollector(str(settings.metrics_dir), metrics=metrics))
            registered.append(True)
        with contextlib.closing(db.connect(settings.database, metrics=metrics)) as conn:
            db.create_schema(conn)
        reader = db.connect(settings.database, metrics=metrics, readonly=True)
        client = YouTubeClient(settings, metrics=metrics, transport=transport, retry=retry)
        cache: TTLCache[str, bytes] = TTLCache(
            name="videos", maxsize=settings.cache_size, ttl=settings.cache_ttl, metrics=metrics
        )

        def forget(video_ids: Sequence[str]) -> None:
            for video_id in video_ids:
                cache.pop(video_id)

        syncer = Syncer(
            client,
            settings.database,
            reader=reader,
            metrics=metrics,
            instrumented=instrumented,
            on_changed=forget,
        )
        endpoints.worker = app.state.worker = Worker(settings.database, reader, cache, syncer, metrics)
        try:
            yield
        finally:
            endpoints.worker = app.state.worker = None
            await client.aclose()
            syncer.close()
            reader.close()
            if publisher is not None:
                publisher.close()

    routes: list[BaseRoute] = [
        Route("/api/videos/{video_id}", endpoints.video, methods=["GET"]),
        Route("/api/sheets/{sheet}/rows", endpoints.rows, methods=["GET"]),
        Route("/api/sheets/{sheet}.csv", endpoints.csv, methods=["GET"]),
        Route("/api/sync", endpoints.sync, methods=["POST"]),
        Route("/healthz", endpoints.healthz, methods=["GET"]),
    ]
    if instrumented:
        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    # The server errors this service answers, at 0 from the start on every route, so the error-ratio
    # alert and the SLO see the first 5xx at the first scrape (a series born at 1 shows no rate).
    prime = [
        (method, route.path, status)
        for route in routes
        if isinstance(route, Route) and route.path != "/metrics"
        for method in sorted((route.methods or set()) - {"HEAD"})
        for status in SERVER_ERRORS
    ]
    middleware = (
        [Middleware(PrometheusMiddleware, metrics=metrics, route_of=route_of, prime=prime)]
        if instrumented
        else []
    )
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan
    )
