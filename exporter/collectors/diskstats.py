"""``diskstats``: block device I/O counters from ``<procfs>/diskstats`` (node_exporter's ``diskstats``).

Read directly rather than through ``psutil.disk_io_counters``, which drops the in-flight count, the
weighted I/O time, discards and flushes, and rescales sectors by the device's block size. Sectors
here are always the kernel's 512-byte units (Documentation/admin-guide/iostats.rst).

``node_disk_info`` is cheap: major and minor come from the same line. Its udev labels (``path``,
``wwn``, ``model``, ``serial``, ``revision``) and the udev-based ``node_disk_filesystem_info``,
``node_disk_device_mapper_info`` and ``node_disk_ata_*`` are filled from ``<rootfs>/run/udev/data``
when that directory exists, as node_exporter 1.5 does with ``--path.udev.data``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from exporter._families import Family, Kind
from exporter.collectors._registry import Flag, Settings, read_text, register_collector

# node_exporter 1.5 default (collector/diskstats_linux.go); Debian's package keeps it.
DEVICE_EXCLUDE = r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"

_MS = 0.001  # Go's secondsPerTick: ticks * (1.0/1000.0) gives the same doubles as node_exporter
_SECTOR = 512

# (name, help, kind, scale) in /proc/diskstats column order after major, minor and name.
_STATS: tuple[tuple[str, str, Kind, float], ...] = (
    ("reads_completed_total", "The total number of reads completed successfully.", "counter", 1),
    ("reads_merged_total", "The total number of reads merged.", "counter", 1),
    ("read_bytes_total", "The total number of bytes read successfully.", "counter", _SECTOR),
    ("read_time_seconds_total", "The total number of seconds spent by all reads.", "counter", _MS),
    ("writes_completed_total", "The total number of writes completed successfully.", "counter", 1),
    ("writes_merged_total", "The number of writes merged.", "counter", 1),
    ("written_bytes_total", "The total number of bytes written successfully.", "counter", _SECTOR),
    ("write_time_seconds_total", "This is the total number of seconds spent by all writes.", "counter", _MS),
    ("io_now", "The number of I/Os currently in progress.", "gauge", 1),
    ("io_time_seconds_total", "Total seconds spent doing I/Os.", "counter", _MS),
    ("io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", "counter", _MS),
    ("discards_completed_total", "The total number of discards completed successfully.", "counter", 1),
    ("discards_merged_total", "The total number of discards merged.", "counter", 1),
    # Not scaled to bytes: node_exporter exports discarded sectors as sectors.
    ("discarded_sectors_total", "The total number of sectors discarded successfully.", "counter", 1),
    (
        "discard_time_seconds_total",
        "This is the total number of seconds spent by all discards.",
        "counter",
        _MS,
    ),
    ("flush_requests_total", "The total number of flush requests completed successfully", "counter", 1),
    (
        "flush_requests_time_seconds_total",
        "This is the total number of seconds spent by all flush requests.",
        "counter",
        _MS,
    ),
)
_MIN_STATS = 11  # kernels before 4.18; 15 from 4.18 (discards), 17 from 5.5 (flushes)
_DEVICE = ("device",)
_INFO_LABELS = ("device", "major", "minor", "model", "path", "revision", "serial", "wwn")
_ATA = (
    (
        "ID_ATA_ROTATION_RATE_RPM",
        "node_disk_ata_rotation_rate_rpm",
        "ATA disk rotation rate in RPMs (0 for SSDs).",
    ),
    ("ID_ATA_WRITE_CACHE", "node_disk_ata_write_cache", "ATA disk has a write cache."),
    (
        "ID_ATA_WRITE_CACHE_ENABLED",
        "node_disk_ata_write_cache_enabled",
        "ATA disk has its write cache enabled.",
    ),
)


class DiskStats(NamedTuple):
    """One line of ``/proc/diskstats``: 11, 15 or 17 raw counters, in kernel units."""

    device: str
    major: int
    minor: int
    stats: tuple[int, ...]


def parse_diskstats(text: str) -> list[DiskStats]:
    """Parse ``/proc/diskstats``; lines with fewer than 11 counters (old partition lines) are skipped.

    Example:
        >>> parse_diskstats(" 8 0 sda 1 2 3 4 5 6 7 8 9 10 11\\n")[0].stats[:3]
        (1, 2, 3)
    """
    disks: list[DiskStats] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 + _MIN_STATS:
            continue
        counters = tuple(map(int, fields[3 : 3 + len(_STATS)]))
        disks.append(DiskStats(fields[2], int(fields[0]), int(fields[1]), counters))
    return disks


def parse_udev_properties(text: str) -> dict[str, str]:
    """The ``E:KEY=value`` device properties of a udev database file (``/run/udev/data/b8:0``)."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("E:"):
            key, sep, value = line[2:].partition("=")
            if sep:
                props[key] = value
    return props


def device_filter(exclude: str, include: str, default_exclude: str) -> Callable[[str], bool]:
    """A predicate telling which device names to keep (node_exporter's include/exclude flags).

    ``include`` wins over an untouched default ``exclude``; setting both explicitly is an error.
    """
    if include:
        if exclude and exclude != default_exclude:
            raise ValueError("device-exclude and device-include are mutually exclusive")
        accept = re.compile(include)
        return lambda name: accept.search(name) is not None
    if exclude:
        ignore = re.compile(exclude)
        return lambda name: ignore.search(name) is None
    return lambda name: True


def _read_udev(directory: str, major: int, minor: int) -> dict[str, str]:
    try:
        return parse_udev_properties(read_text(os.path.join(directory, f"b{major}:{minor}")))
    except OSError:
        return {}


@register_collector(
    "diskstats",
    help="Block device I/O counters (node_disk_*).",
    flags=[
        Flag(
            "diskstats.device-exclude",
            default=DEVICE_EXCLUDE,
            help="Regexp of diskstats devices to exclude (mutually exclusive to device-include).",
        ),
        Flag(
            "diskstats.device-include",
            default="",
            help="Regexp of diskstats devices to include (mutually exclusive to device-exclude).",
        ),
    ],
)
class DiskstatsCollector:
    """Yield node_exporter 1.5's ``node_disk_*`` families, label ``{device}``.

    The discard counters appear only when the kernel writes them (4.18+), the flush counters from 5.5.

    Args:
        source: returns the text of ``/proc/diskstats``.
        udev_dir: udev database directory, or ``None`` to leave the udev labels empty.
        device_exclude: regexp of device names to skip.
        device_include: regexp of device names to keep (mutually exclusive with a non-default exclude).
    """

    def __init__(
        self,
        *,
        source: Callable[[], str],
        udev_dir: str | None = None,
        device_exclude: str = DEVICE_EXCLUDE,
        device_include: str = "",
    ) -> None:
        self._source = source
        self._udev_dir = udev_dir
        self._keep = device_filter(device_exclude, device_include, DEVICE_EXCLUDE)

    @classmethod
    def from_settings(cls, settings: Settings) -> DiskstatsCollector:
        path = settings.paths.proc("diskstats")
        udev = settings.paths.root("/run/udev/data")
        return cls(
            source=lambda: read_text(path),
            udev_dir=udev if os.path.isdir(udev) else None,
            device_exclude=settings.flag("diskstats.device-exclude"),
            device_include=settings.flag("diskstats.device-include"),
        )

    def collect(self) -> Iterator[Family]:
        stat_families = [Family(f"node_disk_{name}", kind, help, _DEVICE) for name, help, kind, _ in _STATS]
        scales = [scale for *_, scale in _STATS]
        info = Family("node_disk_info", "gauge", "Info of /sys/block/<block_device>.", _INFO_LABELS)
        fs_info = Family(
            "node_disk_filesystem_info",
            "gauge",
            "Info about disk filesystem.",
            ("device", "type", "usage", "uuid", "version"),
        )
        dm_info = Family(
            "node_disk_device_mapper_info",
            "gauge",
            "Info about disk device mapper.",
            ("device", "lv_layer", "lv_name", "name", "uuid", "vg_name"),
        )
        ata = [Family(name, "gauge", help, _DEVICE) for _, name, help in _ATA]
        keep, udev_dir = self._keep, self._udev_dir
        for disk in sorted(parse_diskstats(self._source())):
            dev = disk.device
            if not keep(dev):
                continue
            props = _read_udev(udev_dir, disk.major, disk.minor) if udev_dir else {}
            get = props.get
            info.add(
                (
                    dev,
                    str(disk.major),
                    str(disk.minor),
                    get("ID_MODEL", ""),
                    get("ID_PATH", ""),
                    get("ID_REVISION", ""),
                    get("ID_SERIAL_SHORT", ""),  # 1.6 prefers SCSI_IDENT_SERIAL; 1.5 does not
                    get("ID_WWN", ""),
                ),
                1,
            )
            labels = (dev,)
            for fam, scale, value in zip(stat_families, scales, disk.stats, strict=False):
                fam.add(labels, value if scale == 1 else value * scale)
            if props:
                self._add_udev_families(dev, props, fs_info, dm_info, ata)
        families = [*stat_families, info, fs_info, dm_info, *ata]
        yield from sorted((f for f in families if f.samples), key=lambda f: f.name)

    @staticmethod
    def _add_udev_families(
        dev: str, props: dict[str, str], fs_info: Family, dm_info: Family, ata: list[Family]
    ) -> None:
        get = props.get
        if fs_type := get("ID_FS_TYPE", ""):
            fs_info.add(
                (dev, fs_type, get("ID_FS_USAGE", ""), get("ID_FS_UUID", ""), get("ID_FS_VERSION", "")), 1
            )
        if name := get("DM_NAME", ""):
            dm_info.add(
                (
                    dev,
                    get("DM_LV_LAYER", ""),
                    get("DM_LV_NAME", ""),
                    name,
                    get("DM_UUID", ""),
                    get("DM_VG_NAME", ""),
                ),
                1,
            )
        if get("ID_ATA", ""):
            for (key, _, _), fam in zip(_ATA, ata, strict=True):
                raw = get(key)
                if raw is None:
                    continue
                try:
                    fam.add((dev,), float(raw))
                except ValueError:
                    continue
