"""``uname``: ``node_uname_info`` with the labels of the ``uname`` system call (node_exporter's).

``os.uname()`` gives all but the NIS domain name, read from ``<procfs>/sys/kernel/domainname``
(``(none)`` when unset, as the kernel writes it). Both describe the exporter's own UTS namespace, as
node_exporter's syscall does: in a container the node name is the container's host name unless it runs
with ``network_mode: host``/``uts: host``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from exporter._families import Family
from exporter.collectors._registry import Settings, read_text, register_collector

_LABELS = ("domainname", "machine", "nodename", "release", "sysname", "version")


def _domainname(path: str) -> str:
    try:
        return read_text(path).strip() or "(none)"
    except OSError:
        return "(none)"


@register_collector("uname", help="Kernel and host identity (node_uname_info).")
class UnameCollector:
    """Yield ``node_uname_info{domainname,machine,nodename,release,sysname,version} 1``.

    Args:
        uname: returns an object with ``sysname``, ``nodename``, ``release``, ``version``, ``machine``.
        domainname: returns the NIS domain name.

    Example:
        >>> u = os.uname_result(("Linux", "vm", "6.1", "#1 SMP", "x86_64"))
        >>> next(UnameCollector(uname=lambda: u, domainname=lambda: "(none)").collect()).samples
        [(('(none)', 'x86_64', 'vm', '6.1', 'Linux', '#1 SMP'), 1)]
    """

    def __init__(
        self,
        *,
        uname: Callable[[], os.uname_result] = os.uname,
        domainname: Callable[[], str] = lambda: _domainname("/proc/sys/kernel/domainname"),
    ) -> None:
        self._uname = uname
        self._domainname = domainname

    @classmethod
    def from_settings(cls, settings: Settings) -> UnameCollector:
        path = settings.paths.proc("sys", "kernel", "domainname")
        return cls(domainname=lambda: _domainname(path))

    def collect(self) -> Iterator[Family]:
        u = self._uname()
        fam = Family(
            "node_uname_info",
            "gauge",
            "Labeled system information as provided by the uname system call.",
            _LABELS,
        )
        fam.add((self._domainname(), u.machine, u.nodename, u.release, u.sysname, u.version), 1)
        yield fam
