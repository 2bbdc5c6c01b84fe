"""Route templates for HTTP metrics: `starlette_route_of`, which reads them from Starlette's routing.

A request's ``route`` label must be the template it matched (``/api/sheets/{sheet}/rows``), never
its raw path, so that the number of series is the number of routes. Starlette (and FastAPI, built
on it) records the matched route in ``scope["route"]``; a ``Mount`` records its own route and the
mounted router then overwrites it with the inner one, whose ``path`` lacks the mount's prefix. So
the full templates are computed once from ``app.routes`` and looked up by the route object; a
request without ``scope["route"]`` is matched against the routes, as Starlette's router does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
RouteOf = Callable[[Scope], str | None]

_MAX_ROUTERS = 8  # route maps kept by starlette_route_of() (one per application, in practice)


def starlette_route_of(app: object | None = None) -> RouteOf:
    """A `PrometheusMiddleware` ``route_of`` that answers with Starlette's route templates.

    Uses the route Starlette recorded in ``scope["route"]`` (a dictionary lookup; ``Mount`` prefixes
    included, as ``/api/sheets/{sheet}/rows``), and otherwise matches the scope against the routes
    as Starlette's router does (``route.matches(scope)``, ``Match.FULL`` first, into ``Mount``s).
    A ``Mount`` of an app without routes is ``<prefix>/{path:path}``; a path no route matches,
    inside a mounted router too, gives None (``unmatched``).

    Args:
        app: the Starlette application or router; default: the one that served the request
            (``scope["router"]``, else ``scope["app"]``), so ``app.add_middleware`` needs nothing.

    Example:
        >>> from starlette.applications import Starlette
        >>> from starlette.routing import Route
        >>> app = Starlette(routes=[Route("/api/sheets/{sheet}", lambda request: None)])
        >>> starlette_route_of(app)({"type": "http", "method": "GET", "path": "/api/sheets/s1"})
        '/api/sheets/{sheet}'
    """
    maps: dict[int, tuple[object, dict[int, tuple[object, str | None]]]] = {}

    def route_of(scope: Scope) -> str | None:
        router = app if app is not None else scope.get("router", scope.get("app"))
        routes = getattr(router, "routes", None)
        if routes is None:
            return None
        route = scope.get("route")
        if route is not None:
            entry = maps.get(id(router))
            if entry is None or entry[0] is not router:
                if len(maps) >= _MAX_ROUTERS:
                    maps.clear()
                entry = maps[id(router)] = (router, _templates(routes, "", {}))
            found = entry[1].get(id(route))
            if found is not None and found[0] is route:
                return found[1]
        return _walk(routes, scope, "")

    return route_of


def _templates(
    routes: Iterable[Any], prefix: str, into: dict[int, tuple[object, str | None]]
) -> dict[int, tuple[object, str | None]]:
    """``id(route) -> (route, full template)`` for every route, into mounts; a mounted router is None."""
    for route in routes:
        sub, path = getattr(route, "routes", None), prefix + getattr(route, "path", "")
        template = path if sub is None else None if sub else path + "/{path:path}"
        if sub:
            _templates(sub, path, into)
        if id(route) in into and into[id(route)] != (route, template):
            into[id(route)] = (None, None)  # one route object under two prefixes: match the path instead
        else:
            into[id(route)] = (route, template)
    return into


def _walk(routes: Iterable[Any], scope: Scope, prefix: str) -> str | None:
    from starlette.routing import Match  # noqa: PLC0415  (optional dependency, present if routes are)

    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return _resolve(route, child, scope, prefix)
        if match is Match.PARTIAL and partial is None:
            partial = route, child  # the path matches, the method does not: Starlette answers 405
    return None if partial is None else _resolve(*partial, scope, prefix)


def _resolve(route: Any, child: Scope, scope: Scope, prefix: str) -> str | None:
    sub, path = getattr(route, "routes", None), prefix + getattr(route, "path", "")
    if sub is None:
        return path
    return _walk(sub, {**scope, **child}, path) if sub else path + "/{path:path}"
