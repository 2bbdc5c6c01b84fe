"""The admin endpoints: channels, faults, quota and latency, JSON in and out.

- ``GET /admin/channels``: the fixed channels, ``{"channels": [{"id", "title", "videos", "uploads"}]}``;
- ``GET /admin/faults`` (``{"faults": [...]}``, each with ``fired``), ``POST /admin/faults`` (adds one,
  201 with its ``id``), ``DELETE /admin/faults`` (all; ``{"deleted": n}``), ``DELETE
  /admin/faults/{id}`` (one; the removed fault, or 404);
- ``GET /admin/quota`` (``{"daily_limit", "used", "resets_at"}``), ``PUT /admin/quota``
  (``daily_limit`` and/or ``used``; sets the keys named), ``DELETE /admin/quota`` (zeroes usage);
- ``GET /admin/latency``, ``PUT /admin/latency`` (``median_ms`` and/or ``sigma``).

A body that is not a JSON object, an unknown field or a bad value answers 400
``{"error": "...", "field": "..."}`` and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.state import Simulator

Handler = Callable[[Simulator, Request], Awaitable[Response]]
MAX_BODY = 64 * 1024  # bytes: an admin body is a few fields


async def read_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; `InputError` (field ``body``) otherwise."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InputError("body", f"too large: at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError("body", "expected a JSON object; the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InputError("body", f"expected a JSON object, got {type(body).__name__}")
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def channels(sim: Simulator, request: Request) -> Response:
    """``GET /admin/channels``."""
    listed = [
        {"id": c.id, "title": c.title, "videos": c.videos, "uploads": c.uploads}
        for c in sim.catalogue.channels
    ]
    return JSONResponse({"channels": listed})


async def list_faults(sim: Simulator, request: Request) -> Response:
    """``GET /admin/faults``."""
    return JSONResponse({"faults": [f.as_json() for f in sim.faults.all()]})


async def add_fault(sim: Simulator, request: Request) -> Response:
    """``POST /admin/faults``: 201 and the fault with its ``id``."""
    fault = sim.faults.add(await read_object(request))
    return JSONResponse(fault.as_json(), status_code=201)


async def clear_faults(sim: Simulator, request: Request) -> Response:
    """``DELETE /admin/faults``."""
    return JSONResponse({"deleted": sim.faults.clear()})


async def remove_fault(sim: Simulator, request: Request) -> Response:
    """``DELETE /admin/faults/{id}``: the removed fault; 404 if there is none with that id."""
    raw = request.path_params["fault_id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InputError("id", f"expected a fault id (a whole number), got {raw!r}")
    fault = sim.faults.remove(int(raw))
    if fault is None:
        return InputError("id", f"no fault with id {int(raw)}").response(404)
    return JSONResponse(fault.as_json())


async def get_quota(sim: Simulator, request: Request) -> Response:
    """``GET /admin/quota``."""
    return JSONResponse(sim.quota.as_json())


async def put_quota(sim: Simulator, request: Request) -> Response:
    """``PUT /admin/quota``: the quota afterwards."""
    sim.quota.update(await read_object(request))
    return JSONResponse(sim.quota.as_json())


async def reset_quota(sim: Simulator, request: Request) -> Response:
    """``DELETE /admin/quota``: the quota afterwards (no usage)."""
    sim.quota.reset()
    return JSONResponse(sim.quota.as_json())


async def get_latency(sim: Simulator, request: Request) -> Response:
    """``GET /admin/latency``."""
    return JSONResponse(sim.latency.as_json())


async def put_latency(sim: Simulator, request: Request) -> Response:
    """``PUT /admin/latency``: the latency afterwards."""
    sim.latency.update(await read_object(request))
    return JSONResponse(sim.latency.as_json())


def _bind(sim: Simulator, handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await handlers[request.method if request.method != "HEAD" else "GET"](sim, request)
        except InputError as exc:
            return exc.response()

    endpoint.__name__ = "_".join(h.__name__ for h in handlers.values())
    return endpoint


def admin_routes(sim: Simulator) -> list[Route]:
    """The admin routes, bound to ``sim``: one route per path, so a 405 lists every allowed method."""
    table: dict[str, dict[str, Handler]] = {
        "/admin/channels": {"GET": channels},
        "/admin/faults": {"GET": list_faults, "POST": add_fault, "DELETE": clear_faults},
        "/admin/faults/{fault_id}": {"DELETE": remove_fault},
        "/admin/quota": {"GET": get_quota, "PUT": put_quota, "DELETE": reset_quota},
        "/admin/latency": {"GET": get_latency, "PUT": put_latency},
    }
    return [Route(path, _bind(sim, handlers), methods=list(handlers)) for path, handlers in table.items()]
