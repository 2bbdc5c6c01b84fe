"""``stat``: boot time, context switches, forks, interrupts and run queue from ``<procfs>/stat``.

node_exporter's ``stat`` collector, with the same names: ``node_boot_time_seconds`` (what
``psutil.boot_time()`` returns, read here from the same single read of the file),
``node_context_switches_total``, ``node_forks_total``, ``node_intr_total``, ``node_procs_running``
and ``node_procs_blocked``; ``--collector.stat.softirq`` adds ``node_softirqs_total{vector}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from exporter._families import Family, Kind
from exporter.collectors._registry import Flag, Settings, read_text, register_collector

# /proc/stat key -> (metric, kind, help), in the order node_exporter's registry writes them (by name).
_FIELDS: tuple[tuple[str, str, Kind, str], ...] = (
    ("btime", "node_boot_time_seconds", "gauge", "Node boot time, in unixtime."),
    ("ctxt", "node_context_switches_total", "counter", "Total number of context switches."),
    ("processes", "node_forks_total", "counter", "Total number of forks."),
    ("intr", "node_intr_total", "counter", "Total number of interrupts serviced."),
    (
        "procs_blocked",
        "node_procs_blocked",
        "gauge",
        "Number of processes blocked waiting for I/O to complete.",
    ),
    ("procs_running", "node_procs_running", "gauge", "Number of processes in runnable state."),
)
# The kernel's softirq vectors, in /proc/stat order (include/linux/interrupt.h, softirq_to_name).
SOFTIRQ_VECTORS = (
    "hi",
    "timer",
    "net_tx",
    "net_rx",
    "block",
    "block_iopoll",
    "tasklet",
    "sched",
    "hrtimer",
    "rcu",
)


def parse_stat(text: str, *, softirq: bool = False) -> dict[str, list[int]]:
    """The non-cpu lines of ``/proc/stat``: key -> its first number, or every number of ``softirq``
    when ``softirq`` is true.

    Example:
        >>> parse_stat("cpu0 1 2 3 4\\nctxt 42\\nintr 7 0 1\\nsoftirq 3 1 2\\n", softirq=True)
        {'ctxt': [42], 'intr': [7], 'softirq': [3, 1, 2]}
    """
    out: dict[str, list[int]] = {}
    for line in text.splitlines():
        if line.startswith("cpu"):
            continue
        key, _, rest = line.partition(" ")
        if key == "softirq" and softirq:
            out[key] = [int(v) for v in rest.split()]
        elif key and rest:
            # ``intr`` has a column per interrupt line (hundreds); only its total, the first, is used.
            out[key] = [int(rest.lstrip().split(" ", 1)[0])]
    return out


@register_collector(
    "stat",
    help="Boot time, context switches, forks, interrupts, running and blocked processes.",
    flags=[Flag("stat.softirq", default=False, help="Export softirq calls per vector.")],
)
class StatCollector:
    """Yield node_exporter's ``stat`` families from one read of ``/proc/stat``.

    A key missing from the file (an old or unusual kernel) leaves its family out; the others remain.

    Args:
        source: returns the text of ``/proc/stat``.
        softirq: also yield ``node_softirqs_total{vector}``.

    Example:
        >>> c = StatCollector(source=lambda: "btime 1700000000\\nctxt 5\\n")
        >>> [f.name for f in c.collect()]
        ['node_boot_time_seconds', 'node_context_switches_total']
    """

    def __init__(self, *, source: Callable[[], str], softirq: bool = False) -> None:
        self._source = source
        self._softirq = softirq

    @classmethod
    def from_settings(cls, settings: Settings) -> StatCollector:
        path = settings.paths.proc("stat")
        return cls(source=lambda: read_text(path), softirq=bool(settings.flag("stat.softirq")))

    def collect(self) -> Iterator[Family]:
        values = parse_stat(self._source(), softirq=self._softirq)
        for key, name, kind, help in _FIELDS:
            if key in values:
                fam = Family(name, kind, help)
                fam.samples.append(((), values[key][0]))
                yield fam
        if self._softirq and "softirq" in values:
            fam = Family("node_softirqs_total", "counter", "Number of softirq calls.", ("vector",))
            for vector, count in zip(SOFTIRQ_VECTORS, values["softirq"][1:], strict=False):
                fam.add((vector,), count)
            yield fam
