"""Simulated API latency: a log-normal wait per request, with a median and a sigma set at run time.

A log-normal with median ``m`` and shape ``sigma`` is ``m * exp(sigma * Z)`` for a standard normal
``Z``: sigma 0 is a fixed wait, 0.5 a realistic spread, 1.0 a heavy tail. Draws come from a seeded
``random.Random``, and one wait is capped at `MAX_WAIT_MS`, so a heavy tail cannot hold a request
for ever. The simulator waits with ``asyncio.sleep``: a waiting request never blocks the others.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from youtube2sheets.simulator._checks import known_fields, real
from youtube2sheets.simulator._errors import InputError

MAX_MEDIAN_MS = 60_000.0
MAX_SIGMA = 5.0
MAX_WAIT_MS = 60_000.0


def check_median(value: object, field: str = "median_ms") -> float:
    """A median in milliseconds, 0 to `MAX_MEDIAN_MS`; raises `InputError` naming ``field``."""
    return real(value, field, 0.0, MAX_MEDIAN_MS)


def check_sigma(value: object, field: str = "sigma") -> float:
    """A log-normal sigma, 0 to `MAX_SIGMA`; raises `InputError` naming ``field``."""
    return real(value, field, 0.0, MAX_SIGMA)


class Latency:
    """The wait before each API request is answered.

    Args:
        median_ms: the median wait in milliseconds (0: no wait).
        sigma: the log-normal shape (0: always the median).
        rng: the draws; ``random.Random(seed)`` for reproducible runs.

    Example:
        >>> latency = Latency(20.0, 0.0, random.Random(42))
        >>> latency.sample()
        0.02
        >>> latency.update({"sigma": 0.5})
        >>> latency.as_json()
        {'median_ms': 20.0, 'sigma': 0.5}
    """

    def __init__(self, median_ms: float, sigma: float, rng: random.Random) -> None:
        self.median_ms = check_median(median_ms)
        self.sigma = check_sigma(sigma)
        self._rng = rng

    def sample(self) -> float:
        """The next wait, in seconds."""
        if self.median_ms == 0.0:
            return 0.0
        if self.sigma == 0.0:
            return self.median_ms / 1000
        drawn = self._rng.lognormvariate(math.log(self.median_ms), self.sigma)
        return min(drawn, MAX_WAIT_MS) / 1000

    def update(self, body: Mapping[str, Any]) -> None:
        """Apply ``PUT /admin/latency`` (``median_ms`` and/or ``sigma``); raises `InputError`."""
        known_fields(body, ("median_ms", "sigma"))
        if not body:
            raise InputError("body", "expected median_ms and/or sigma")
        median = check_median(body["median_ms"]) if "median_ms" in body else self.median_ms
        sigma = check_sigma(body["sigma"]) if "sigma" in body else self.sigma
        self.median_ms, self.sigma = median, sigma

    def as_json(self) -> dict[str, float]:
        """``GET /admin/latency``: ``{"median_ms", "sigma"}``."""
        return {"median_ms": self.median_ms, "sigma": self.sigma}
