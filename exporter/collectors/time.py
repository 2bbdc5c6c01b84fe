"""``time``: the system clock, its time zone and clock sources (node_exporter's ``time``).

``node_time_seconds`` lets PromQL compare the host's clock with Prometheus's (``time() -
node_time_seconds``, node-mixin's clock-skew alert); the clock sources come from
``<sysfs>/devices/system/clocksource/clocksource<N>/{available,current}_clocksource``.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Iterator

from exporter._families import Family
from exporter.collectors._registry import Settings, read_text, register_collector


def read_clocksources(directory: str) -> list[tuple[str, list[str], str]]:
    """``(device, available, current)`` for each ``clocksource<N>`` under ``directory``; [] when absent."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith("clocksource"))
    except OSError:
        return []
    out = []
    for name in names:
        base = os.path.join(directory, name)
        try:
            available = read_text(os.path.join(base, "available_clocksource")).split()
            current = read_text(os.path.join(base, "current_clocksource")).strip()
        except OSError:
            continue
        out.append((name[len("clocksource") :], available, current))
    return out


@register_collector("time", help="System time, time zone offset and clock sources (node_time_*).")
class TimeCollector:
    """Yield ``node_time_seconds``, ``node_time_zone_offset_seconds{time_zone}`` and the clock sources.

    Args:
        clock: returns seconds since the epoch (``time.time``).
        zone: returns ``(zone name, offset east of UTC in seconds)``; defaults to the local zone.
        clocksources: returns ``(device, available, current)`` triples (see ``read_clocksources``).

    Example:
        >>> c = TimeCollector(clock=lambda: 1.5, zone=lambda: ("UTC", 0), clocksources=lambda: [])
        >>> {f.name: f.samples for f in c.collect()}["node_time_seconds"]
        [((), 1.5)]
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = _time.time,
        zone: Callable[[], tuple[str, int]] | None = None,
        clocksources: Callable[[], list[tuple[str, list[str], str]]] = list,
    ) -> None:
        self._clock = clock
        self._zone = zone or _local_zone
        self._clocksources = clocksources

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeCollector:
        directory = settings.paths.sys("devices", "system", "clocksource")
        return cls(clocksources=lambda: read_clocksources(directory))

    def collect(self) -> Iterator[Family]:
        available = Family(
            "node_time_clocksource_available_info",
            "gauge",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
            ("clocksource", "device"),
        )
        current = Family(
            "node_time_clocksource_current_info",
            "gauge",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
            ("clocksource", "device"),
        )
        for device, names, now in self._clocksources():
            for name in sorted(names):
                available.add((name, device), 1)
            if now:
                current.add((now, device), 1)
        yield available
        yield current
        seconds = Family("node_time_seconds", "gauge", "System time in seconds since epoch (1970).")
        seconds.add((), self._clock())
        yield seconds
        zone_name, offset = self._zone()
        zone = Family(
            "node_time_zone_offset_seconds", "gauge", "System time zone offset in seconds.", ("time_zone",)
        )
        zone.add((zone_name,), offset)
        yield zone


def _local_zone() -> tuple[str, int]:
    local = _time.localtime()
    return local.tm_zone, local.tm_gmtoff
