"""HTTP middleware: a real Starlette app (ASGI) and a real wsgiref server (WSGI) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment
from wsgiref.util import shift_path_info

import httpx2 as httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from exporter.instrumentation import MetricSet
from exporter.instrumentation._http import PrometheusMiddleware, PrometheusWSGIMiddleware
from exporter.instrumentation._http_routes import Scope

Message = dict[str, Any]


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def value(metrics: MetricSet, name: str, **labels: str) -> float:
    registry = CollectorRegistry()
    registry.register(metrics)
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def requests(metrics: MetricSet) -> dict[tuple[str, str, str], float]:
    """``(method, route, status) -> count`` of ``http_requests_total``."""
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    return {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for fam in text_string_to_metric_families(text)
        if fam.name == "http_requests"
        for s in fam.samples
        if s.name == "http_requests_total"
    }


def in_flight(metrics: MetricSet) -> float:
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "http_requests_in_flight"
        for s in f.samples
    )


# --- ASGI: a real Starlette app -------------------------------------------------------------------


class Gate:
    """Holds a request inside the app until the test lets it go."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()


def starlette_app(clock: Clock, gate: Gate) -> Starlette:
    async def rows(request: Request) -> Response:
        return PlainTextResponse(f"rows of {request.path_params['sheet']}")

    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    async def stream(request: Request) -> Response:
        async def chunks() -> Any:
            for _ in range(3):
                clock.advance(0.5)
                yield b"x" * 100

        return StreamingResponse(chunks(), background=BackgroundTask(clock.advance, 10.0))

    def slow(request: Request) -> Response:  # a sync endpoint: Starlette runs it in a thread
        gate.entered.set()
        gate.release.wait(10)
        return PlainTextResponse("done")

    async def user(request: Request) -> Response:
        return PlainTextResponse(str(request.path_params["user_id"]))

    async def files(scope: Scope, receive: Any, send: Any) -> None:
        await PlainTextResponse("file")(scope, receive, send)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    admin = Starlette(routes=[Route("/users/{user_id:int}", user)])
    return Starlette(
        routes=[
            Route("/api/sheets/{sheet}/rows", rows, methods=["GET", "POST"]),
            Route("/boom", boom),
            Route("/stream", stream),
            Route("/slow", slow),
            Route("/metrics", lambda request: PlainTextResponse("# metrics")),
            Mount("/admin", app=admin),
            Mount("/static", app=files),
            WebSocketRoute("/ws", echo),
        ]
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics() -> MetricSet:
    return MetricSet()


@pytest.fixture(params=["wrapping", "add_middleware"])
def client(
    request: pytest.FixtureRequest, metrics: MetricSet, clock: Clock
) -> Iterator[tuple[TestClient, Gate]]:
    """The middleware around the Starlette app, and added with ``app.add_middleware`` (inside it)."""
    gate = Gate()
    app = starlette_app(clock, gate)
    if request.param == "wrapping":
        asgi: Any = PrometheusMiddleware(app, metrics=metrics, clock=clock)
    else:
        app.add_middleware(PrometheusMiddleware, metrics=metrics, clock=clock)
        asgi = app
    with TestClient(asgi) as test_client:
        yield test_client, gate
    gate.release.set()


def test_asgi_route_is_the_template_with_path_parameters(
    client: tuple[TestClient, Gate], metrics: MetricSet
) -> None:
    for sheet in ("s1", "s2", "s3"):
        assert client[0].get(f"/api/sheets/{sheet}/rows").status_code == 200
    client[0].post("/api/sheets/s1/rows")
    assert requests(metrics) == {
        ("GET", "/api/sheets/{sheet}/rows", "200"): 3,
        ("POST", "/api/sheets/{sheet}/rows", "200"): 1,
    }


def test_asgi_mounted_routes_keep_the_mount_prefix(
    client: tuple[TestClient, Gate], metrics: MetricSet
) -> None:
    assert client[0].get("/admin/users/42").text == "42"
    assert client[0].get("/static/css/site.css").text == "file"
    assert requests(metrics) == {
        ("GET", "/admin/users/{user_id:int}", "200"): 1,
        ("GET", "/static/{path:path}", "200"): 1,
    }


def test_asgi_unknown_paths_fold_into_unmatched(client: tuple[TestClient, Gate], metrics: MetricSet) -> None:
    for path in ("/wp-login.php", "/.env", "/api/sheets", "/admin/nope", "/admin/users/not-an-int"):
        assert client[0].get(path).status_code == 404
    assert requests(metrics) == {("GET", "unmatched", "404"): 5}


def test_asgi_streaming_duration_covers_the_whole_body_not_background_tasks(
    client: tuple[TestClient, Gate], metrics: MetricSet
) -> None:
    assert client[0].get("/stream").content == b"x" * 300
    labels = {"method": "GET", "route": "/stream"}
    assert value(metrics, "http_request_duration_seconds_sum", **labels) == 1.5
    assert value(metrics, "http_request_duration_seconds_bucket", le="1.0", **labels) == 0
    assert value(metrics, "http_request_duration_seconds_bucket", le="2.0", **labels) == 1
    assert value(metrics, "http_response_size_bytes_sum", **labels) == 300


def test_asgi_endpoint_that_raises_is_a_500_and_the_error_propagates(
    client: tuple[TestClient, Gate], metrics: MetricSet
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        client[0].get("/boom")
    assert requests(metrics) == {("GET", "/boom", "500"): 1}
    assert in_flight(metrics) == 0


def test_asgi_head_options_and_odd_methods(client: tuple[TestClient, Gate], metrics: MetricSet) -> None:
    assert client[0].head("/api/sheets/s1/rows").status_code == 200
    assert client[0].options("/api/sheets/s1/rows").status_code == 405
    assert client[0].request("PROPFIND", "/api/sheets/s1/rows").status_code == 405
    assert client[0].request("BREW", "/nowhere").status_code == 404
    assert requests(metrics) == {
        ("HEAD", "/api/sheets/{sheet}/rows", "200"): 1,
        ("OPTIONS", "/api/sheets/{sheet}/rows", "405"): 1,
        ("other", "/api/sheets/{sheet}/rows", "405"): 1,
        ("other", "unmatched", "404"): 1,
    }


def test_asgi_in_flight_counts_a_slow_request_until_it_ends(
    client: tuple[TestClient, Gate], metrics: MetricSet
) -> None:
    test_client, gate = client
    answered: list[int] = []
    thread = threading.Thread(target=lambda: answered.append(test_client.get("/slow").status_code))
    thread.start()
    assert gate.entered.wait(10)
    assert value(metrics, "http_requests_in_flight", method="GET") == 1
    gate.release.set()
    thread.join(10)
    assert answered == [200]
    assert value(metrics, "http_requests_in_flight", method="GET") == 0


def test_asgi_metrics_path_is_not_measured(client: tuple[TestClient, Gate], metrics: MetricSet) -> None:
    assert client[0].get("/metrics").status_code == 200
    assert requests(metrics) == {}


def test_asgi_lifespan_and_websockets_pass_through(metrics: MetricSet, clock: Clock) -> None:
    app = PrometheusMiddleware(starlette_app(clock, Gate()), metrics=metrics, clock=clock)
    with (
        TestClient(app) as test_client,
        test_client.websocket_connect("/ws") as ws,
    ):  # the context runs lifespan
        ws.send_text("hello")
        assert ws.receive_text() == "hello"
    assert requests(metrics) == {}
    assert in_flight(metrics) == 0


def test_asgi_counts_are_exact_under_concurrent_requests(metrics: MetricSet, clock: Clock) -> None:
    app = PrometheusMiddleware(starlette_app(clock, Gate()), metrics=metrics, clock=clock)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            calls = [http.get(f"/api/sheets/s{i % 7}/rows") for i in range(300)]
            calls += [http.get(f"/scan/{i}") for i in range(100)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert sorted(asyncio.run(run())) == [200] * 300 + [404] * 100
    assert requests(metrics) == {
        ("GET", "/api/sheets/{sheet}/rows", "200"): 300,
        ("GET", "unmatched", "404"): 100,
    }
    assert in_flight(metrics) == 0


# --- ASGI: the protocol, with plain ASGI apps ------------------------------------------------------


def call(app: Callable[..., Any], scope: Scope | None = None) -> list[Message]:
    """Run one HTTP request through ``app``; the messages it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    base = {"type": "http", "method": "GET", "path": "/x", "root_path": "", "headers": []}
    asyncio.run(app({**base, **(scope or {})}, receive, send))
    return sent


def test_asgi_raising_before_a_response_records_500_and_reraises(metrics: MetricSet) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        raise KeyError("lost")

    with pytest.raises(KeyError, match="lost"):
        call(PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: "/x"))
    assert requests(metrics) == {("GET", "/x", "500"): 1}
    assert in_flight(metrics) == 0


def test_asgi_raising_after_the_response_started_keeps_its_status(metrics: MetricSet) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        call(PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: "/x"))
    assert requests(metrics) == {("GET", "/x", "200"): 1}


def test_asgi_app_returning_without_a_response_is_a_500(metrics: MetricSet) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        return None

    call(PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: "/x"))
    assert requests(metrics) == {("GET", "/x", "500"): 1}


def test_asgi_response_with_trailers_ends_with_the_last_trailers(metrics: MetricSet, clock: Clock) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [], "trailers": True})
        await send({"type": "http.response.body", "body": b"abc"})
        clock.advance(0.25)
        await send({"type": "http.response.trailers", "headers": [], "more_trailers": False})
        clock.advance(5.0)  # after the response: not part of it

    call(PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: "/x", clock=clock))
    assert value(metrics, "http_request_duration_seconds_sum", method="GET", route="/x") == 0.25


def test_asgi_pathsend_ends_the_response(metrics: MetricSet, clock: Clock) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        clock.advance(0.5)
        await send({"type": "http.response.pathsend", "path": "/srv/report.csv"})
        clock.advance(5.0)

    call(PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: "/x", clock=clock))
    assert value(metrics, "http_request_duration_seconds_sum", method="GET", route="/x") == 0.5


def test_asgi_route_of_sees_the_apps_scope_with_the_original_path(metrics: MetricSet) -> None:
    seen: list[tuple[str, str, object]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scope.update(root_path="/api", route="the-route")  # what a Mount does
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def route_of(scope: Scope) -> str | None:
        seen.append((scope["path"], scope["root_path"], scope.get("route")))
        return None

    call(PrometheusMiddleware(app, metrics=metrics, route_of=route_of), {"path": "/api/v", "root_path": ""})
    assert seen == [("/api/v", "", "the-route")]
    assert requests(metrics) == {("GET", "unmatched", "204"): 1}


def test_asgi_app_that_is_not_starlette_is_unmatched_by_default(metrics: MetricSet) -> None:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    call(PrometheusMiddleware(app, metrics=metrics), {"path": "/user/12345"})
    assert requests(metrics) == {("GET", "unmatched", "200"): 1}


def test_asgi_route_values_past_the_cap_fold_into_other_keeping_method_and_status() -> None:
    metrics = MetricSet(max_label_sets=2)

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = PrometheusMiddleware(app, metrics=metrics, route_of=lambda scope: scope["path"])  # a bad hook
    for n in range(5):
        call(wrapped, {"path": f"/user/{n}"})
    assert requests(metrics) == {
        ("GET", "/user/0", "503"): 1,
        ("GET", "/user/1", "503"): 1,
        ("GET", "other", "503"): 3,
    }


@pytest.mark.parametrize("paths", ["/metrics", ["metrics"], [None]])
def test_middleware_refuses_exclude_paths_that_are_not_paths(paths: Any) -> None:
    async def asgi(scope: Scope, receive: Any, send: Any) -> None:
        pass

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return []

    with pytest.raises(ValueError, match="exclude_paths must be a sequence of paths"):
        PrometheusMiddleware(asgi, metrics=MetricSet(), exclude_paths=paths)
    with pytest.raises(ValueError, match="exclude_paths must be a sequence of paths"):
        PrometheusWSGIMiddleware(wsgi, route_of=lambda e: None, metrics=MetricSet(), exclude_paths=paths)


# --- WSGI ------------------------------------------------------------------------------------------

ROUTES = [
    (re.compile(r"^/api/sheets/[^/]+/rows$"), "/api/sheets/{sheet}/rows"),
    (re.compile(r"^/([\w-]+)$"), "/{name}"),
]


def route_of_environ(environ: WSGIEnvironment) -> str | None:
    path = environ["PATH_INFO"]
    return next((template for pattern, template in ROUTES if pattern.match(path)), None)


class Closing:
    """A response iterable with ``close()``, as PEP 3333 servers must call it."""

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None]) -> None:
        self.chunks, self.on_close, self.closed = chunks, on_close, False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True
        self.on_close()


def wsgi_app(clock: Clock) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/boom":
            raise RuntimeError("boom")
        if path == "/late-boom":

            def late() -> Iterator[bytes]:
                start_response("200 OK", [("Content-Type", "text/plain")])
                raise RuntimeError("late")
                yield b""  # a generator: the error comes on the first next()

            return late()
        if path == "/stream":

            def chunks() -> Iterator[bytes]:
                start_response("200 OK", [("Content-Type", "text/plain")])
                for _ in range(4):
                    clock.advance(0.5)
                    yield b"y" * 50

            return Closing(chunks(), lambda: clock.advance(0.25))
        if route_of_environ(environ) is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = False  # server_close() joins the request threads: every close() has run


@pytest.fixture
def wsgi_server(metrics: MetricSet, clock: Clock) -> Iterator[tuple[str, Callable[[], None]]]:
    """A real server on 127.0.0.1; the second item stops it (every request finished and closed)."""
    app = PrometheusWSGIMiddleware(wsgi_app(clock), route_of=route_of_environ, metrics=metrics, clock=clock)
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.shutdown()
            server.server_close()
            thread.join(10)

    yield f"http://127.0.0.1:{server.server_port}", stop
    stop()


def get(url: str, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_wsgi_server_requests_are_counted_by_template(
    wsgi_server: tuple[str, Callable[[], None]], metrics: MetricSet
) -> None:
    url, stop = wsgi_server
    assert get(f"{url}/api/sheets/s1/rows") == (200, b"ok")
    assert get(f"{url}/api/sheets/s2/rows") == (200, b"ok")
    assert get(f"{url}/healthz", "HEAD")[0] == 200
    assert get(f"{url}/wp-admin/setup.php")[0] == 404
    assert get(f"{url}/metrics")[0] == 200
    stop()
    assert requests(metrics) == {
        ("GET", "/api/sheets/{sheet}/rows", "200"): 2,
        ("HEAD", "/{name}", "200"): 1,
        ("GET", "unmatched", "404"): 1,
    }


def test_wsgi_server_errors_are_500s(wsgi_server: tuple[str, Callable[[], None]], metrics: MetricSet) -> None:
    url, stop = wsgi_server
    assert get(f"{url}/boom")[0] == 500
    assert get(f"{url}/late-boom")[0] == 500
    stop()
    assert requests(metrics) == {("GET", "/{name}", "500"): 2}
    assert in_flight(metrics) == 0


def test_wsgi_stream_duration_runs_until_close(
    wsgi_server: tuple[str, Callable[[], None]], metrics: MetricSet
) -> None:
    url, stop = wsgi_server
    assert get(f"{url}/stream") == (200, b"y" * 200)
    stop()
    labels = {"method": "GET", "route": "/{name}"}
    assert value(metrics, "http_request_duration_seconds_sum", **labels) == 2.25
    assert value(metrics, "http_response_size_bytes_sum", **labels) == 200


def test_wsgi_counts_are_exact_under_concurrent_requests(
    wsgi_server: tuple[str, Callable[[], None]], metrics: MetricSet
) -> None:
    url, stop = wsgi_server
    statuses: list[int] = []

    def work(n: int) -> None:
        for i in range(25):
            statuses.append(get(f"{url}/api/sheets/s{n}-{i}/rows")[0])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop()
    assert statuses == [200] * 200
    assert requests(metrics) == {("GET", "/api/sheets/{sheet}/rows", "200"): 200}
    assert in_flight(metrics) == 0


def start_response_into(log: list[str]) -> StartResponse:
    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        log.append(status)
        return lambda data: None

    return start_response


def test_wsgi_closes_the_apps_iterable_and_records_then(metrics: MetricSet, clock: Clock) -> None:
    body = Closing([b"a", b"bc"], lambda: None)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("201 Created", [])
        return body

    wrapped = PrometheusWSGIMiddleware(app, route_of=lambda e: "/x", metrics=metrics, clock=clock)
    response = wrapped({"REQUEST_METHOD": "POST", "PATH_INFO": "/x"}, start_response_into([]))
    assert list(response) == [b"a", b"bc"]
    assert requests(metrics) == {}  # exhausted, not yet closed
    clock.advance(0.75)
    response.close()  # type: ignore[attr-defined]
    assert body.closed
    assert requests(metrics) == {("POST", "/x", "201"): 1}
    assert value(metrics, "http_request_duration_seconds_sum", method="POST", route="/x") == 0.75


def test_wsgi_error_after_the_body_started_keeps_the_status(metrics: MetricSet) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"first"
        raise OSError("disk")

    response = PrometheusWSGIMiddleware(app, route_of=lambda e: "/x", metrics=metrics)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, start_response_into([])
    )
    chunks = iter(response)
    assert next(chunks) == b"first"
    with pytest.raises(OSError, match="disk"):
        next(chunks)
    response.close()  # type: ignore[attr-defined]
    assert requests(metrics) == {("GET", "/x", "200"): 1}


def test_wsgi_write_callable_bytes_are_counted(metrics: MetricSet) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])(b"12345")
        return [b"678"]

    response = PrometheusWSGIMiddleware(app, route_of=lambda e: "/x", metrics=metrics)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, start_response_into([])
    )
    assert list(response) == [b"678"]
    response.close()  # type: ignore[attr-defined]
    assert value(metrics, "http_response_size_bytes_sum", method="GET", route="/x") == 8


def test_wsgi_route_of_sees_the_environ_before_the_app_consumes_it(metrics: MetricSet) -> None:
    seen: list[str] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        shift_path_info(environ)  # a WSGI router consuming the path
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    def route_of(environ: WSGIEnvironment) -> str:
        seen.append(environ["PATH_INFO"])
        return "/api/{rest}"

    wrapped = PrometheusWSGIMiddleware(app, route_of=route_of, metrics=metrics)
    response = wrapped(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/rows", "SCRIPT_NAME": ""}, start_response_into([])
    )
    assert list(response) == [b"/rows"]
    assert seen == ["/api/rows"]


def test_primed_label_sets_exist_at_zero_before_any_request() -> None:
    metrics = MetricSet()
    app = Starlette(routes=[Route("/api/sync", lambda request: PlainTextResponse("ok"), methods=["POST"])])
    PrometheusMiddleware(
        app, metrics=metrics, prime=[("POST", "/api/sync", "502"), ("POST", "/api/sync", "503")]
    )
    assert requests(metrics) == {("POST", "/api/sync", "502"): 0.0, ("POST", "/api/sync", "503"): 0.0}
