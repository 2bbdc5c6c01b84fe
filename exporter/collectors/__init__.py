"""Host collectors, one module each, registered by name in ``COLLECTORS``.

Importing this package imports every collector module, which registers it.
"""

from exporter.collectors import (  # noqa: F401  (imported to register)
    cpu,
    diskstats,
    filesystem,
    loadavg,
    meminfo,
    netclass,
    netdev,
    processes,
    stat,
    time,
    uname,
)
from exporter.collectors._registry import (
    COLLECTORS,
    Collector,
    CollectorSpec,
    Flag,
    Settings,
    markdown_table,
    register_collector,
)

__all__ = [
    "COLLECTORS",
    "Collector",
    "CollectorSpec",
    "Flag",
    "Settings",
    "markdown_table",
    "register_collector",
]
