"""Injected faults: errors and timeouts that API requests meet, set through ``/admin/faults``.

A fault (JSON in and out)::

    {"kind": "error" | "timeout",
     "status": 500 | 503 | 429,   # error only; a timeout answers 504
     "rate": 1.0,                 # chance it fires on a request it applies to, 0.0..1.0
     "count": null,               # fire at most N times (null: no limit)
     "methods": null,             # ["videos.list", ...]; null: every API method
     "retry_after": null,         # seconds: adds a Retry-After header
     "delay_ms": 30000}           # timeout only: hold the request this long, then answer 504

Faults are checked in the order they were added; the first that fires decides. Rates are drawn
from a seeded ``random.Random``, so the same requests in the same order meet the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.instrumentation import YOUTUBE_COSTS
from youtube2sheets.simulator._checks import known_fields, one_of, real, whole
from youtube2sheets.simulator._errors import InputError

METHODS = tuple(sorted(YOUTUBE_COSTS))
"""The API methods the simulator serves (the ``methods`` filter's values)."""
ERROR_STATUSES = (429, 500, 503)
TIMEOUT_STATUS = 504
DEFAULT_DELAY_MS = 30_000
MAX_DELAY_MS = 600_000  # a held request is bounded: ten minutes at most
MAX_RETRY_AFTER = 86_400
FIELDS = ("count", "delay_ms", "kind", "methods", "rate", "retry_after", "status")


@dataclass
class Fault:
    """One fault; ``fired`` counts the requests it decided."""

    id: int
    kind: str
    status: int
    rate: float = 1.0
    count: int | None = None
    methods: tuple[str, ...] | None = None
    retry_after: int | None = None
    delay_ms: int | None = None
    fired: int = 0

    def as_json(self) -> dict[str, Any]:
        """The fault as ``GET /admin/faults`` lists it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "rate": self.rate,
            "count": self.count,
            "methods": None if self.methods is None else list(self.methods),
            "retry_after": self.retry_after,
            "delay_ms": self.delay_ms,
            "fired": self.fired,
        }


def parse_fault(body: Mapping[str, Any], fault_id: int) -> Fault:
    """The fault described by ``body`` (``POST /admin/faults``); raises `InputError` naming the field.

    Example:
        >>> parse_fault({"kind": "error", "status": 503, "count": 2}, 1).as_json()["count"]
        2
        >>> parse_fault({"kind": "timeout", "status": 503}, 1)
        Traceback (most recent call last):
        ...
        youtube2sheets.simulator._errors.InputError: status: a timeout always answers 504; leave status out
    """
    known_fields(body, FIELDS)
    if "kind" not in body:
        raise InputError("kind", "required: 'error' or 'timeout'")
    kind = one_of(body["kind"], "kind", ("error", "timeout"))
    status, delay_ms = body.get("status"), body.get("delay_ms")
    if kind == "error":
        if status is None:
            raise InputError("status", "required for an error: one of 429, 500, 503")
        status = one_of(status, "status", ERROR_STATUSES)
        if delay_ms is not None:
            raise InputError("delay_ms", "only a timeout has a delay")
    else:
        if status not in (None, TIMEOUT_STATUS) or isinstance(status, bool):
            raise InputError("status", "a timeout always answers 504; leave status out")
        status = TIMEOUT_STATUS
        delay_ms = whole(DEFAULT_DELAY_MS if delay_ms is None else delay_ms, "delay_ms", 0, MAX_DELAY_MS)
    methods = body.get("methods")
    if methods is not None:
        if not isinstance(methods, list) or not methods:
            raise InputError("methods", f"expected null or a non-empty list of {', '.join(METHODS)}")
        methods = tuple(dict.fromkeys(one_of(m, "methods", METHODS) for m in methods))
    count, retry_after = body.get("count"), body.get("retry_after")
    return Fault(
        id=fault_id,
        kind=kind,
        status=status,
        rate=real(body.get("rate", 1.0), "rate", 0.0, 1.0),
        count=None if count is None else whole(count, "count", 1),
        methods=methods,
        retry_after=None if retry_after is None else whole(retry_after, "retry_after", 0, MAX_RETRY_AFTER),
        delay_ms=delay_ms,
    )


class Faults:
    """The fault list, in order, and the seeded draws that decide whether a fault fires.

    Args:
        rng: decides rates below 1.0; pass ``random.Random(seed)`` for reproducible runs.

    Example:
        >>> faults = Faults(random.Random(42))
        >>> fault = faults.add({"kind": "error", "status": 500, "count": 1, "methods": ["videos.list"]})
        >>> faults.pick("channels.list"), faults.pick("videos.list").id, faults.pick("videos.list")
        (None, 1, None)
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, body: Mapping[str, Any]) -> Fault:
        """Check ``body`` (see `parse_fault`) and append the fault; it gets the next id."""
        fault = parse_fault(body, self._next_id)
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def all(self) -> list[Fault]:
        """The faults, in the order they are checked."""
        return list(self._faults)

    def remove(self, fault_id: int) -> Fault | None:
        """Remove and return the fault with ``fault_id``, or None if there is none."""
        for i, fault in enumerate(self._faults):
            if fault.id == fault_id:
                return self._faults.pop(i)
        return None

    def clear(self) -> int:
        """Remove every fault; the number removed (ids are not reused)."""
        removed = len(self._faults)
        self._faults.clear()
        return removed

    def pick(self, method: str) -> Fault | None:
        """The first fault that fires for a request to ``method`` (counted as fired), or None.

        A fault applies when its ``methods`` include ``method`` and it has fired fewer than
        ``count`` times; it then fires with probability ``rate`` (1.0 and 0.0 draw nothing).
        """
        for fault in self._faults:
            if fault.methods is not None and method not in fault.methods:
                continue
            if fault.count is not None and fault.fired >= fault.count:
                continue
            if fault.rate <= 0.0 or (fault.rate < 1.0 and self._rng.random() >= fault.rate):
                continue
            fault.fired += 1
            return fault
        return None
