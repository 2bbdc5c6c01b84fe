"""``filesystem``: size, free space and inodes of mounted filesystems (node_exporter's ``filesystem``).

The mount table comes from ``<procfs>/1/mounts`` (PID 1 sees the host's mounts; ``self/mounts`` when
hidepid hides it) and each mount point is measured with ``statvfs(<rootfs>/<mountpoint>)``. Labels
are ``{device, fstype, mountpoint}`` with the rootfs prefix stripped from the mount point, as in
node_exporter 1.5.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

from exporter._families import Family
from exporter.collectors._registry import Flag, Settings, read_text, register_collector
from exporter.paths import Paths

# Upstream node_exporter 1.5 defaults (collector/filesystem_linux.go). Debian's package patches the
# mount point default (debian/patches, so its ``--help`` shows it) to
#   ^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)
# We keep upstream's, which reports the mounts under /run, /mnt and /media.
MOUNT_POINTS_EXCLUDE = (
    "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
)
FS_TYPES_EXCLUDE = (
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue"
    "|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$"
)

_LABELS = ("device", "fstype", "mountpoint")
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


class Mount(NamedTuple):
    """One line of the mount table; ``mountpoint`` has its octal escapes decoded."""

    device: str
    mountpoint: str
    fstype: str
    options: str


class StatvfsResult(Protocol):
    """The fields of ``os.statvfs_result`` the collector reads (fakes may be any such object)."""

    @property
    def f_bsize(self) -> int: ...
    @property
    def f_blocks(self) -> int: ...
    @property
    def f_bfree(self) -> int: ...
    @property
    def f_bavail(self) -> int: ...
    @property
    def f_files(self) -> int: ...
    @property
    def f_ffree(self) -> int: ...


def unescape_octal(text: str) -> str:
    r"""Decode the kernel's ``\ooo`` escapes (space ``\040``, tab ``\011``, newline ``\012``, ``\134``)."""
    if "\\" not in text:
        return text
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mounts(text: str) -> list[Mount]:
    r"""Parse ``/proc/<pid>/mounts`` into mounts, in table order.

    node_exporter 1.5 decodes only ``\040`` and ``\011`` in the mount point; this decodes every
    octal escape the kernel writes, so a mount point with a backslash or newline is the real path.

    Example:
        >>> parse_mounts("/dev/sdb1 /mnt/my\\040disk ext4 ro,relatime 0 0\n")
        [Mount(device='/dev/sdb1', mountpoint='/mnt/my disk', fstype='ext4', options='ro,relatime')]
    """
    mounts: list[Mount] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 4:
            raise ValueError(f"malformed mount point information: {line!r}")
        mounts.append(Mount(parts[0], unescape_octal(parts[1]), parts[2], parts[3]))
    return mounts


@register_collector(
    "filesystem",
    help="Filesystem size, free space and inodes (node_filesystem_*).",
    flags=[
        Flag(
            "filesystem.mount-points-exclude",
            default=MOUNT_POINTS_EXCLUDE,
            help="Regexp of mount points to exclude for filesystem collector.",
        ),
        Flag(
            "filesystem.fs-types-exclude",
            default=FS_TYPES_EXCLUDE,
            help="Regexp of filesystem types to exclude for filesystem collector.",
        ),
    ],
)
class FilesystemCollector:
    """Yield ``node_filesystem_{size,free,avail}_bytes``, ``_files``, ``_files_free``, ``_readonly``
    and ``_device_error`` per mount.

    A mount whose ``statvfs`` fails reports ``node_filesystem_device_error 1`` and nothing else, not
    even ``_readonly`` (observed from the node_exporter 1.5 binary).
    Mounts with the same ``(device, fstype, mountpoint)`` are reported once, the first in the table
    winning (node_exporter collects both and its registry drops the later duplicate).

    Args:
        mounts: returns the mount table text.
        statvfs: ``os.statvfs`` or a fake taking the path as seen from here.
        paths: maps mount points to local paths (``root``) and back (``strip_rootfs``).
        mount_points_exclude: regexp searched in the (stripped) mount point.
        fs_types_exclude: regexp searched in the filesystem type.

    Example:
        >>> c = FilesystemCollector(mounts=lambda: "/dev/sda1 / ext4 rw 0 0\\n", statvfs=os.statvfs)
        >>> sorted(f.name for f in c.collect())[0]
        'node_filesystem_avail_bytes'
    """

    def __init__(
        self,
        *,
        mounts: Callable[[], str],
        statvfs: Callable[[str], StatvfsResult] = os.statvfs,
        paths: Paths | None = None,
        mount_points_exclude: str = MOUNT_POINTS_EXCLUDE,
        fs_types_exclude: str = FS_TYPES_EXCLUDE,
    ) -> None:
        self._mounts = mounts
        self._statvfs = statvfs
        self._paths = paths or Paths()
        self._mount_points_exclude = re.compile(mount_points_exclude) if mount_points_exclude else None
        self._fs_types_exclude = re.compile(fs_types_exclude) if fs_types_exclude else None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, statvfs: Callable[[str], StatvfsResult] = os.statvfs
    ) -> FilesystemCollector:
        """Build from the host paths and flags; ``statvfs=`` lets a golden test pass a fake."""
        path = settings.paths.mounts_file()
        return cls(
            mounts=lambda: read_text(path),
            statvfs=statvfs,
            paths=settings.paths,
            mount_points_exclude=settings.flag("filesystem.mount-points-exclude"),
            fs_types_exclude=settings.flag("filesystem.fs-types-exclude"),
        )

    def _selected(self) -> list[tuple[tuple[str, str, str], bool]]:
        """Label sets and read-only flags of the mounts to report, deduplicated, sorted by labels."""
        strip = self._paths.strip_rootfs
        mp_exclude, fs_exclude = self._mount_points_exclude, self._fs_types_exclude
        selected: dict[tuple[str, str, str], bool] = {}
        for mount in parse_mounts(self._mounts()):
            mountpoint = strip(mount.mountpoint)
            if mp_exclude is not None and mp_exclude.search(mountpoint):
                continue
            if fs_exclude is not None and fs_exclude.search(mount.fstype):
                continue
            labels = (mount.device, mount.fstype, mountpoint)
            if labels not in selected:
                selected[labels] = "ro" in mount.options.split(",")
        return sorted(selected.items())

    def collect(self) -> Iterator[Family]:
        avail = Family(
            "node_filesystem_avail_bytes",
            "gauge",
            "Filesystem space available to non-root users in bytes.",
            _LABELS,
        )
        device_error = Family(
            "node_filesystem_device_error",
            "gauge",
            "Whether an error occurred while getting statistics for the given device.",
            _LABELS,
        )
        files = Family("node_filesystem_files", "gauge", "Filesystem total file nodes.", _LABELS)
        files_free = Family(
            "node_filesystem_files_free", "gauge", "Filesystem total free file nodes.", _LABELS
        )
        free = Family("node_filesystem_free_bytes", "gauge", "Filesystem free space in bytes.", _LABELS)
        readonly = Family("node_filesystem_readonly", "gauge", "Filesystem read-only status.", _LABELS)
        size = Family("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.", _LABELS)
        root, statvfs = self._paths.root, self._statvfs
        for labels, ro in self._selected():
            try:
                st = statvfs(root(labels[2]))
            except OSError:
                device_error.add(labels, 1)
                continue
            device_error.add(labels, 0)
            readonly.add(labels, 1 if ro else 0)
            # node_exporter multiplies by f_bsize (Go's Statfs_t.Bsize), not f_frsize.
            bsize = st.f_bsize
            size.add(labels, st.f_blocks * bsize)
            free.add(labels, st.f_bfree * bsize)
            avail.add(labels, st.f_bavail * bsize)
            files.add(labels, st.f_files)
            files_free.add(labels, st.f_ffree)
        yield from (avail, device_error, files, files_free, free, readonly, size)
