"""Every request of a run, kept exactly, and its statistics over any time range and request name.

Locust's own percentiles round response times to 2 significant digits before bucketing them; the gates
here read the exact latencies instead. `Samples` keeps one row per request in flat typed arrays:

* memory: **20 bytes per sample** (`BYTES_PER_SAMPLE`: end time and latency as 8-byte floats, the
  request name and the failed flag packed in a 4-byte unsigned int), plus about 6 % of growth headroom;
  that is 72 MB per hour at 1000 req/s. `stats` copies the selected latencies once (8 bytes each) while
  it computes.
* time: `add` is three appends; `stats` scans only the stored blocks whose time range overlaps the one
  asked for, so closing a 10 s window costs the same in the first minute of a soak test as in the tenth
  hour.

In distributed mode every worker `export`s what it collected since its last export with each report to
the master (then forgets it), and the master `merge`s it, so the master's statistics are exactly those of
all requests of all workers.

Example:
    >>> s = Samples()
    >>> for i in range(100):
    ...     s.add(1000.0 + i / 10, "/api/videos/[id]", "GET", float(i + 1), failed=i == 99)
    >>> st = s.stats(start=1000.0, end=1010.0)
    >>> st.requests, st.failures, st.rps, st.error_rate, st.p50, round(st.value("p99.9"), 6)
    (100, 1, 10.0, 0.01, 50.5, 99.901)
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .thresholds import LATENCY_METRICS, OTHER_METRICS

BYTES_PER_SAMPLE = 20  # 8 (end time) + 8 (latency) + 4 (name index << 1 | failed)
_QUANTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)
_FIELDS = {metric: metric.replace(".", "") for metric in LATENCY_METRICS + OTHER_METRICS}
_EXPORT_KEYS = ("names", "t", "latency_ms", "code")
_NAN = math.nan
_CODE_DTYPE = np.dtype(
    f"u{array('I').itemsize}"
)  # the C unsigned int: 4 bytes on every platform numpy supports


@dataclass(frozen=True)
class Stats:
    """Statistics of the requests in one time range: counts, rates and exact latency percentiles (ms).

    Latency fields and ``error_rate`` are NaN when there were no requests; ``rps`` is 0 then.
    Percentiles are ``numpy.percentile(..., method="linear")`` over the exact latencies.
    """

    requests: int
    failures: int
    rps: float
    error_rate: float
    avg: float
    min: float
    max: float
    p50: float
    p75: float
    p90: float
    p95: float
    p99: float
    p999: float

    def value(self, metric: str) -> float:
        """A threshold metric by its name: ``"p95"``, ``"p99.9"`` (the field ``p999``), ``"rps"``, ...

        Example:
            >>> Samples().stats(start=0, end=1).value("rps")
            0.0
        """
        try:
            return float(getattr(self, _FIELDS[metric]))
        except KeyError:
            raise ValueError(f"unknown metric {metric!r}, expected one of {', '.join(_FIELDS)}") from None


class _Block:
    """Samples sealed by a `Samples.stats` call: never appended to again, so numpy can view them."""

    __slots__ = ("code", "first", "last", "latency", "t")

    def __init__(self, t: array[float], latency: array[float], code: array[int]) -> None:
        self.t = np.frombuffer(t, dtype=np.float64)
        self.latency = np.frombuffer(latency, dtype=np.float64)
        self.code = np.frombuffer(code, dtype=_CODE_DTYPE)
        self.first = float(self.t.min())
        self.last = float(self.t.max())


class Samples:
    """Every request: unix time it ended, name, method, latency ms, failed. Append-only, compact (array('d')).

    Use one per run; the load generator adds each request as it ends. See the module docstring for its
    cost (20 bytes a sample) and for distributed runs (`export` on workers, `merge` on the master).

    Example:
        >>> s = Samples()
        >>> s.add(10.5, "/healthz", "GET", 12.0, failed=False)
        >>> len(s), s.names(), s.stats().avg
        (1, [('GET', '/healthz')], 12.0)
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], int] = {}  # (method, name) -> index into _names
        self._names: list[tuple[str, str]] = []
        self._blocks: list[_Block] = []
        self._new()

    def _new(self) -> None:
        self._t: array[float] = array("d")
        self._latency: array[float] = array("d")
        self._code: array[int] = array("I")

    def _key(self, method: str, name: str) -> int:
        key = self._keys.get((method, name))
        if key is None:
            key = self._keys[(method, name)] = len(self._names)
            self._names.append((method, name))
        return key

    def add(self, t: float, name: str, method: str, latency_ms: float, failed: bool) -> None:
        """Record one request that ended at unix time ``t`` and took ``latency_ms`` milliseconds."""
        key = self._keys.get((method, name))
        if key is None:
            key = self._key(method, name)
        self._t.append(t)
        self._latency.append(latency_ms)
        self._code.append(key << 1 | failed)

    def __len__(self) -> int:
        return sum(len(block.t) for block in self._blocks) + len(self._t)

    @property
    def nbytes(self) -> int:
        """Bytes the stored samples take (without the arrays' growth headroom): 20 per sample."""
        return len(self) * BYTES_PER_SAMPLE

    def names(self) -> list[tuple[str, str]]:
        """Every ``(method, name)`` seen, sorted."""
        return sorted(self._names)

    def _seal(self) -> list[_Block]:
        if self._t:
            self._blocks.append(_Block(self._t, self._latency, self._code))
            self._new()
        return self._blocks

    def _matching(self, name: str) -> npt.NDArray[np.int64]:
        """Name indices for ``name``: requests called so, or ``METHOD name`` for one method."""
        keys = [i for i, (method, n) in enumerate(self._names) if name in (n, f"{method} {n}")]
        return np.array(keys, dtype=np.int64)

    def stats(self, name: str | None = None, start: float | None = None, end: float | None = None) -> Stats:
        """Statistics of the requests that ended in ``[start, end)``, all of them or those called ``name``.

        Args:
            name: a request name (``/api/videos/[id]``, every method) or ``METHOD name``; None for all.
            start: unix time, inclusive; None for no lower bound.
            end: unix time, exclusive; None for no upper bound.

        ``rps`` is requests / (end - start); for the whole run pass the run's start and the time it
        ended. A missing bound is taken from the samples (first and last end time), which
        undercounts the duration by the first requests' latency.
        """
        wanted = None if name is None else self._matching(name)
        latencies, failures, first, last = [], 0, math.inf, -math.inf
        for block in self._seal():
            if (start is not None and block.last < start) or (end is not None and block.first >= end):
                continue
            mask = np.ones(len(block.t), dtype=bool)
            if start is not None and block.first < start:
                mask &= block.t >= start
            if end is not None and block.last >= end:
                mask &= block.t < end
            if wanted is not None:
                mask &= np.isin(block.code >> 1, wanted)
            if not mask.any():
                continue
            latencies.append(block.latency[mask])
            failures += int(np.count_nonzero(block.code[mask] & 1))
            if start is None or end is None:
                t = block.t[mask]
                first, last = min(first, float(t.min())), max(last, float(t.max()))
        latency = np.concatenate(latencies) if latencies else np.empty(0)
        return _stats(latency, failures, first if start is None else start, last if end is None else end)

    def export(self) -> dict[str, Any]:
        """Everything added since the last export, as JSON- and msgpack-safe lists; then forgets it.

        A worker sends this with each report to the master, which passes it to `merge`. The keys:
        ``names`` (``[method, name]`` pairs), ``t`` and ``latency_ms`` (floats) and ``code`` (per
        sample, the index into ``names`` shifted left by one, or'ed with 1 when the request failed).

        Example:
            >>> worker, master = Samples(), Samples()
            >>> worker.add(1.0, "/a", "GET", 5.0, failed=True)
            >>> master.merge(worker.export())
            >>> len(worker), len(master), master.stats().failures
            (0, 1, 1)
        """
        blocks, self._blocks = self._seal(), []
        return {
            "names": [[method, name] for method, name in self._names],
            "t": _joined([block.t for block in blocks]),
            "latency_ms": _joined([block.latency for block in blocks]),
            "code": _joined([block.code for block in blocks]),
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add another store's `export` (the master adds each worker's); all or nothing.

        Raises ValueError with one line when ``data`` is not an export.
        """
        if not isinstance(data, dict) or set(data) != set(_EXPORT_KEYS):
            raise ValueError(f"samples export: expected a mapping with keys {', '.join(_EXPORT_KEYS)}")
        names, code = data["names"], data["code"]
        if not isinstance(names, list) or not all(
            isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
            for pair in names
        ):
            raise ValueError("samples export: names: expected a list of [method, name] pairs of strings")
        try:
            t, latency = array("d", data["t"]), array("d", data["latency_ms"])
            codes = np.array(code, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("samples export: t, latency_ms and code: expected lists of numbers") from None
        if codes.ndim != 1 or not len(t) == len(latency) == len(codes):
            raise ValueError("samples export: t, latency_ms and code: expected lists of the same length")
        if len(codes) and (codes.min() < 0 or codes.max() >> 1 >= len(names)):
            raise ValueError("samples export: code: a name index is out of range")
        mapping = np.array([self._key(method, name) for method, name in names], dtype=np.int64)
        if len(codes):
            codes = (mapping[codes >> 1] << 1) | (codes & 1)
        self._t.extend(t)
        self._latency.extend(latency)
        self._code.frombytes(codes.astype(_CODE_DTYPE).tobytes())


def _joined(parts: list[npt.NDArray[Any]]) -> list[Any]:
    return np.concatenate(parts).tolist() if parts else []


def _stats(latency: npt.NDArray[np.float64], failures: int, first: float, last: float) -> Stats:
    requests = len(latency)
    duration = last - first
    rps = requests / duration if duration > 0 else (0.0 if requests == 0 else _NAN)
    if not requests:
        return Stats(0, 0, rps, _NAN, *([_NAN] * 9))
    latency.sort()  # a copy already: the mean is then the same whatever order the samples came in
    p50, p75, p90, p95, p99, p999 = (float(v) for v in np.percentile(latency, _QUANTILES, method="linear"))
    return Stats(
        requests,
        failures,
        rps,
        failures / requests,
        float(latency.sum() / requests),
        float(latency[0]),
        float(latency[-1]),
        p50,
        p75,
        p90,
        p95,
        p99,
        p999,
    )
