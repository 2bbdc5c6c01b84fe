"""starlette_route_of: templates from Starlette's own routing, with and without ``scope["route"]``."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Host, Mount, Route, Router
from starlette.testclient import TestClient

from exporter.instrumentation._http_routes import Scope, starlette_route_of


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def plain_asgi(scope: Scope, receive: Any, send: Any) -> None:
    await PlainTextResponse("plain")(scope, receive, send)


def build() -> Starlette:
    sheets = Router(routes=[Route("/{sheet}/rows", ok, methods=["GET"]), Route("/", ok)])
    return Starlette(
        routes=[
            Route("/healthz", ok),
            Mount("/api/sheets", routes=sheets.routes),
            Mount("/orgs/{org}", app=Starlette(routes=[Route("/users/{user_id:int}", ok)])),
            Mount("/static", app=plain_asgi),
            Host("admin.example.test", app=Router(routes=[Route("/panel", ok)])),
        ]
    )


def scope(path: str, method: str = "GET", host: str = "app.example.test") -> Scope:
    """A request's scope before any routing has run (no ``scope["route"]``)."""
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(b"host", host.encode())],
    }


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/healthz", "/healthz"),
        ("/api/sheets/s1/rows", "/api/sheets/{sheet}/rows"),
        ("/api/sheets/", "/api/sheets/"),
        ("/orgs/acme/users/7", "/orgs/{org}/users/{user_id:int}"),
        ("/static/css/site.css", "/static/{path:path}"),
        ("/nowhere", None),
        ("/api/sheets/s1/columns", None),  # inside the mount, no route: unmatched, not the mount
        ("/orgs/acme/users/not-a-number", None),
    ],
)
def test_matching_a_scope_without_a_recorded_route(path: str, template: str | None) -> None:
    assert starlette_route_of(build())(scope(path)) == template


def test_method_mismatch_still_names_the_route() -> None:
    assert (
        starlette_route_of(build())(scope("/api/sheets/s1/rows", method="DELETE"))
        == "/api/sheets/{sheet}/rows"
    )


def test_host_routes_are_matched_by_the_host_header() -> None:
    route_of = starlette_route_of(build())
    assert route_of(scope("/panel", host="admin.example.test")) == "/panel"
    assert route_of(scope("/panel")) is None


def after_routing(app: Starlette, path: str, method: str = "GET") -> Scope:
    """The scope as Starlette leaves it once it has served ``path``: ``route`` set, ``root_path`` moved."""
    seen: list[Scope] = []

    async def keep(scope: Scope, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        seen.append(scope)

    TestClient(keep).request(method, path, headers={"host": "app.example.test"})
    return {**seen[0], "path": path, "root_path": ""}  # what PrometheusMiddleware hands route_of


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/healthz", "/healthz"),
        ("/api/sheets/s1/rows", "/api/sheets/{sheet}/rows"),
        ("/orgs/acme/users/7", "/orgs/{org}/users/{user_id:int}"),
        ("/static/a.css", "/static/{path:path}"),
        ("/api/sheets/s1/columns", None),
    ],
)
def test_the_route_starlette_recorded_gets_its_full_template(path: str, template: str | None) -> None:
    app = build()
    routed = after_routing(app, path)
    assert "route" in routed
    assert starlette_route_of(app)(routed) == template


def test_default_resolver_finds_the_application_in_the_scope() -> None:
    app = build()
    route_of = starlette_route_of()
    assert route_of(after_routing(app, "/orgs/acme/users/7")) == "/orgs/{org}/users/{user_id:int}"
    assert route_of({**scope("/healthz"), "app": app}) == "/healthz"
    assert route_of(scope("/healthz")) is None  # not served by Starlette: nothing to read


def test_routes_added_after_the_first_lookup_are_found() -> None:
    app = build()
    route_of = starlette_route_of(app)
    assert route_of(after_routing(app, "/healthz")) == "/healthz"
    app.router.routes.append(Route("/late/{n}", ok))
    assert route_of(after_routing(app, "/late/3")) == "/late/{n}"


def test_one_route_object_under_two_mounts_gets_the_prefix_of_the_request() -> None:
    shared = Route("/rows", ok)
    app = Starlette(routes=[Mount("/v1", routes=[shared]), Mount("/v2", routes=[shared])])
    route_of = starlette_route_of(app)
    assert route_of(after_routing(app, "/v1/rows")) == "/v1/rows"
    assert route_of(after_routing(app, "/v2/rows")) == "/v2/rows"
