"""HTTP server metrics: ASGI and WSGI middleware, labelled by method, route template and status.

- ``http_requests_total{method, route, status}``: answered requests; ``status`` is the code as text;
- ``http_request_duration_seconds{method, route}``: from the call until the response is finished
  (the last body message sent, a streamed body included), with a bucket at exactly 2.0 s, the p95 SLO;
- ``http_response_size_bytes{method, route}``: body bytes sent, to spot payloads that grow;
- ``http_requests_in_flight{method}``: requests started and not finished (multiprocess mode livesum).

Labels stay bounded: ``method`` is a standard method or ``other``; ``route`` is the route TEMPLATE
(``/api/sheets/{sheet}/rows``), never the raw path, and every request no route matches (a scanner's
404s) is ``unmatched``; ``route`` is also guarded by the family's cap on label sets.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from exporter.instrumentation._core import OTHER
from exporter.instrumentation._http_routes import RouteOf, Scope, starlette_route_of
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})
SIZE_BUCKETS = (100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0, 10_000_000.0)
_BOUND_MAX = 4096
Observe = Callable[[float], None]


class _HTTPMetrics:
    """The four families; `record` counts one finished request."""

    def __init__(self, metrics: MetricSet, prime: Iterable[tuple[str, str, str]] = ()) -> None:
        route = ["method", "route"]
        self.requests = metrics.counter(
            "http_requests_total", "HTTP requests answered.", ["method", "route", "status"], guarded=["route"]
        )
        self.duration = metrics.histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request.", route, guarded=["route"]
        )
        self.size = metrics.histogram(
            "http_response_size_bytes", "Response body size.", route, buckets=SIZE_BUCKETS, guarded=["route"]
        )
        in_flight = metrics.gauge(
            "http_requests_in_flight",
            "HTTP requests being answered.",
            ["method"],
            multiprocess_mode="livesum",
        )
        children = {m: in_flight.labels(m) for m in (*METHODS, OTHER)}
        self.started = {m: child.inc_one for m, child in children.items()}  # method -> in flight +1
        self._ended = {m: child.dec_one for m, child in children.items()}
        # (method, route, status) -> the three children's update methods, so that a request costs
        # one dict lookup instead of three label lookups. Bounded: past the cap, lookups go the slow way.
        self._bound: dict[tuple[str, str, str], tuple[Callable[[], int], Observe, Observe]] = {}
        # Label sets that exist at 0 before their first request ("avoid missing metrics"): a counter
        # that first appears already at 1 shows no increase to rate() until its second scrape.
        for method, route_name, status in prime:
            self.requests.labels(method, route_name, status)

    def record(self, method: str, route: str, status: str, seconds: float, size: int) -> None:
        """Count one finished request (and take it out of flight)."""
        self._ended[method]()
        key = (method, route, status)
        bound = self._bound.get(key)
        if bound is None:
            bound = (
                self.requests.labels(method, route, status).inc_one,
                self.duration.labels(method, route).observe,
                self.size.labels(method, route).observe,
            )
            if len(self._bound) < _BOUND_MAX:
                self._bound[key] = bound
        count, observe_duration, observe_size = bound
        count()
        observe_duration(seconds)
        observe_size(size)


def _excluded(paths: Iterable[str]) -> frozenset[str]:
    listed = () if isinstance(paths, str) else tuple(paths)
    if isinstance(paths, str) or not all(isinstance(p, str) and p.startswith("/") for p in listed):
        raise ValueError(f"exclude_paths must be a sequence of paths starting with '/', got {paths!r}")
    return frozenset(listed)


class PrometheusMiddleware:
    """ASGI middleware that counts and times every HTTP request (``lifespan`` and websockets pass through).

    The status is the one the app sent in ``http.response.start``, or 500 when it raised (or returned)
    before starting a response; the exception propagates. A failure after the response started keeps
    the status the client already received. Starlette is not imported: any ASGI app works.

    Args:
        app: the ASGI application.
        metrics: where the families live; tests pass a fresh ``MetricSet()``.
        route_of: ``scope -> route template or None`` (None: ``unmatched``), called once the response
            is finished, with the scope as the app left it (so it sees ``scope["route"]``) but the
            request's own ``path`` and ``root_path``. Default: `starlette_route_of()`.
        exclude_paths: paths not measured at all, such as the metrics endpoint itself.
        clock: seconds, for durations (tests inject a fake).
        prime: ``(method, route, status)`` label sets of ``http_requests_total`` to create at 0 up
            front, typically the 5xx an error-ratio alert watches: a series born at 1 shows no
            increase to ``rate()`` until its second scrape, which delays the alert by one interval.

    Example (Starlette; any ASGI app works the same)::

        app = Starlette(routes=[Route("/api/sheets/{sheet}/rows", rows), Mount("/admin", admin)])
        app.add_middleware(PrometheusMiddleware)      # routes resolved with starlette_route_of()
        registry.register(DEFAULT_METRICS)            # then serve registry, e.g. make_asgi_app(registry)
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: MetricSet = DEFAULT_METRICS,
        route_of: RouteOf | None = None,
        exclude_paths: Iterable[str] = ("/metrics",),
        clock: Callable[[], float] = time.perf_counter,
        prime: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        self.app = app
        self._http = _HTTPMetrics(metrics, prime)
        self._route_of = starlette_route_of() if route_of is None else route_of
        self._exclude = _excluded(exclude_paths)
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._exclude:
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in METHODS else OTHER
        path, root_path = scope["path"], scope.get("root_path", "")
        clock, http = self._clock, self._http
        status, size, trailers, done = 0, 0, False, False
        http.started[method]()
        start = clock()

        def finish() -> None:
            nonlocal done
            if done:
                return
            done, seconds = True, clock() - start
            view = scope
            if scope.get("path") != path or scope.get("root_path", "") != root_path:
                view = {**scope, "path": path, "root_path": root_path}  # a Mount moved them
            http.record(method, self._route_of(view) or UNMATCHED, str(status or 500), seconds, size)

        async def send_counted(message: Message) -> None:
            nonlocal status, size, trailers
            kind = message["type"]
            if kind == "http.response.start":
                status, trailers = message["status"], bool(message.get("trailers"))
                last = False
            elif kind == "http.response.body":
                size += len(message.get("body", b""))
                last = not message.get("more_body") and not trailers
            else:  # the end of trailers, or a file sent by the server (the pathsend extension)
                last = kind == "http.response.pathsend" or (
                    kind == "http.response.trailers" and not message.get("more_trailers")
                )
            try:
                await send(message)
            finally:
                if last:
                    finish()

        try:
            await self.app(scope, receive, send_counted)
        finally:
            finish()


class PrometheusWSGIMiddleware:
    """WSGI middleware with the same metrics as `PrometheusMiddleware`.

    The status is the one given to ``start_response``, or 500 when the app raised before any body
    byte was sent; the duration runs until the server has exhausted and closed the response
    iterable (the middleware wraps it, so a ``wsgi.file_wrapper`` is iterated, not sent as a file).

    Args:
        app: the WSGI application.
        route_of: ``environ -> route template or None`` (None: ``unmatched``), called before the app
            runs, as WSGI routers may consume ``PATH_INFO``; WSGI has no standard place for routes.
        metrics, exclude_paths, clock, prime: as for `PrometheusMiddleware`.

    Example::

        routes = {"/healthz": "/healthz", "/api/sheets": "/api/sheets"}
        app = PrometheusWSGIMiddleware(flask_app, route_of=lambda environ: routes.get(environ["PATH_INFO"]))
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        route_of: Callable[[WSGIEnvironment], str | None],
        metrics: MetricSet = DEFAULT_METRICS,
        exclude_paths: Iterable[str] = ("/metrics",),
        clock: Callable[[], float] = time.perf_counter,
        prime: Iterable[tuple[str, str, str]] = (),
    ) -> None:
        self.app = app
        self._http = _HTTPMetrics(metrics, prime)
        self._route_of = route_of
        self._exclude = _excluded(exclude_paths)
        self._clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in self._exclude:
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "")
        request = _Request(
            self._http, method if method in METHODS else OTHER, self._route_of(environ), self._clock
        )

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
        ) -> Callable[[bytes], object]:
            request.status = status.split(" ", 1)[0]
            write = start_response(status, headers, exc_info)

            def counted_write(data: bytes) -> object:
                request.size, request.sent = request.size + len(data), True
                return write(data)

            return counted_write

        try:
            body = self.app(environ, start)
        except BaseException:
            request.finish(failed=True)
            raise
        return _Body(body, request)


class _Request:
    """One WSGI request: its labels, what was sent, and `finish`, which records it once."""

    __slots__ = ("clock", "done", "http", "method", "route", "sent", "size", "start", "status")

    def __init__(
        self, http: _HTTPMetrics, method: str, route: str | None, clock: Callable[[], float]
    ) -> None:
        self.http, self.method, self.route, self.clock = http, method, route or UNMATCHED, clock
        self.status, self.size, self.sent, self.done = "500", 0, False, False
        http.started[method]()
        self.start = clock()

    def finish(self, failed: bool = False) -> None:
        if failed and not self.sent:
            self.status = "500"  # the server answers 500 when nothing was sent yet
        if not self.done:
            self.done = True
            self.http.record(self.method, self.route, self.status, self.clock() - self.start, self.size)


class _Body:
    """The app's response iterable, counted as the server reads it; ``close()`` ends the request."""

    __slots__ = ("_body", "_chunks", "_request")

    def __init__(self, body: Iterable[bytes], request: _Request) -> None:
        self._body, self._request = body, request
        self._chunks: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            if self._chunks is None:
                self._chunks = iter(self._body)
            chunk = next(self._chunks)
        except StopIteration:
            raise
        except BaseException:
            self._request.finish(failed=True)
            raise
        if chunk:
            self._request.size += len(chunk)
            self._request.sent = True
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._request.finish()
