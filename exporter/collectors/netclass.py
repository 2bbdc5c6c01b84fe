"""``netclass``: network device properties from ``<sysfs>/class/net/<device>/`` (node_exporter 1.5's).

The families, types, labels and help texts are node_exporter 1.5's: ``node_network_info`` (address,
broadcast, duplex, ifalias, operstate), ``node_network_up`` (operstate is ``up``), the link speed
``node_network_speed_bytes`` (Mb/s * 125000: bytes per second) that utilisation is computed against,
and one ``node_network_<property>`` per numeric attribute (mtu, flags, carrier, ifindex, ...).

What node_exporter 1.5 does with awkward attributes, and so does this collector (checked by running
the Debian binary on fake sysfs trees):

- An attribute whose read fails with EINVAL or EOPNOTSUPP (``speed``, ``duplex``, ``carrier``,
  ``dormant`` and ``name_assign_type`` on ``lo``, ``ifb*`` or a device that is down), or that is
  missing, gives no sample for that device; a missing string attribute is an empty label value.
  ``node_network_up`` and ``node_network_info`` are published for every device.
- A speed of ``-1`` (unknown, e.g. virtio) is published as ``-1 * 125000 = -125000``;
  ``--collector.netclass.ignore-invalid-speed`` leaves negative speeds out instead.
- Integers are parsed like Go's ``strconv.ParseInt(s, 0, 64)`` (``0x1003`` flags, ``010`` octal) and
  one that does not parse is published as 0 (procfs's ValueParser does that).
- Each file is read with one 128-byte read and trimmed, so a longer ``ifalias`` is cut at 128 bytes.

Where it differs on purpose: node_exporter fails the whole collector (no netclass samples at all) on
any other read error (EIO, EAGAIN from a broken driver), on a device that vanishes during the scrape
and on an entry of ``class/net`` that is not a directory; here that attribute, or that device, is
left out and the rest is published. It also reads every regular file of each device directory; this
reads only the 22 attributes it publishes (symlinks skipped, as there).
``--collector.netclass.netlink`` (1.5's rtnetlink alternative, off by default) is not provided.

Like ``netdev``, this sees the network namespace of whoever mounted sysfs: run the exporter in the
host's network namespace to see the host's devices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping

from exporter._families import Family, Kind
from exporter.collectors._registry import Flag, Settings, register_collector

IGNORED_DEVICES = "^$"  # node_exporter 1.5's default: ignore none

# (file, family name after ``node_network_``, kind), numeric attributes in node_exporter 1.5's order.
_NUMERIC: tuple[tuple[str, str, Kind], ...] = (
    ("addr_assign_type", "address_assign_type", "gauge"),
    ("carrier", "carrier", "gauge"),
    ("carrier_changes", "carrier_changes_total", "counter"),
    ("carrier_up_count", "carrier_up_changes_total", "counter"),
    ("carrier_down_count", "carrier_down_changes_total", "counter"),
    ("dev_id", "device_id", "gauge"),
    ("dormant", "dormant", "gauge"),
    ("flags", "flags", "gauge"),
    ("ifindex", "iface_id", "gauge"),
    ("iflink", "iface_link", "gauge"),
    ("link_mode", "iface_link_mode", "gauge"),
    ("mtu", "mtu_bytes", "gauge"),
    ("name_assign_type", "name_assign_type", "gauge"),
    ("netdev_group", "net_dev_group", "gauge"),
    ("tx_queue_len", "transmit_queue_length", "gauge"),
    ("type", "protocol_type", "gauge"),
)
# node_network_info's labels, sorted as node_exporter writes them; all but ``device`` are files.
_INFO_LABELS = ("address", "broadcast", "device", "duplex", "ifalias", "operstate")
ATTRIBUTES = (*(f for f, _, _ in _NUMERIC), "speed", *(n for n in _INFO_LABELS if n != "device"))

_DEVICE = ("device",)
_READ_SIZE = 128  # procfs's SysReadFile: one read of at most 128 bytes
# What Go's bytes.TrimSpace trims (unicode.IsSpace); str.strip() would also trim \x1c-\x1f.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
# Go's ParseInt with base 0: sign, then 0b/0o/0x prefix, a leading 0 for octal, or decimal;
# an underscore only between digits (or right after a prefix).
_GO_INT = re.compile(
    r"[+-]?(?:0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0[xX](?:_?[0-9a-fA-F])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)"
)
_INT64 = range(-(2**63), 2**63)
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def parse_int(text: str) -> int:
    """An integer attribute as node_exporter 1.5 reads it: Go's ``ParseInt(text, 0, 64)``, else 0.

    Example:
        >>> [parse_int(s) for s in ("1500", "0x1003", "-1", "010", "", "9223372036854775808")]
        [1500, 4099, -1, 8, 0, 0]
    """
    if not _GO_INT.fullmatch(text):
        return 0
    digits = text.lstrip("+-").replace("_", "")
    prefix = digits[:2].lower()
    if prefix in ("0b", "0o", "0x"):
        value = int(digits[2:], {"0b": 2, "0o": 8, "0x": 16}[prefix])
    else:
        value = int(digits, 8 if digits.startswith("0") else 10)
    value = -value if text.startswith("-") else value
    return value if value in _INT64 else 0


def list_devices(directory: str) -> list[str]:
    """The devices in ``<sysfs>/class/net``: every entry but regular files (``bonding_masters``)."""
    with os.scandir(directory) as entries:
        return sorted(e.name for e in entries if not e.is_file(follow_symlinks=False))


def read_attributes(directory: str) -> dict[str, str] | None:
    """The readable ``ATTRIBUTES`` of one device directory, trimmed; ``None`` when it is gone.

    An attribute that is missing, a symlink, or fails to read (EINVAL, EOPNOTSUPP, EIO, ...) is
    left out. ``O_NONBLOCK`` keeps anything but a sysfs file from stalling the scrape.
    """
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    attrs: dict[str, str] = {}
    try:
        for name in ATTRIBUTES:
            try:
                fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue
            try:
                data = os.read(fd, _READ_SIZE)
            except OSError:
                continue
            finally:
                os.close(fd)
            attrs[name] = data.decode("utf-8", "replace").strip(_GO_SPACE)
    finally:
        os.close(dir_fd)
    return attrs


@register_collector(
    "netclass",
    help="Network device properties from sysfs: link speed, MTU, carrier, operstate "
    "(node_network_info, node_network_up, node_network_speed_bytes, ...).",
    flags=[
        Flag(
            "netclass.ignored-devices",
            default=IGNORED_DEVICES,
            help="Regexp of net devices to ignore for netclass collector.",
        ),
        Flag(
            "netclass.ignore-invalid-speed",
            default=False,
            help="Leave out node_network_speed_bytes where the speed is negative (-1: unknown).",
        ),
    ],
)
class NetclassCollector:
    """Yield node_exporter 1.5's ``node_network_*`` device properties, label ``{device}``.

    Args:
        devices: returns the device names (see ``list_devices``).
        attributes: returns a device's readable attributes by file name, or ``None`` when the device
            is gone (see ``read_attributes``).
        ignored_devices: regexp searched in each name; matching devices are not read at all.
        ignore_invalid_speed: leave out negative speeds instead of publishing them times 125000.

    Example:
        >>> attrs = {"eth0": {"operstate": "up", "speed": "1000", "mtu": "1500"}}
        >>> c = NetclassCollector(devices=lambda: ["eth0"], attributes=attrs.get)
        >>> {f.name: f.samples for f in c.collect()}["node_network_speed_bytes"]
        [(('eth0',), 125000000)]
    """

    def __init__(
        self,
        *,
        devices: Callable[[], Iterable[str]],
        attributes: Callable[[str], Mapping[str, str] | None],
        ignored_devices: str = IGNORED_DEVICES,
        ignore_invalid_speed: bool = False,
    ) -> None:
        self._devices = devices
        self._attributes = attributes
        self._ignored = re.compile(ignored_devices)  # Go's MatchString: a search; "" ignores all
        self._ignore_invalid_speed = ignore_invalid_speed

    @classmethod
    def from_settings(cls, settings: Settings) -> NetclassCollector:
        class_net = settings.paths.sys("class", "net")
        return cls(
            devices=lambda: list_devices(class_net),
            attributes=lambda device: read_attributes(os.path.join(class_net, device)),
            ignored_devices=settings.flag("netclass.ignored-devices"),
            ignore_invalid_speed=settings.flag("netclass.ignore-invalid-speed"),
        )

    def collect(self) -> Iterator[Family]:
        numeric = [
            (file, Family(f"node_network_{name}", kind, f"Network device property: {name}", _DEVICE))
            for file, name, kind in _NUMERIC
        ]
        speed = Family("node_network_speed_bytes", "gauge", "Network device property: speed_bytes", _DEVICE)
        up = Family("node_network_up", "gauge", "Value is 1 if operstate is 'up', 0 otherwise.", _DEVICE)
        info = Family(
            "node_network_info",
            "gauge",
            "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
            _INFO_LABELS,
        )
        ignored, read = self._ignored.search, self._attributes
        infos: list[tuple[str, ...]] = []
        for device in sorted(self._devices()):
            if ignored(device) or (attrs := read(device)) is None:
                continue
            labels = (device,)
            get = attrs.get
            up.add(labels, 1 if get("operstate") == "up" else 0)
            infos.append(tuple(device if n == "device" else get(n, "") for n in _INFO_LABELS))
            for file, fam in numeric:
                if (text := get(file)) is not None:
                    fam.add(labels, parse_int(text))
            if (text := get("speed")) is not None:
                mbits = parse_int(text)
                if mbits >= 0 or not self._ignore_invalid_speed:
                    speed.add(labels, mbits * 125_000)  # Go: Mb/s * 1000 * 1000 / 8 (exact)
        for values in sorted(infos):  # node_exporter orders by label values, address first
            info.add(values, 1)
        yield from sorted((*(fam for _, fam in numeric), speed, up, info), key=lambda f: f.name)
