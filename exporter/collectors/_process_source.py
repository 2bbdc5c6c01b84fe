"""Where the ``processes`` collector reads processes from: procfs through psutil and a few parsers.

psutil gives identity (``create_time``), the cmdline, I/O and fd counts; ``stat``, ``status`` and
``limits`` are parsed here because psutil has no public API for page faults, ``VmSwap`` or the procfs
NOFILE limit (its ``rlimit`` is a syscall on the pid, wrong when procfs belongs to another pid
namespace), and because each file is then read once. The listing pairs each pid with the inode of its
procfs directory: the kernel makes a new inode for a new process, so a reused pid shows up without
reading anything per pid.

Example:
    >>> parse_limits("Max open files            1024                 4096                 files")
    1024
"""

from __future__ import annotations

import os
from typing import NamedTuple, Protocol

import psutil

from exporter.collectors._registry import read_text

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

#: What reading a process may raise when it vanished, is inaccessible, or a file was torn mid-read.
GONE = (psutil.Error, OSError, ValueError, IndexError)


class Reading(NamedTuple):
    """One process's values in base units; the first eight are counters."""

    cpu_user: float
    cpu_system: float
    read_bytes: float
    write_bytes: float
    major_faults: float
    minor_faults: float
    ctx_voluntary: float
    ctx_nonvoluntary: float
    rss: float
    vms: float
    swap: float
    threads: float
    open_fds: float
    max_fds: float


class StatLine(NamedTuple):
    """The fields of ``/proc/<pid>/stat`` this collector uses (times in ticks, rss in pages)."""

    comm: str
    ppid: int
    minflt: int
    majflt: int
    utime: int
    stime: int
    num_threads: int
    vsize: int
    rss: int


def parse_stat(text: str) -> StatLine:
    """Parse ``/proc/<pid>/stat``; the comm may hold spaces and parentheses."""
    rpar = text.rfind(")")
    f = text[rpar + 2 :].split()
    comm = text[text.find("(") + 1 : rpar]
    # man proc numbers fields from 1; after the comm, field N is at index N - 3.
    return StatLine(comm, *(int(f[i]) for i in (1, 7, 9, 11, 12, 17, 20, 21)))


def parse_status(text: str) -> tuple[int, int, int]:
    """Voluntary and nonvoluntary context switches and ``VmSwap`` bytes from ``/proc/<pid>/status``."""
    vol = nonvol = swap = 0
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key == "VmSwap":
            swap = int(rest.split()[0]) * 1024
        elif key == "voluntary_ctxt_switches":
            vol = int(rest)
        elif key == "nonvoluntary_ctxt_switches":
            nonvol = int(rest)
    return vol, nonvol, swap


def parse_limits(text: str) -> int:
    """The soft ``Max open files`` limit from ``/proc/<pid>/limits``; 0 when unlimited or absent."""
    for line in text.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return 0 if soft == "unlimited" else int(soft)
    return 0


class ProcessHandle(Protocol):
    """One process as the collector sees it; methods raise ``psutil.Error`` or ``OSError`` when gone."""

    def create_time(self) -> float: ...
    def describe(self) -> tuple[str, list[str], int]: ...  # comm, cmdline, ppid
    def read(self) -> Reading: ...


class HostProcess:
    """A live process read through psutil and ``<procfs>/<pid>/{stat,status,limits}``.

    Args:
        pid: the process id.
        procfs: where procfs is mounted (psutil itself follows ``psutil.PROCFS_PATH``).
    """

    __slots__ = ("_dir", "_proc")

    def __init__(self, pid: int, procfs: str = "/proc") -> None:
        self._proc = psutil.Process(pid)
        self._dir = f"{procfs}/{pid}/"

    def create_time(self) -> float:
        return self._proc.create_time()

    def describe(self) -> tuple[str, list[str], int]:
        stat = parse_stat(read_text(self._dir + "stat"))  # the raw comm, as process-exporter matches it
        return stat.comm, self._proc.cmdline(), stat.ppid

    def read(self) -> Reading:
        with self._proc.oneshot():
            st = parse_stat(read_text(self._dir + "stat"))
            vol, nonvol, swap = parse_status(read_text(self._dir + "status"))
            try:
                io = self._proc.io_counters()
                rd, wr = io.read_bytes, io.write_bytes
            except psutil.AccessDenied:  # another user's process: the rest is still readable
                rd = wr = 0
            try:
                fds, limit = self._proc.num_fds(), parse_limits(read_text(self._dir + "limits"))
            except (psutil.AccessDenied, PermissionError):
                fds = limit = 0
        return Reading(
            st.utime / _CLK_TCK, st.stime / _CLK_TCK, rd, wr, st.majflt, st.minflt, vol, nonvol,
            st.rss * _PAGE_SIZE, st.vsize, swap, st.num_threads, fds, limit,
        )  # fmt: skip


def list_procfs(procfs: str = "/proc") -> list[tuple[int, int]]:
    """``(pid, inode)`` of every process; the inode changes when a pid is reused (no per-pid read)."""
    with os.scandir(procfs) as it:
        return [(int(e.name), e.inode()) for e in it if e.name.isdigit()]
