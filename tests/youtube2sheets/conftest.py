"""YouTube2Sheets test helpers: simulator and service as processes, in-process parts, metric reads."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.instrumentation import MetricSet, RetryPolicy
from tests.conftest import Process, free_port, wait_for_url
from youtube2sheets.config import Settings
from youtube2sheets.simulator import Catalogue, SimulatorConfig
from youtube2sheets.simulator import create_app as create_simulator
from youtube2sheets.sync import Syncer
from youtube2sheets.youtube import YouTubeClient

ROOT = Path(__file__).resolve().parents[2]
SEED = 7
CATALOGUE = Catalogue(SEED)
BIG = CATALOGUE.channels[4]  # 237 videos
SMALL = CATALOGUE.channels[2]  # 50 videos


def child_env() -> dict[str, str]:
    """This environment without ``Y2S_*`` (the tests pass flags), with the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("Y2S_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass(frozen=True)
class Stack:
    """A running simulator and service; URLs without a trailing slash."""

    simulator: str
    service: str
    state_dir: Path
    process: Process


@contextlib.contextmanager
def running_stack(tmp: Path, workers: int = 2) -> Iterator[Stack]:
    """Start the simulator, then the service (``--workers``), wait for both; stop both afterwards."""
    sim_port, port = free_port(), free_port()
    simulator = f"http://127.0.0.1:{sim_port}"
    sim_args = ["--port", str(sim_port), "--seed", str(SEED), "--latency-median-ms", "1"]
    sim = Process(
        [sys.executable, "-m", "youtube2sheets.simulator", *sim_args],
        tmp / "simulator.log",
        cwd=ROOT,
        env=child_env(),
    )
    try:
        wait_for_url(f"{simulator}/healthz", sim, timeout=30)
        flags = ["--workers", str(workers), "--port", str(port), "--state-dir", str(tmp / "state")]
        flags += ["--youtube-url", f"{simulator}/youtube/v3", "--api-key", "test"]
        service = Process(
            [sys.executable, "-m", "youtube2sheets", "serve", *flags],
            tmp / "service.log",
            cwd=ROOT,
            env=child_env(),
        )
        try:
            wait_for_url(f"http://127.0.0.1:{port}/healthz", service, timeout=30)
            yield Stack(simulator, f"http://127.0.0.1:{port}", tmp / "state", service)
        finally:
            service.stop()
    finally:
        sim.stop()


def samples(
    text: str, name: str, labels: Mapping[str, str] | None = None
) -> list[tuple[dict[str, str], float]]:
    """The ``(labels, value)`` of every sample called ``name`` whose labels include ``labels``."""
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                found.append((dict(sample.labels), float(sample.value)))
    return found


def metric(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of the matching samples (0.0 when there is none)."""
    return sum(value for _, value in samples(text, name, labels))


def scrape_until(url: str, done: Callable[[str], bool], timeout: float = 10.0) -> str:
    """``GET url`` every 0.2 s until ``done(text)`` is true (workers publish every second); the text."""
    end, text = time.monotonic() + timeout, ""
    while time.monotonic() < end:
        text = httpx.get(url, timeout=10).text
        if done(text):
            return text
        time.sleep(0.2)
    pytest.fail(f"{url} did not show the expected values within {timeout}s; last:\n{text[:2000]}")


# --- in-process parts: the simulator app as the YouTube client's transport -------------------------


def no_sleep_retry() -> RetryPolicy:
    """A retry policy that does not wait between attempts."""

    async def no_wait(seconds: float) -> None:
        return None

    return RetryPolicy(max_attempts=4, random=lambda: 0.0, sleep=lambda s: None, async_sleep=no_wait)


@dataclass
class InProcess:
    """The simulator app, a client on it, a syncer and its metrics; the state in ``tmp``."""

    simulator: object
    settings: Settings
    metrics: MetricSet
    client: YouTubeClient
    syncer: Syncer
    admin: httpx.AsyncClient


@contextlib.asynccontextmanager
async def in_process(tmp: Path, daily_quota: int = 10_000) -> AsyncIterator[InProcess]:
    """A simulator app and a `Syncer` on it with a fresh `MetricSet`, SQLite in ``tmp``."""
    from youtube2sheets import db  # noqa: PLC0415  (keeps the helpers' imports short)

    sim = create_simulator(SimulatorConfig(seed=SEED, latency_median_ms=0))
    settings = Settings(state_dir=tmp, youtube_url="http://simulator/youtube/v3", daily_quota=daily_quota)
    metrics = MetricSet()
    transport = httpx.ASGITransport(app=sim)
    with contextlib.closing(db.connect(settings.database, metrics=metrics)) as conn:
        db.create_schema(conn)
    reader = db.connect(settings.database, metrics=metrics, readonly=True)
    async with sim.router.lifespan_context(sim):
        client = YouTubeClient(settings, metrics=metrics, transport=transport, retry=no_sleep_retry())
        syncer = Syncer(client, settings.database, reader=reader, metrics=metrics)
        admin = httpx.AsyncClient(transport=transport, base_url="http://simulator")
        try:
            yield InProcess(sim, settings, metrics, client, syncer, admin)
        finally:
            await admin.aclose()
            await client.aclose()
            syncer.close()
            reader.close()


def value(metrics: MetricSet, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The sum of a `MetricSet`'s samples called ``name`` whose labels include ``labels``."""
    return sum(
        s.value
        for family in metrics.collect()
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in (labels or {}).items())
    )
