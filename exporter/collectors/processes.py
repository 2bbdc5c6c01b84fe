"""``processes``: named process groups with process-exporter's ``namedprocess_namegroup_*`` metrics.

Groups come from a process-exporter YAML file (``--collector.processes.config``) and/or quick
``NAME=REGEX`` flags (``--collector.processes.group``); the first matching rule names a process, and
every configured group is exported, with ``num_procs`` 0 when it has no processes. With no groups the
collector reads nothing. Each scrape lists procfs once, classifies only new pids (cached by
``(pid, create_time)``, so a reused pid is classified again) and reads only the matched processes.
Counters stay monotonic: an exited process's last values are folded into its group's total.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from exporter._families import Family
from exporter.collectors._process_rules import ConfigError, Rule, load_config, parse_config, parse_group
from exporter.collectors._process_source import GONE, HostProcess, ProcessHandle, Reading, list_procfs
from exporter.collectors._registry import Flag, Settings, register_collector

__all__ = [
    "ConfigError",
    "HostProcess",
    "ProcessHandle",
    "ProcessesCollector",
    "Reading",
    "Rule",
    "list_procfs",
    "load_config",
    "parse_config",
    "parse_group",
]

_NCOUNTERS = 8


@dataclass(slots=True)
class _Tracked:
    hint: int
    start: float
    ppid: int
    group: str | None
    handle: ProcessHandle | None = None
    last: tuple[float, ...] | None = None  # last counter values, folded into the group when it exits


class _Group:
    """One group's samples for one scrape: accumulated counters plus the live processes."""

    __slots__ = ("counters", "fds", "oldest", "procs", "rss", "swap", "threads", "vms", "worst")

    def __init__(self, accumulated: list[float]) -> None:
        self.counters = list(accumulated)
        self.procs = 0
        self.rss = self.vms = self.swap = self.threads = self.fds = self.worst = self.oldest = 0.0

    def add(self, r: Reading, start: float) -> None:
        self.procs += 1
        self.rss, self.vms, self.swap = self.rss + r.rss, self.vms + r.vms, self.swap + r.swap
        self.threads, self.fds = self.threads + r.threads, self.fds + r.open_fds
        if r.max_fds:
            self.worst = max(self.worst, r.open_fds / r.max_fds)
        self.oldest = min(self.oldest, start) if self.oldest else start


@register_collector(
    "processes",
    help="Named process groups (process-exporter's namedprocess_namegroup_* metrics).",
    flags=[
        Flag(
            "processes.config",
            default="",
            help="process-exporter YAML file with process_names.",
            metavar="FILE",
        ),
        Flag(
            "processes.group",
            default=[],
            repeatable=True,
            help="Quick group NAME=REGEX on the cmdline.",
            metavar="NAME=REGEX",
        ),
        Flag("processes.children", default=True, help="Count children of a matched process in its group."),
    ],
)
class ProcessesCollector:
    """Yield ``namedprocess_namegroup_*`` for every configured group, even with no processes.

    Args:
        rules: the groups, first match wins (``load_config`` and ``parse_group`` build them).
        children: put unmatched new processes in the group of their nearest matched ancestor.
        listing: returns ``(pid, hint)`` pairs; a changed hint means the pid may have been reused.
        open_process: opens one pid (raises ``psutil.Error``/``OSError`` when it is gone).

    Example:
        >>> c = ProcessesCollector(rules=[parse_group("api=uvicorn")], listing=lambda: [])
        >>> c.collect()[0].samples  # num_procs of a group with no processes yet
        [(('api',), 0)]
    """

    def __init__(
        self,
        *,
        rules: Sequence[Rule] = (),
        children: bool = True,
        listing: Callable[[], Iterable[tuple[int, int]]] = list_procfs,
        open_process: Callable[[int], ProcessHandle] = HostProcess,
    ) -> None:
        self._rules = tuple(rules)
        self._children = children
        self._list = listing
        self._open = open_process
        self._lock = threading.Lock()  # scrapes for different collector sets may overlap
        self._procs: dict[int, _Tracked] = {}
        self._accum: dict[str, list[float]] = {}
        for rule in self._rules:
            if all(kind == "" for kind, _ in rule.name):  # a fixed name is known before any match
                self._accum.setdefault("".join(v for _, v in rule.name), [0.0] * _NCOUNTERS)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProcessesCollector:
        path = settings.flag("processes.config")
        rules = load_config(path) if path else []
        rules += [parse_group(v) for v in settings.flag("processes.group") or ()]
        procfs = settings.paths.procfs
        return cls(
            rules=rules,
            children=bool(settings.flag("processes.children")),
            listing=lambda: list_procfs(procfs),
            open_process=lambda pid: HostProcess(pid, procfs),
        )

    def collect(self) -> list[Family]:
        if not self._rules:
            return []
        with self._lock:
            return _export(self._scan())

    def _drop(self, pid: int) -> None:
        t = self._procs.pop(pid)
        if t.group is not None and t.last is not None:
            acc = self._accum[t.group]
            for i, v in enumerate(t.last):
                acc[i] += v

    def _identify(self, pid: int, hint: int, old: _Tracked | None) -> _Tracked | None:
        try:
            handle = self._open(pid)
            start = handle.create_time()
        except GONE:
            return None
        if old is not None:
            if old.start == start:  # same process, its procfs inode was only recycled
                old.hint = hint
                return None
            self._drop(pid)  # pid reused
        try:
            comm, cmdline, ppid = handle.describe()
        except GONE:
            comm, cmdline, ppid = "", [], 0  # unreadable: cached as unmatched, not retried per scrape
        group = next((g for r in self._rules if (g := r.match(comm, cmdline)) is not None), None)
        t = self._procs[pid] = _Tracked(hint, start, ppid, group, handle)
        if group is not None:
            self._accum.setdefault(group, [0.0] * _NCOUNTERS)
        return t

    def _adopt(self, new: dict[int, _Tracked]) -> None:
        """process-exporter's ``-children``: an unmatched new process joins its nearest matched ancestor."""
        for t in new.values():
            if t.group is not None:
                continue
            ppid, parent = t.ppid, None
            for _ in range(64):  # walk up through processes that are new in this scrape too
                parent = self._procs.get(ppid)
                if parent is None or parent.group is not None or ppid not in new:
                    break
                ppid = parent.ppid
            if parent is not None and parent.group is not None:
                t.group = parent.group

    def _scan(self) -> dict[str, _Group]:
        listing = dict(self._list())
        procs = self._procs
        for pid in [p for p in procs if p not in listing]:
            self._drop(pid)
        new: dict[int, _Tracked] = {}
        for pid, hint in listing.items():
            old = procs.get(pid)
            if old is None or old.hint != hint:
                t = self._identify(pid, hint, old)
                if t is not None:
                    new[pid] = t
        if self._children:
            self._adopt(new)
        for t in new.values():
            if t.group is None:
                t.handle = None  # unmatched: keep only the classification
        groups = {name: _Group(acc) for name, acc in self._accum.items()}
        for t in procs.values():
            if t.group is None or t.handle is None:
                continue
            g = groups[t.group]
            try:
                r = t.handle.read()
            except GONE:  # vanished or inaccessible mid-read: skipped, its last counters still count
                r = None
            if r is not None:
                now = r[:_NCOUNTERS]  # a process's own counters never go back, even on a torn read
                t.last = now if t.last is None else tuple(map(max, t.last, now))
                g.add(r, t.start)
            if t.last is not None:
                g.counters = [a + b for a, b in zip(g.counters, t.last, strict=True)]
        return groups


def _export(groups: dict[str, _Group]) -> list[Family]:
    gn = ("groupname",)
    procs = Family("namedprocess_namegroup_num_procs", "gauge", "number of processes in this group", gn)
    cpu = Family(
        "namedprocess_namegroup_cpu_seconds_total", "counter", "Cpu user usage in seconds", (*gn, "mode")
    )
    rd = Family(
        "namedprocess_namegroup_read_bytes_total", "counter", "number of bytes read by this group", gn
    )
    wr = Family(
        "namedprocess_namegroup_write_bytes_total", "counter", "number of bytes written by this group", gn
    )
    majf = Family("namedprocess_namegroup_major_page_faults_total", "counter", "Major page faults", gn)
    minf = Family("namedprocess_namegroup_minor_page_faults_total", "counter", "Minor page faults", gn)
    ctx = Family(
        "namedprocess_namegroup_context_switches_total", "counter", "Context switches", (*gn, "ctxswitchtype")
    )
    mem = Family(
        "namedprocess_namegroup_memory_bytes", "gauge", "number of bytes of memory in use", (*gn, "memtype")
    )
    thr = Family("namedprocess_namegroup_num_threads", "gauge", "Number of threads", gn)
    fds = Family(
        "namedprocess_namegroup_open_filedesc", "gauge", "number of open file descriptors for this group", gn
    )
    worst = Family(
        "namedprocess_namegroup_worst_fd_ratio", "gauge",
        "the worst (closest to 1) ratio between open fds and max fds among all procs in this group", gn,
    )  # fmt: skip
    start = Family(
        "namedprocess_namegroup_oldest_start_time_seconds", "gauge",
        "start time in seconds since 1970/01/01 of oldest process in group", gn,
    )  # fmt: skip
    for name in sorted(groups):
        g, key = groups[name], (name,)
        c = g.counters
        procs.add(key, g.procs)
        cpu.add((name, "user"), c[0])
        cpu.add((name, "system"), c[1])
        rd.add(key, c[2])
        wr.add(key, c[3])
        majf.add(key, c[4])
        minf.add(key, c[5])
        ctx.add((name, "voluntary"), c[6])
        ctx.add((name, "nonvoluntary"), c[7])
        mem.add((name, "resident"), g.rss)
        mem.add((name, "virtual"), g.vms)
        mem.add((name, "swapped"), g.swap)
        thr.add(key, g.threads)
        fds.add(key, g.fds)
        worst.add(key, g.worst)
        start.add(key, int(g.oldest))  # whole seconds, as process-exporter's time.Unix()
    return [procs, cpu, rd, wr, majf, minf, ctx, mem, thr, fds, worst, start]
