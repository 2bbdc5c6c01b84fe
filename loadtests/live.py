"""The load generator's live Prometheus metrics: exact request counts, a latency histogram, the gates.

While a run lasts, the master (or the single local process) serves these on ``--metrics-port``
(9646, the ``loadgen`` job of ``alerting/prometheus.yml``), so Grafana and Prometheus watch a load test
as it happens:

- ``loadtest_requests_total{method,name}``, ``loadtest_failures_total{method,name}``: every request,
  across all workers;
- ``loadtest_request_duration_seconds{method,name}``: a histogram with a bucket at exactly 2.0 s (the
  p95 SLO);
- ``loadtest_users``, ``loadtest_workers``: running users; processes generating load (1 when local);
- ``loadtest_threshold_value{threshold,scope}``, ``loadtest_threshold_passed{threshold,scope}``: each
  gate over the last closed window (``scope="window"``) and over the run so far (``scope="run"``);
- ``loadtest_threshold_limit{threshold}``; ``loadtest_verdict``: 1 while (and once) the run passes;
- ``loadtest_run_start_timestamp_seconds``, ``loadtest_run_info{shape,host}``.

Counting happens where requests end, in an `Aggregate` (a count, a failure count, bucket counts and a
sum per ``(method, name)``): a worker drains its aggregate into every report to the master and the
master merges it, so the counts are exact sums over the workers, and the same requests that land in
the run's samples. Families are built at scrape time (`LiveMetrics.collect`); nothing is registered on
the global registry. With ``--grafana-url``, the start and the end of a run are also posted as Grafana
annotations (`annotate`), tagged ``loadtest``, so every dashboard shows when a load test ran.
"""

from __future__ import annotations

import json
import math
import urllib.request
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from exporter.instrumentation import DEFAULT_BUCKETS

__all__ = ["Aggregate", "LiveMetrics", "MetricsServer", "annotate", "serve"]


class _Result(Protocol):
    """What `LiveMetrics.set_results` reads of a `loadtests.gates.Result`."""

    @property
    def threshold(self) -> Any: ...
    @property
    def scope(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def passed(self) -> bool: ...


@dataclass
class _Series:
    count: int = 0
    failures: int = 0
    total_seconds: float = 0.0
    buckets: list[int] = field(default_factory=list)  # per bucket, not cumulative; the last is +Inf


class Aggregate:
    """Request counts and latency buckets per ``(method, name)``; cheap to update, drain and merge.

    Use one where requests end (`observe`); on a worker, `drain` what was seen since the last drain
    into the report to the master, where `merge` adds it to the master's aggregate.

    Args:
        buckets: upper bounds in seconds, ascending (+Inf is implied).

    Example:
        >>> worker, master = Aggregate(), Aggregate()
        >>> worker.observe("GET", "/api/videos/[id]", 12.5, failed=False)
        >>> worker.observe("GET", "/api/videos/[id]", 2500.0, failed=True)
        >>> master.merge(worker.drain())
        >>> master.totals()
        {('GET', '/api/videos/[id]'): (2, 1)}
        >>> worker.drain()
        {'buckets': [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0], 'series': []}
    """

    def __init__(self, buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.bounds = tuple(float(b) for b in buckets)
        if list(self.bounds) != sorted(set(self.bounds)) or not all(math.isfinite(b) for b in self.bounds):
            raise ValueError(f"buckets must be finite and strictly ascending, got {list(buckets)}")
        self._series: dict[tuple[str, str], _Series] = {}

    def _get(self, method: str, name: str) -> _Series:
        series = self._series.get((method, name))
        if series is None:
            series = self._series[method, name] = _Series(buckets=[0] * (len(self.bounds) + 1))
        return series

    def observe(self, method: str, name: str, latency_ms: float, failed: bool) -> None:
        """Count one request that took ``latency_ms`` milliseconds."""
        series = self._get(method, name)
        seconds = latency_ms / 1000.0
        series.count += 1
        series.failures += failed
        series.total_seconds += seconds
        series.buckets[bisect_left(self.bounds, seconds)] += 1  # le: a value on a bound is in its bucket

    def drain(self) -> dict[str, Any]:
        """Everything observed since the last drain, as msgpack/JSON-safe lists; then forget it."""
        series, self._series = self._series, {}
        rows = [[m, n, s.count, s.failures, s.total_seconds, s.buckets] for (m, n), s in series.items()]
        return {"buckets": list(self.bounds), "series": rows}

    def merge(self, data: Mapping[str, Any]) -> None:
        """Add what another aggregate drained (same buckets)."""
        if tuple(float(b) for b in data["buckets"]) != self.bounds:
            raise ValueError(f"cannot merge buckets {data['buckets']} into {list(self.bounds)}")
        for method, name, count, failures, total_seconds, buckets in data["series"]:
            series = self._get(str(method), str(name))
            series.count += int(count)
            series.failures += int(failures)
            series.total_seconds += float(total_seconds)
            series.buckets = [a + int(b) for a, b in zip(series.buckets, buckets, strict=True)]

    def totals(self) -> dict[tuple[str, str], tuple[int, int]]:
        """``(requests, failures)`` per ``(method, name)``."""
        return {key: (s.count, s.failures) for key, s in sorted(self._series.items())}

    def series(self) -> list[tuple[str, str, _Series]]:
        """A snapshot of every series, sorted by ``(method, name)``."""
        return [(m, n, s) for (m, n), s in sorted(list(self._series.items()))]


class LiveMetrics:
    """A collector for the metrics of the module docstring, read from the run at scrape time.

    Register it in a fresh ``CollectorRegistry`` (`serve` does). The plugin feeds ``aggregate``
    (directly when local, by merging worker drains on the master) and calls `set_results` when a
    window closes and when the run ends.

    Args:
        users: returns the running users now.
        workers: returns how many processes generate load now.
        shape, host: the ``loadtest_run_info`` labels.

    Example:
        >>> from prometheus_client import generate_latest
        >>> live = LiveMetrics(users=lambda: 3, workers=lambda: 1, shape="none", host="http://127.0.0.1:8000")
        >>> live.aggregate.observe("GET", "/healthz", 1.0, failed=False)
        >>> registry = CollectorRegistry()
        >>> registry.register(live)
        >>> text = generate_latest(registry).decode()
        >>> 'loadtest_requests_total{method="GET",name="/healthz"} 1.0' in text, "loadtest_users 3.0" in text
        (True, True)
    """

    def __init__(
        self,
        users: Callable[[], int] = lambda: 0,
        workers: Callable[[], int] = lambda: 0,
        shape: str = "none",
        host: str = "",
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.aggregate = Aggregate(buckets)
        self.users = users
        self.workers = workers
        self.shape = shape
        self.host = host
        self.start: float | None = None
        self.verdict: bool | None = None
        self._limits: dict[str, float] = {}
        self._values: dict[tuple[str, str], tuple[float, bool]] = {}

    def set_limits(self, thresholds: Sequence[Any]) -> None:
        """Publish ``loadtest_threshold_limit`` for each `loadtests.thresholds.Threshold`."""
        self._limits = {t.text: float(t.limit) for t in thresholds}

    def set_results(self, results: Sequence[_Result], scope: str | None = None) -> None:
        """Publish each result's value and verdict under its scope (or ``scope`` when given)."""
        for r in results:
            self._values[r.threshold.text, scope or r.scope] = (float(r.value), bool(r.passed))

    def collect(self) -> Iterator[Metric]:
        """Fresh families, built from the current state."""
        labels = ["method", "name"]
        requests = CounterMetricFamily("loadtest_requests", "Requests that ended.", labels=labels)
        failures = CounterMetricFamily("loadtest_failures", "Requests that failed.", labels=labels)
        duration = HistogramMetricFamily(
            "loadtest_request_duration_seconds", "Request latency seen by the load generator.", labels=labels
        )
        bounds = [*(repr(b) for b in self.aggregate.bounds), "+Inf"]
        for method, name, s in self.aggregate.series():
            requests.add_metric([method, name], s.count)
            failures.add_metric([method, name], s.failures)
            cumulative, running = [], 0
            for bound, count in zip(bounds, s.buckets, strict=True):
                running += count
                cumulative.append((bound, float(running)))
            duration.add_metric([method, name], cumulative, sum_value=s.total_seconds)
        yield from (requests, failures, duration)
        yield GaugeMetricFamily("loadtest_users", "Users running now.", value=self.users())
        yield GaugeMetricFamily("loadtest_workers", "Processes generating load.", value=self.workers())
        yield from self._gates()
        if self.start is not None:
            yield GaugeMetricFamily(
                "loadtest_run_start_timestamp_seconds", "When the run started (unix time).", value=self.start
            )
        info = InfoMetricFamily("loadtest_run", "What the run runs.")
        info.add_metric([], {"shape": self.shape, "host": self.host})
        yield info

    def _gates(self) -> Iterator[Metric]:
        value = GaugeMetricFamily(
            "loadtest_threshold_value", "A gate's measured value.", labels=["threshold", "scope"]
        )
        passed = GaugeMetricFamily(
            "loadtest_threshold_passed", "1 when the gate passes, else 0.", labels=["threshold", "scope"]
        )
        for (text, scope), (measured, ok) in sorted(self._values.items()):
            value.add_metric([text, scope], measured)
            passed.add_metric([text, scope], float(ok))
        limit = GaugeMetricFamily("loadtest_threshold_limit", "A gate's limit.", labels=["threshold"])
        for text, number in sorted(self._limits.items()):
            limit.add_metric([text], number)
        yield from (value, passed, limit)
        if self.verdict is not None:
            yield GaugeMetricFamily(
                "loadtest_verdict", "1 while (and once) the run passes its gates, else 0.", value=self.verdict
            )


class MetricsServer:
    """A running metrics endpoint; `stop` it when the run is over."""

    def __init__(self, server: Any, thread: Any, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """``http://host:port/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()


def serve(live: LiveMetrics, host: str, port: int) -> MetricsServer:
    """Serve ``live`` (alone in a fresh registry) on ``host:port``; OSError when the port is taken.

    Under Locust, gevent has patched ``threading``, so the server thread is a greenlet.

    Example:
        >>> import urllib.request
        >>> server = serve(LiveMetrics(), "127.0.0.1", 0)
        >>> b"loadtest_users 0.0" in urllib.request.urlopen(server.url).read()
        True
        >>> server.stop()
    """
    registry = CollectorRegistry(auto_describe=True)
    registry.register(live)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(server, thread, host, int(server.server_port))


def annotate(
    url: str, when: float, tags: Sequence[str], text: str, *, token: str | None = None, timeout: float = 5.0
) -> int:
    """Post one Grafana annotation (``POST /api/annotations``) at unix time ``when``; its id.

    Raises OSError (``urllib.error.URLError`` included) when Grafana cannot be reached or refuses.

    Args:
        url: Grafana's base URL.
        tags: e.g. ``["loadtest", "start"]``; dashboards show annotations by tag.
        token: a service-account token, sent as ``Authorization: Bearer``.
    """
    body = {"time": round(when * 1000), "tags": list(tags), "text": text}
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    target = f"{url.rstrip('/')}/api/annotations"
    request = urllib.request.Request(target, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  (the --grafana-url option)
        answer = json.loads(response.read() or b"{}")
    return int(answer.get("id", 0)) if isinstance(answer, dict) else 0
