"""The shared directory: its lock, compaction of dead workers' files into archives, and aggregation.

Compaction runs under an exclusive ``flock`` on ``multiprocess.lock``, reading under a shared one, so
a reader sees a dead worker's values exactly once: in its files or in the archives, never both. It
is crash-safe too (a scraping worker may be SIGKILLed by gunicorn's timeout): the new archives are
written as ``*.db.tmp``, then ``compaction.journal`` names the renames and deletions to make, and
whoever next takes the lock finishes a journal it finds before doing anything else.

What a dead pid's files become, by prefix (the public module's docstring says why):
``counter``, ``histogram``, ``summary``, ``gauge_sum`` summed into ``<prefix>_archive.db``;
``gauge_max`` / ``gauge_min`` / ``gauge_mostrecent`` keep the max / min / newest there;
``gauge_all`` and ``gauge_live*`` deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from prometheus_client.metrics_core import Metric

from exporter.instrumentation._mpfiles import (
    DbFile,
    Entries,
    float_to_go,
    parse_name,
    read_entries,
    write_entries,
)

LOCK = "multiprocess.lock"
JOURNAL = "compaction.journal"

Pair = tuple[float, float]  # (value, timestamp)


def _summed(a: Pair, b: Pair) -> Pair:
    return a[0] + b[0], max(a[1], b[1])


_COMBINE: dict[str, Callable[[Pair, Pair], Pair]] = {
    "counter": _summed,
    "histogram": _summed,
    "summary": _summed,
    "gauge_sum": _summed,
    "gauge_max": lambda a, b: b if b[0] > a[0] else a,
    "gauge_min": lambda a, b: b if b[0] < a[0] else a,
    "gauge_mostrecent": lambda a, b: b if b[1] > a[1] else a,
}


def list_files(directory: str) -> tuple[list[DbFile], bool]:
    """The multiprocess files in ``directory``, and whether an unfinished journal is there."""
    names = os.listdir(directory)
    files = [f for f in map(parse_name, names) if f is not None]
    return files, JOURNAL in names


@contextlib.contextmanager
def locked(directory: str, *, exclusive: bool) -> Iterator[int]:
    """Hold the directory's lock (its own open file, so threads of one process exclude each other too)."""
    fd = os.open(os.path.join(directory, LOCK), os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
    finally:
        os.close(fd)  # releases the lock


def compact(directory: str, dead: Callable[[int], bool]) -> int:
    """Fold the files of every pid for which ``dead(pid)`` into the archives; the caller holds it exclusive.

    Returns how many files were folded or deleted.
    """
    finish_journal(directory)
    plan = commit(directory, dead)
    finish_journal(directory)
    return len(plan["delete"])


def commit(directory: str, dead: Callable[[int], bool]) -> dict[str, list[Any]]:
    """Write the new archives as ``*.db.tmp`` and commit the journal of renames and deletions; its plan."""
    files, _ = list_files(directory)
    doomed = {f.pid for f in files if f.pid is not None and dead(f.pid)}
    gone = [f for f in files if f.pid in doomed]
    plan: dict[str, list[Any]] = {"rename": [], "delete": [f.name for f in gone]}
    if not gone:
        return plan
    for name in os.listdir(directory):  # leftovers of a compaction that died before its journal
        if name.endswith(".db.tmp"):
            os.remove(os.path.join(directory, name))
    for prefix in sorted({f.prefix for f in gone}):
        combine = _COMBINE.get(prefix)
        if combine is None:  # gauge_all and gauge_live*: deleted
            continue
        archive = f"{prefix}_archive.db"
        merged: Entries = {}
        for name in [archive, *(f.name for f in gone if f.prefix == prefix)]:
            for key, value, ts in read_entries(os.path.join(directory, name)):
                old = merged.get(key)
                merged[key] = (value, ts) if old is None else combine(old, (value, ts))
        write_entries(os.path.join(directory, archive + ".tmp"), merged)
        plan["rename"].append([archive + ".tmp", archive])
    journal = os.path.join(directory, JOURNAL)
    with open(journal + ".tmp", "w") as out:
        json.dump(plan, out)
    os.replace(journal + ".tmp", journal)  # the commit point
    return plan


def finish_journal(directory: str) -> None:
    """Finish the renames and deletions a compaction committed to; the caller holds it exclusive."""
    journal = os.path.join(directory, JOURNAL)
    try:
        with open(journal) as f:
            plan = json.load(f)
    except FileNotFoundError:
        return
    for source, target in plan["rename"]:
        with contextlib.suppress(FileNotFoundError):  # already renamed before the interruption
            os.replace(os.path.join(directory, source), os.path.join(directory, target))
    for name in plan["delete"]:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(directory, name))
    os.remove(journal)


class _Key(NamedTuple):
    metric: str
    sample: str
    labels: tuple[tuple[str, str], ...]  # sorted, as prometheus_client's reader keys them
    help: str
    le: float | None  # a histogram bucket's bound
    series: tuple[tuple[str, str], ...]  # the labels without le


class _Family:
    __slots__ = ("buckets", "help", "kind", "stamps", "values")

    def __init__(self, kind: str, help_text: str) -> None:
        self.kind, self.help = kind, help_text
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.stamps: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.buckets: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}


class Aggregator:
    """Reads files into families as prometheus_client's MultiProcessCollector does; caches parsed keys."""

    def __init__(self) -> None:
        self._keys: dict[str, _Key] = {}

    def _parse(self, key: str) -> _Key:
        metric, sample, labels, help_text = json.loads(key)
        items = tuple(sorted(labels.items()))
        le = float(labels["le"]) if "le" in labels and sample.endswith("_bucket") else None
        series = tuple(i for i in items if i[0] != "le") if le is not None else items
        if len(self._keys) > 500_000:
            self._keys.clear()
        parsed = self._keys[key] = _Key(metric, sample, items, help_text, le, series)
        return parsed

    def read(self, directory: str, files: list[DbFile]) -> list[Metric]:
        """The families in ``files``, sorted by name, histograms made cumulative with ``_count``."""
        families: dict[str, _Family] = {}
        for file in files:
            kind, mode = file.kind, file.mode
            pid = (("pid", str(file.pid) if file.pid is not None else "archive"),)
            for raw, value, ts in read_entries(os.path.join(directory, file.name)):
                k = self._keys.get(raw) or self._parse(raw)
                fam = families.get(k.metric)
                if fam is None:
                    fam = families[k.metric] = _Family(kind, k.help)
                if kind == "histogram" and k.le is not None:
                    bounds = fam.buckets.setdefault(k.series, {})
                    bounds[k.le] = bounds.get(k.le, 0.0) + value
                elif kind != "gauge" or mode in ("sum", "livesum"):
                    ident = (k.sample, k.labels)
                    fam.values[ident] = fam.values.get(ident, 0.0) + value
                elif mode in ("all", "liveall"):
                    fam.values[k.sample, k.labels + pid] = value
                else:
                    _gauge(fam, mode, (k.sample, k.labels), value, ts)
        return [_build(name, families[name]) for name in sorted(families)]


def _gauge(
    fam: _Family, mode: str, ident: tuple[str, tuple[tuple[str, str], ...]], value: float, ts: float
) -> None:
    current = fam.values.get(ident)
    if mode.endswith("mostrecent"):
        if ts > fam.stamps.get(ident, 0.0):  # as prometheus_client: never-set (timestamp 0) values lose
            fam.values[ident], fam.stamps[ident] = value, ts
    elif current is None or (value > current if mode.endswith("max") else value < current):
        fam.values[ident] = value


def _build(name: str, fam: _Family) -> Metric:
    metric = Metric(name, fam.help, fam.kind)
    for series, bounds in sorted(fam.buckets.items()):
        running = 0.0
        for bound in sorted(bounds):
            running += bounds[bound]
            metric.add_sample(f"{name}_bucket", {**dict(series), "le": float_to_go(bound)}, running)
        metric.add_sample(f"{name}_count", dict(series), running)
    for (sample, labels), value in sorted(fam.values.items()):
        metric.add_sample(sample, dict(labels), value)
    return metric
