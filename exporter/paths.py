"""Where the exporter reads the host from: ``--path.procfs``, ``--path.sysfs``, ``--path.rootfs``.

Inside a container that watches the host, mount the host's ``/proc``, ``/sys`` and ``/`` read-only
(for example at ``/host/proc``, ``/host/sys``, ``/host/root``) and pass those paths; every collector
reads through a ``Paths`` and never hard-codes ``/proc``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Paths:
    """The three roots a collector may read from.

    Args:
        procfs: mount point of the host's procfs.
        sysfs: mount point of the host's sysfs.
        rootfs: mount point of the host's root filesystem (used to stat mount points).

    Example:
        >>> Paths(procfs="/host/proc").proc("meminfo")
        '/host/proc/meminfo'
        >>> Paths(rootfs="/host/root").strip_rootfs("/host/root/boot")
        '/boot'
    """

    procfs: str = "/proc"
    sysfs: str = "/sys"
    rootfs: str = "/"

    def proc(self, *parts: str) -> str:
        """A path under procfs."""
        return os.path.join(self.procfs, *parts)

    def sys(self, *parts: str) -> str:
        """A path under sysfs."""
        return os.path.join(self.sysfs, *parts)

    def root(self, path: str) -> str:
        """The host path ``path`` as seen from here (prefixed with rootfs)."""
        if self.rootfs in ("", "/"):
            return path
        return os.path.join(self.rootfs, path.lstrip("/"))

    def strip_rootfs(self, path: str) -> str:
        """Turn a mount point seen from here back into the host's path."""
        if self.rootfs in ("", "/"):
            return path
        prefix = self.rootfs.rstrip("/")
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
        return path

    def mounts_file(self) -> str:
        """The host's mount table: ``1/mounts`` when readable (PID 1 sees the host), else ``self/mounts``."""
        first = self.proc("1", "mounts")
        return first if os.access(first, os.R_OK) else self.proc("self", "mounts")
