"""The v3 endpoints under ``/youtube/v3``: channels, playlistItems, videos and search (``GET``).

Every request goes through the same steps, in this order:

1. the simulated latency (`Latency`), waited with the injectable ``sleep``;
2. ``key`` must be present and non-empty, else 403 ``forbidden`` (free: there is no key to charge);
3. the injected faults (`Faults`): the first that fires answers instead (free: the request never
   reached the "backend"), a timeout after holding the request ``delay_ms``;
4. the parameters are checked (see `params`): a bad one costs 1 unit (the real API charges
   invalid requests at least 1) and answers 400 ``invalidParameter``, ``missingRequiredParameter``
   or ``invalidPageToken``, naming the parameter;
5. the quota: a request whose cost would pass the key's daily limit answers 403 ``quotaExceeded``
   and costs nothing; otherwise its full cost is charged, also when it then answers 404;
6. the answer, from the `Catalogue`.

Unknown query parameters are ignored, as ``fields`` or ``prettyPrint`` would be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive

from exporter.instrumentation import YOUTUBE_COSTS
from youtube2sheets.simulator._errors import ApiError, quota_exceeded
from youtube2sheets.simulator.faults import Fault
from youtube2sheets.simulator.params import ENDPOINTS, Parse
from youtube2sheets.simulator.state import Simulator

CLIENT_GONE = 499  # nginx's "client closed request": recorded when a held request's client leaves
_FAULT_ANSWERS = {
    429: ("rateLimitExceeded", "usageLimits", "The request rate is too high; slow down."),
    500: ("backendError", "global", "Backend Error"),
    503: ("backendError", "global", "The service is currently unavailable."),
    504: ("deadlineExceeded", "global", "The request timed out."),
}


def api_routes(sim: Simulator) -> list[Route]:
    """The four v3 endpoints, and v3-shaped 404s for other paths under ``/youtube/v3``."""
    routes = [
        Route(path, _endpoint(sim, method, parse), methods=["GET"]) for path, method, parse in ENDPOINTS
    ]
    return [*routes, Route("/youtube/v3/{path:path}", _unknown_method, methods=["GET"])]


def _endpoint(sim: Simulator, method: str, parse: Parse) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        response = await serve(sim, request, method, parse)
        sim.metrics.requests.labels(method, str(response.status_code)).inc()
        return response

    endpoint.__name__ = method.replace(".", "_")
    return endpoint


async def serve(sim: Simulator, request: Request, method: str, parse: Parse) -> Response:
    """Answer one API request to ``method`` (the steps in the module docstring)."""
    wait = sim.latency.sample()
    if wait > 0:
        await sim.sleep(wait)
    key = request.query_params.get("key", "")
    if not key:
        message = "The request is missing a valid API key."
        return ApiError(403, "forbidden", message, parameter="key").response()
    fault = sim.faults.pick(method)
    if fault is not None:
        return await _faulted(sim, request, fault)
    error: ApiError | None = None
    try:
        answer = parse(sim, request.query_params)
    except ApiError as exc:
        error = exc
    cost = 1 if error is not None else YOUTUBE_COSTS[method]
    if not sim.quota.charge(key, cost):
        return quota_exceeded().response()
    sim.metrics.quota_units.labels(method).inc(cost)
    if error is not None:
        return error.response()
    try:
        return JSONResponse(answer())
    except ApiError as exc:
        return exc.response()


async def _faulted(sim: Simulator, request: Request, fault: Fault) -> Response:
    """The answer an injected fault gives: an error at once, or a 504 after holding the request."""
    sim.metrics.faults.labels(fault.kind, str(fault.status)).inc()
    if fault.kind == "timeout" and await hold(request.receive, (fault.delay_ms or 0) / 1000, sim.sleep):
        return Response(status_code=CLIENT_GONE)
    reason, domain, message = _FAULT_ANSWERS[fault.status]
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    return ApiError(fault.status, reason, message, domain=domain, headers=headers).response()


async def hold(receive: Receive, seconds: float, sleep: Callable[[float], Awaitable[None]]) -> bool:
    """Wait ``seconds``, or less if the client disconnects first; True if it did.

    The request's body is read and dropped while waiting: ``http.disconnect`` is what ends the
    wait early, so a client that gives up does not keep a task (and the server's shutdown) waiting.
    """

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def wait() -> None:
        await sleep(seconds)

    waiting, watching = asyncio.ensure_future(wait()), asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({waiting, watching}, return_when=asyncio.FIRST_COMPLETED)
        return watching.done() and not waiting.done()
    finally:
        for task in (waiting, watching):
            task.cancel()
        await asyncio.gather(waiting, watching, return_exceptions=True)


async def _unknown_method(request: Request) -> Response:
    message = f"No API method at {request.url.path}; the simulator serves {', '.join(YOUTUBE_COSTS)}."
    return ApiError(404, "notFound", message).response()
