"""``loadavg``: the 1, 5 and 15 minute load averages (node_exporter's ``loadavg`` collector)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psutil

from exporter._families import Family
from exporter.collectors._registry import Settings, read_text, register_collector
from exporter.paths import Paths


def parse_loadavg(text: str) -> tuple[float, float, float]:
    """Parse ``/proc/loadavg`` (``0.12 0.34 0.56 1/234 5678``) into the three averages."""
    fields = text.split()
    if len(fields) < 3:
        raise ValueError(f"unexpected /proc/loadavg content: {text!r}")
    return float(fields[0]), float(fields[1]), float(fields[2])


@register_collector("loadavg", help="Load averages (node_load1, node_load5, node_load15).")
class LoadavgCollector:
    """Yield ``node_load1``, ``node_load5`` and ``node_load15``.

    Args:
        source: returns the three load averages; defaults to psutil (or ``<procfs>/loadavg`` when
            procfs is not ``/proc``, since psutil reads the load through the syscall).
    """

    def __init__(self, *, source: Callable[[], tuple[float, float, float]] = psutil.getloadavg) -> None:
        self._source = source

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadavgCollector:
        paths: Paths = settings.paths
        if paths.procfs != "/proc":
            path = paths.proc("loadavg")
            return cls(source=lambda: parse_loadavg(read_text(path)))
        return cls()

    def collect(self) -> Iterator[Family]:
        one, five, fifteen = self._source()
        for name, value in (("node_load1", one), ("node_load5", five), ("node_load15", fifteen)):
            fam = Family(name, "gauge", f"{name[len('node_load') :]}m load average.")
            fam.add((), value)
            yield fam
