"""How ours and the real node_exporter 1.5 are run side by side: the compatibility test and the exporter
benchmark both start them with exactly these flags, so that both export the same host series.

Plain constants (no pytest): `benchmarks/exporter_vs_node_exporter.py` imports them too.
"""

from __future__ import annotations

# The collectors both have and compare.
COLLECTORS = (
    "cpu",
    "diskstats",
    "filesystem",
    "loadavg",
    "meminfo",
    "netclass",
    "netdev",
    "stat",
    "time",
    "uname",
)
# The two defaults Debian's package patches into node_exporter, passed explicitly to both exporters.
DEBIAN_DEFAULTS = (
    "--collector.netdev.device-exclude=^lo$",
    "--collector.filesystem.mount-points-exclude="
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
)
FLAGS = ("--collector.disable-defaults", *(f"--collector.{c}" for c in COLLECTORS), *DEBIAN_DEFAULTS)
