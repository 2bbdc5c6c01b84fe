"""prometheus_client's multiprocess files, written from a MetricSet's samples; the per-worker process data.

A file ``<prefix>_<pid>.db`` (``counter``, ``histogram``, ``summary``, ``gauge_<mode>``) is a
``prometheus_client.mmap_dict.MmapedDict``: ``mmap_key(metric_name, sample_name, labelnames,
labelvalues, help)`` to ``(value, timestamp)``. Counters are keyed ``<base>`` / ``<base>_total``;
histograms hold non-cumulative bucket counts (``<name>_bucket`` with an ``le`` label formatted by
``floatToGoString``) and ``<name>_sum``, never ``_count``; prometheus_client's own tools read them.
The pid ``archive`` holds what dead workers left (see `_mpstore`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.utils import floatToGoString

# prometheus_client's MmapedDict and floatToGoString are not annotated: typed once, here.
_MMAP: Any = MmapedDict
float_to_go: Callable[[float], str] = floatToGoString

GAUGE_MODES = frozenset(
    ("all", "liveall", "livesum", "livemax", "livemin", "max", "min", "sum", "mostrecent", "livemostrecent")
)
CUMULATIVE = frozenset(("counter", "histogram", "summary"))  # only grow: a fork baseline is subtracted
ARCHIVE = "archive"

Snapshot = dict[str, dict[str, float]]  # file prefix -> mmap key -> value
Entries = dict[str, tuple[float, float]]  # mmap key -> (value, timestamp)

PROCESS_HELP = {
    "process_worker_cpu_seconds": "User and system CPU time this worker process has used, in seconds.",
    "process_worker_open_fds": "File descriptors this worker process has open.",
    "process_worker_resident_memory_bytes": "Resident memory of this worker process, in bytes.",
    "process_worker_start_time_seconds": "When this worker process started, in seconds since the epoch.",
}


@dataclass(frozen=True, slots=True)
class DbFile:
    """One ``.db`` file of the directory: ``gauge_livesum_123.db`` has prefix ``gauge_livesum``."""

    name: str
    prefix: str
    kind: str  # counter, gauge, histogram, summary
    mode: str  # the gauge's multiprocess mode, "" for the others
    pid: int | None  # None for an archive


def parse_name(name: str) -> DbFile | None:
    """The `DbFile` for a file name, or None when it is not one of the multiprocess files."""
    if not name.endswith(".db"):
        return None
    parts = name[:-3].split("_")
    kind = parts[0]
    if kind == "gauge" and len(parts) == 3 and parts[1] in GAUGE_MODES:
        mode = parts[1]
    elif kind in CUMULATIVE and len(parts) == 2:
        mode = ""
    else:
        return None
    last = parts[-1]
    if last == ARCHIVE:
        pid = None
    elif last.isdigit() and int(last) > 0:
        pid = int(last)
    else:
        return None
    return DbFile(name, "_".join(parts[:-1]), kind, mode, pid)


def pid_alive(pid: int, kill: Callable[[int, int], None] = os.kill) -> bool:
    """Whether process ``pid`` exists; one of another user (EPERM) exists too."""
    try:
        kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_entries(path: str) -> list[tuple[str, float, float]]:
    """Every ``(key, value, timestamp)`` of a file; none when the file is gone."""
    try:
        return [(key, value, ts) for key, value, ts, _ in _MMAP.read_all_values_from_file(path)]
    except FileNotFoundError:
        return []


def write_entries(path: str, entries: Mapping[str, tuple[float, float]]) -> None:
    """Write ``entries`` to a new file ``path`` (the caller renames it into place)."""
    db = _MMAP(path)
    try:
        for key, (value, ts) in entries.items():
            db.write_value(key, value, ts)
    finally:
        db.close()


class FileWriter:
    """This process's open files, ``<prefix>_<pid>.db``; writes only the values that changed."""

    def __init__(self, directory: str, pid: int) -> None:
        self.directory, self.pid = directory, pid
        self._files: dict[str, Any] = {}
        self._written: dict[tuple[str, str], tuple[float, float]] = {}

    def write(self, files: Mapping[str, Entries]) -> None:
        """Write every entry of every prefix (``{"counter": {key: (value, ts)}}``)."""
        for prefix, entries in files.items():
            db = self._files.get(prefix)
            if db is None:
                path = os.path.join(self.directory, f"{prefix}_{self.pid}.db")
                db = self._files[prefix] = _MMAP(path)
            written = self._written
            for key, pair in entries.items():
                if written.get((prefix, key)) != pair:
                    db.write_value(key, pair[0], pair[1])
                    written[prefix, key] = pair

    def close(self) -> None:
        """Unmap and close the files (they stay on disk)."""
        for db in self._files.values():
            db.close()
        self._files.clear()
        self._written.clear()


class KeyCache:
    """``mmap_key`` strings by (metric, sample, labels): json.dumps once per series, not per flush."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}

    def key(self, metric: Metric, sample: str, labels: Mapping[str, str]) -> str:
        """The file key of one sample of ``metric``."""
        ident = (metric.name, sample, tuple(labels.items()))
        key = self._keys.get(ident)
        if key is None:
            if len(self._keys) > 500_000:  # bounded: the families' label caps keep it far below this
                self._keys.clear()
            key = mmap_key(metric.name, sample, list(labels), list(labels.values()), metric.documentation)
            self._keys[ident] = key
        return key


def snapshot(metrics: Iterable[Metric], modes: Mapping[str, str], keys: KeyCache) -> Snapshot:
    """Collected families as file entries, by prefix; gauges go to ``gauge_<modes[name]>``.

    Counters keep ``_total``, summaries ``_count`` and ``_sum``, histograms their buckets made
    non-cumulative and ``_sum``; ``_created``, quantiles and other types are not published.
    """
    out: Snapshot = {}
    for metric in metrics:
        kind = metric.type
        if kind == "gauge":
            mode = modes.get(metric.name, "livesum")
            if mode not in GAUGE_MODES:
                raise ValueError(f"gauge {metric.name!r}: unknown multiprocess_mode {mode!r}")
            file = out.setdefault(f"gauge_{mode}", {})
            for s in metric.samples:
                file[keys.key(metric, s.name, s.labels)] = s.value
        elif kind in ("counter", "summary"):
            wanted = (
                {metric.name + "_total"}
                if kind == "counter"
                else {metric.name + "_count", metric.name + "_sum"}
            )
            file = out.setdefault(kind, {})
            for s in metric.samples:
                if s.name in wanted:
                    file[keys.key(metric, s.name, s.labels)] = s.value
        elif kind == "histogram":
            _histogram(metric, out.setdefault("histogram", {}), keys)
    return out


def _histogram(metric: Metric, file: dict[str, float], keys: KeyCache) -> None:
    buckets: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for s in metric.samples:
        if s.name == metric.name + "_bucket":
            rest = tuple((k, v) for k, v in s.labels.items() if k != "le")
            buckets.setdefault(rest, []).append((float(s.labels["le"]), s.value))
        elif s.name == metric.name + "_sum":
            file[keys.key(metric, s.name, s.labels)] = s.value
    for rest, bounds in buckets.items():
        previous = 0.0
        for bound, cumulative in sorted(bounds):
            labels = {**dict(rest), "le": float_to_go(bound)}
            file[keys.key(metric, metric.name + "_bucket", labels)] = cumulative - previous
            previous = cumulative


def parse_process(stat: str, statm: str, *, btime: float, ticks: float, page_size: int) -> dict[str, float]:
    """CPU seconds, start time and resident bytes from ``/proc/<pid>/stat`` and ``statm`` text.

    Example:
        >>> stat = "42 (gunicorn: worker) S 1 42 42 0 -1 0 0 0 0 0 150 50 " + "0 " * 7 + "9000 1 2"
        >>> values = parse_process(stat, "2000 512 100", btime=1.7e9, ticks=100.0, page_size=4096)
        >>> values["process_worker_cpu_seconds"], values["process_worker_resident_memory_bytes"]
        (2.0, 2097152.0)
    """
    fields = stat.rsplit(")", 1)[1].split()  # after the command, which may hold spaces and ")"
    return {
        "process_worker_cpu_seconds": (float(fields[11]) + float(fields[12])) / ticks,
        "process_worker_start_time_seconds": btime + float(fields[19]) / ticks,
        "process_worker_resident_memory_bytes": float(int(statm.split()[1]) * page_size),
    }


_BTIME: list[float] = []


def read_process(proc: str = "/proc") -> dict[str, float]:
    """This process's `PROCESS_HELP` values from ``proc``; none where there is no procfs (macOS)."""
    try:
        if not _BTIME:
            with open(os.path.join(proc, "stat")) as f:
                _BTIME.extend(float(line.split()[1]) for line in f if line.startswith("btime "))
        with open(os.path.join(proc, "self", "stat")) as f:
            stat = f.read()
        with open(os.path.join(proc, "self", "statm")) as f:
            statm = f.read()
        fds = len(os.listdir(os.path.join(proc, "self", "fd")))
    except OSError:
        return {}
    values = parse_process(
        stat,
        statm,
        btime=_BTIME[0] if _BTIME else 0.0,
        ticks=os.sysconf("SC_CLK_TCK"),
        page_size=os.sysconf("SC_PAGE_SIZE"),
    )
    values["process_worker_open_fds"] = float(fds)
    return values


_PROCESS_KEYS = {name: mmap_key(name, name, [], [], text) for name, text in PROCESS_HELP.items()}


def process_entries(values: Mapping[str, float]) -> dict[str, float]:
    """The per-worker process values as ``gauge_liveall`` entries (the reader adds ``pid``)."""
    return {_PROCESS_KEYS[name]: value for name, value in values.items()}
