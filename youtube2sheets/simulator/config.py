"""`SimulatorConfig`: the simulator's settings, one field per command-line flag, checked on creation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from youtube2sheets.simulator._checks import one_of, whole
from youtube2sheets.simulator._errors import InputError
from youtube2sheets.simulator.latency import check_median, check_sigma
from youtube2sheets.simulator.quota import MAX_UNITS

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""uvicorn's log levels, the values of ``--log-level``."""


@dataclass(frozen=True)
class SimulatorConfig:
    """What ``python -m youtube2sheets.simulator`` runs with; `create_app` takes one.

    A bad value raises `ValueError` (an ``InputError`` whose ``field`` names the field), so the
    command line reports it as its flag. ``clock`` and ``sleep`` are for tests: a clock they move
    across midnight Pacific, a sleep that returns at once (and records the waits).

    Args:
        host, port: where the command listens (not used by `create_app`).
        seed: the catalogue, page tokens, latency and fault draws all derive from it.
        daily_quota: units per API key per day.
        latency_median_ms, latency_sigma: the log-normal wait before each API answer.
        log_level: uvicorn's log level.
        clock: Unix time in seconds, for the quota day.
        sleep: how the simulator waits (latency, timeouts).

    Example:
        >>> SimulatorConfig(seed=7, latency_median_ms=0).seed
        7
        >>> SimulatorConfig(latency_sigma=-1)
        Traceback (most recent call last):
        ...
        youtube2sheets.simulator._errors.InputError: latency_sigma: expected a number from 0.0 to 5.0, got -1
    """

    host: str = "127.0.0.1"
    port: int = 8001
    seed: int = 42
    daily_quota: int = 10_000
    latency_median_ms: float = 5.0
    latency_sigma: float = 0.0
    log_level: str = "warning"
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise InputError("host", f"expected a host name or address, got {self.host!r}")
        whole(self.port, "port", 0, 65_535)
        if type(self.seed) is not int:
            raise InputError("seed", f"expected a whole number, got {self.seed!r}")
        whole(self.daily_quota, "daily_quota", 0, MAX_UNITS)
        check_median(self.latency_median_ms, "latency_median_ms")
        check_sigma(self.latency_sigma, "latency_sigma")
        one_of(self.log_level, "log_level", LOG_LEVELS)
