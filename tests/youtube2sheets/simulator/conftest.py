"""Simulator test helpers: a movable clock, a recording sleep, in-process clients, metric samples."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from youtube2sheets.simulator import Catalogue, SimulatorConfig, create_app
from youtube2sheets.simulator.quota import PACIFIC
from youtube2sheets.simulator.state import Simulator

KEY = "test-key"


class FakeClock:
    """Unix time that moves only when told to; starts at 2024-05-01 12:00 Pacific."""

    def __init__(self) -> None:
        self.now = dt.datetime(2024, 5, 1, 12, 0, tzinfo=PACIFIC).timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, when: dt.datetime) -> None:
        self.now = when.timestamp()


class RecordingSleep:
    """An ``asyncio.sleep`` stand-in that records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def seeded(seed: int) -> random.Random:
    """The simulator's kind of generator: simulated chance, reproducible, not for secrets."""
    return random.Random(seed)  # noqa: S311


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(clock: FakeClock, sleep: RecordingSleep) -> Iterator[Callable[..., TestClient]]:
    """``make_client(**config)``: a TestClient on a fresh app (no latency, fake clock and sleep)."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings: dict[str, Any] = {"latency_median_ms": 0.0, "clock": clock, "sleep": sleep, **overrides}
        client = TestClient(create_app(SimulatorConfig(**settings)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(42)


def simulator(client: TestClient) -> Simulator:
    """The state behind a client's app."""
    sim: Simulator = client.app.state.simulator  # type: ignore[attr-defined]
    return sim


def api(client: TestClient, method: str, key: str | None = KEY, **params: Any) -> Any:
    """GET ``/youtube/v3/<method>`` with ``params`` (and ``key``); the httpx response."""
    query = {k: v for k, v in params.items() if v is not None}
    if key is not None:
        query["key"] = key
    return client.get(f"/youtube/v3/{method}", params=query)


def sample(client: TestClient, name: str, **labels: str) -> float:
    """A sample's value from the app's ``/metrics`` (0 when absent)."""
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    return 0.0
