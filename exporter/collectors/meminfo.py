"""``meminfo``: every field of ``<procfs>/meminfo`` as ``node_memory_<Field>_bytes`` (node_exporter's).

Read directly: ``psutil.virtual_memory()`` and ``swap_memory()`` return a dozen derived fields, while
node_exporter exports every line of the file under its own name, and the node-mixin alerts and
dashboards read those names (``MemAvailable``, ``SwapTotal``, ``SwapFree``, ``Cached``, ...).
Values in ``kB`` are multiplied by 1024 and named ``_bytes``; unitless lines (``HugePages_Total``)
keep their name; ``Active(anon)`` becomes ``Active_anon``. Utilisation percentages are left to PromQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from exporter._families import Family
from exporter.collectors._registry import Settings, read_text, register_collector

_PARENS = re.compile(r"\((.*)\)")


_suffixes: dict[tuple[str, bool], str] = {}  # (key, has kB) -> metric suffix; the kernel's keys are few


def _suffix(key: str, kb: bool) -> str:
    suffix = _suffixes.get((key, kb))
    if suffix is None:
        suffix = _PARENS.sub(r"_\1", key) + ("_bytes" if kb else "")
        _suffixes[(key, kb)] = suffix
    return suffix


def parse_meminfo(text: str) -> dict[str, float]:
    """``/proc/meminfo`` as ``{metric suffix: value}``, e.g. ``{"MemTotal_bytes": 25276203008.0}``.

    Example:
        >>> parse_meminfo("MemTotal:  1024 kB\\nHugePages_Total:  0\\nActive(anon):  1 kB\\n")
        {'MemTotal_bytes': 1048576.0, 'HugePages_Total': 0.0, 'Active_anon_bytes': 1024.0}
    """
    out: dict[str, float] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not 1 <= len(parts) <= 2 or (len(parts) == 2 and parts[1] != "kB"):
            if line.strip():
                raise ValueError(f"unexpected /proc/meminfo line: {line!r}")
            continue
        if len(parts) == 2:
            out[_suffix(key, True)] = float(parts[0]) * 1024
        else:
            out[_suffix(key, False)] = float(parts[0])
    return out


@register_collector("meminfo", help="Memory and swap from /proc/meminfo (node_memory_*).")
class MeminfoCollector:
    """Yield one ``node_memory_<Field>`` gauge per line of ``/proc/meminfo``, sorted by name.

    Args:
        source: returns the text of ``/proc/meminfo``.

    Example:
        >>> c = MeminfoCollector(source=lambda: "SwapTotal:  2 kB\\n")
        >>> [(f.name, f.samples) for f in c.collect()]
        [('node_memory_SwapTotal_bytes', [((), 2048.0)])]
    """

    def __init__(self, *, source: Callable[[], str]) -> None:
        self._source = source

    @classmethod
    def from_settings(cls, settings: Settings) -> MeminfoCollector:
        path = settings.paths.proc("meminfo")
        return cls(source=lambda: read_text(path))

    def collect(self) -> Iterator[Family]:
        for suffix, value in sorted(parse_meminfo(self._source()).items()):
            name = "node_memory_" + suffix
            fam = Family(name, "gauge", f"Memory information field {suffix}.")
            fam.samples.append(((), value))
            yield fam
