"""``cpu``: seconds each CPU spent in each mode, from ``<procfs>/stat`` (node_exporter's ``cpu``).

Read directly rather than through ``psutil.cpu_times(percpu=True)``: psutil numbers CPUs by their
position in the file, which is wrong as soon as a CPU is offline (``cpu0``, ``cpu2``, ...), while
node_exporter labels each CPU with the number the kernel gives it. Times are the kernel's clock ticks
divided by ``SC_CLK_TCK``; ``user`` and ``nice`` include guest time, exactly as the kernel and
node_exporter report them, and the guest share is also exported on its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from exporter._families import Family
from exporter.collectors._registry import Settings, read_text, register_collector

_TICK = os.sysconf("SC_CLK_TCK")
# /proc/stat columns after the cpu name, in file order.
_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")
# node_cpu_seconds_total modes, sorted as node_exporter's registry writes them, and their column index.
_MODES = tuple(sorted((m, i) for i, m in enumerate(_COLUMNS[:8])))


def parse_cpu_lines(text: str) -> dict[int, tuple[int, ...]]:
    """The per-CPU tick counters of ``/proc/stat``, by CPU number; missing trailing columns are 0.

    Example:
        >>> parse_cpu_lines("cpu  3 0 1 9\\ncpu0 3 0 1 9\\nintr 5\\n")[0][:4]
        (3, 0, 1, 9)
    """
    cpus: dict[int, tuple[int, ...]] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            if cpus:  # the cpu lines come first; the rest of the file is not ours
                break
            continue
        name, *values = line.split()
        if name == "cpu":  # the all-CPU total line
            continue
        if len(values) < 4:
            raise ValueError(f"unexpected /proc/stat line: {line!r}")
        ticks = tuple(map(int, values[: len(_COLUMNS)]))
        cpus[int(name[3:])] = ticks + (0,) * (len(_COLUMNS) - len(ticks))
    return cpus


@register_collector("cpu", help="Seconds the CPUs spent in each mode (node_cpu_seconds_total).")
class CpuCollector:
    """Yield ``node_cpu_seconds_total{cpu,mode}`` and ``node_cpu_guest_seconds_total{cpu,mode}``.

    Args:
        source: returns the text of ``/proc/stat``.
        tick: clock ticks per second (``SC_CLK_TCK``, 100 on Linux).

    Example:
        >>> c = CpuCollector(source=lambda: "cpu0 100 0 50 900 0 0 0 0 0 0\\n")
        >>> seconds = {f.name: f for f in c.collect()}["node_cpu_seconds_total"]
        >>> [s for s in seconds.samples if s[0] == ("0", "user")]
        [(('0', 'user'), 1.0)]
    """

    def __init__(self, *, source: Callable[[], str], tick: int = _TICK) -> None:
        self._source = source
        self._tick = float(tick)

    @classmethod
    def from_settings(cls, settings: Settings) -> CpuCollector:
        path = settings.paths.proc("stat")
        return cls(source=lambda: read_text(path))

    def collect(self) -> Iterator[Family]:
        seconds = Family(
            "node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", ("cpu", "mode")
        )
        guest = Family(
            "node_cpu_guest_seconds_total",
            "counter",
            "Seconds the CPUs spent in guests (VMs) for each mode.",
            ("cpu", "mode"),
        )
        tick, add, add_guest = self._tick, seconds.samples.append, guest.samples.append
        for cpu, ticks in sorted(parse_cpu_lines(self._source()).items()):
            label = str(cpu)
            for mode, i in _MODES:
                add(((label, mode), ticks[i] / tick))
            add_guest(((label, "nice"), ticks[9] / tick))
            add_guest(((label, "user"), ticks[8] / tick))
        yield guest
        yield seconds
