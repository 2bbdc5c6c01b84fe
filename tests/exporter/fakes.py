"""Fake collectors for the scraper and server tests: one that answers, one that raises, one that hangs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from exporter._families import Family


class Const:
    """Yields one gauge ``name`` with value 1; counts its calls."""

    def __init__(self, name: str = "node_ok") -> None:
        self.name = name
        self.calls = 0

    def collect(self) -> Iterator[Family]:
        self.calls += 1
        fam = Family(self.name, "gauge", f"{self.name} for tests.")
        fam.add((), 1)
        yield fam


class Broken:
    """Raises, as a collector reading a file it cannot parse does."""

    def collect(self) -> Iterator[Family]:
        raise RuntimeError("boom")


class Hanging:
    """Blocks until ``release`` is set, like a statvfs on a dead NFS mount; counts its starts."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0

    def collect(self) -> Iterator[Family]:
        self.started += 1
        self.release.wait(30)
        yield Family("node_late", "gauge", "Late.")
