"""``netdev``: network interface counters from ``<procfs>/net/dev`` (node_exporter's ``netdev``).

Read directly rather than through ``psutil.net_io_counters``, which drops the fifo, frame,
compressed, multicast, collision and carrier columns. The sixteen columns map to node_exporter 1.5's
``node_network_{receive,transmit}_<field>_total{device}`` names.

Which network namespace: ``<procfs>/net`` is a symlink to ``self/net``, so even with
``--path.procfs=/host/proc`` this reads the namespace of the exporter process itself, exactly like
node_exporter 1.5 (its default netlink path and its ``--no-collector.netdev.netlink`` path, which reads
``<procfs>/net/dev``, both see the exporter's own namespace). Run the exporter in the host's network
namespace (``network_mode: host``) to see the host's interfaces. ``<procfs>/1/net/dev`` would read
PID 1's namespace instead; node_exporter does not do that, so neither do we.

``node_network_receive_nohandler_total`` (packets dropped for want of a protocol handler) is not a
column of ``/proc/net/dev``; node_exporter 1.5 reads it over netlink, this collector from
``<sysfs>/class/net/<device>/statistics/rx_nohandler`` (kernel 4.6+), for the devices
``/proc/net/dev`` lists. sysfs shows the network namespace of whoever mounted it, which is the
exporter's own in every set-up above; where it is not, a device missing there is simply left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from exporter._families import Family
from exporter.collectors._registry import Flag, Settings, read_text, register_collector
from exporter.collectors.diskstats import device_filter

# The /proc/net/dev columns, in file order, under node_exporter's names.
FIELDS = (
    "receive_bytes",
    "receive_packets",
    "receive_errs",
    "receive_drop",
    "receive_fifo",
    "receive_frame",
    "receive_compressed",
    "receive_multicast",
    "transmit_bytes",
    "transmit_packets",
    "transmit_errs",
    "transmit_drop",
    "transmit_fifo",
    "transmit_colls",
    "transmit_carrier",
    "transmit_compressed",
)
# Families are yielded sorted by name, as node_exporter's registry writes them.
_DEVICE = ("device",)


def parse_netdev(text: str) -> dict[str, tuple[int, ...]]:
    """Parse ``/proc/net/dev`` into the sixteen counters of each interface, in file order.

    The name ends at the colon: long names and large counters can leave no space after it.

    Example:
        >>> parse_netdev("h1\\nh2\\n  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\\n")["lo"][:2]
        (1, 2)
    """
    stats: dict[str, tuple[int, ...]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        values = rest.split()
        if len(values) < len(FIELDS):
            raise ValueError(f"unexpected /proc/net/dev line: {line!r}")
        stats[name.strip()] = tuple(map(int, values[: len(FIELDS)]))
    return stats


@register_collector(
    "netdev",
    help="Network interface counters (node_network_*_total).",
    flags=[
        Flag(
            "netdev.device-exclude",
            default="",
            help="Regexp of net devices to exclude (mutually exclusive to device-include).",
        ),
        Flag(
            "netdev.device-include",
            default="",
            help="Regexp of net devices to include (mutually exclusive to device-exclude).",
        ),
    ],
)
class NetdevCollector:
    """Yield ``node_network_<field>_total{device}`` for the sixteen ``/proc/net/dev`` columns.

    Args:
        source: returns the text of ``/proc/net/dev``.
        nohandler: returns a device's ``rx_nohandler`` count, or ``None`` when the kernel has none.
        device_exclude: regexp of interfaces to skip (empty: none).
        device_include: regexp of interfaces to keep (empty: all); not together with an exclude.
    """

    def __init__(
        self,
        *,
        source: Callable[[], str],
        nohandler: Callable[[str], int | None] = lambda device: None,
        device_exclude: str = "",
        device_include: str = "",
    ) -> None:
        self._source = source
        self._nohandler = nohandler
        self._keep = device_filter(device_exclude, device_include, "")

    @classmethod
    def from_settings(cls, settings: Settings) -> NetdevCollector:
        path = settings.paths.proc("net", "dev")  # the reader's own namespace: see the module docstring
        class_net = settings.paths.sys("class", "net")
        return cls(
            source=lambda: read_text(path),
            nohandler=lambda device: read_counter(
                os.path.join(class_net, device, "statistics", "rx_nohandler")
            ),
            device_exclude=settings.flag("netdev.device-exclude"),
            device_include=settings.flag("netdev.device-include"),
        )

    def collect(self) -> Iterator[Family]:
        families = [
            Family(f"node_network_{field}_total", "counter", f"Network device statistic {field}.", _DEVICE)
            for field in FIELDS
        ]
        nohandler = Family(
            "node_network_receive_nohandler_total",
            "counter",
            "Network device statistic receive_nohandler.",
            _DEVICE,
        )
        keep, read_nohandler = self._keep, self._nohandler
        for device, values in sorted(parse_netdev(self._source()).items()):
            if not keep(device):
                continue
            labels = (device,)
            for fam, value in zip(families, values, strict=True):
                fam.add(labels, value)
            if (dropped := read_nohandler(device)) is not None:
                nohandler.add(labels, dropped)
        yield from sorted((*families, nohandler), key=lambda f: f.name)


def read_counter(path: str) -> int | None:
    """An integer sysfs attribute, or ``None`` when the file is missing or unreadable."""
    try:
        return int(read_text(path))
    except (OSError, ValueError):
        return None
