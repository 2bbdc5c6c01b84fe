"""Samples: exact statistics over any range and name, compact storage, worker exports merged exactly."""

from __future__ import annotations

import json
import math
import random
import tracemalloc
from typing import Any

import msgpack  # type: ignore[import-untyped]  # locust's wire format; no stubs
import pytest

from loadtests.samples import BYTES_PER_SAMPLE, Samples, Stats
from loadtests.thresholds import LATENCY_METRICS, OTHER_METRICS

NAMES = [
    ("GET", "/api/sheets/[sheet]/rows"),
    ("GET", "/api/videos/[id]"),
    ("POST", "/api/sync"),
    ("GET", "/api/sync"),
]
Row = tuple[float, str, str, float, bool]  # t, name, method, latency_ms, failed


def rows(n: int, seed: int, start: float = 1000.0, duration: float = 60.0) -> list[Row]:
    """Random requests: end times unordered within the run, long-tailed latencies, ~2 % failures."""
    rng = random.Random(seed)  # noqa: S311 (seeded test data)
    out = []
    for _ in range(n):
        method, name = rng.choice(NAMES)
        latency = rng.lognormvariate(3, 1) if rng.random() < 0.9 else rng.uniform(0, 5000)
        out.append((start + rng.uniform(0, duration), name, method, latency, rng.random() < 0.02))
    return out


def store(data: list[Row]) -> Samples:
    samples = Samples()
    for row in data:
        samples.add(*row)
    return samples


def percentile(sorted_values: list[float], q: float) -> float:
    """The linear (type 7) percentile, by hand."""
    rank = q / 100 * (len(sorted_values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def brute_force(data: list[Row], name: str | None, start: float, end: float) -> dict[str, float]:
    chosen = [r for r in data if start <= r[0] < end and name in (None, r[1], f"{r[2]} {r[1]}")]
    latencies = sorted(r[3] for r in chosen)
    failures = sum(r[4] for r in chosen)
    out = {"requests": len(chosen), "failures": failures, "rps": len(chosen) / (end - start)}
    out["error_rate"] = failures / len(chosen)
    out["avg"] = math.fsum(latencies) / len(latencies)
    out["min"], out["max"] = latencies[0], latencies[-1]
    for metric in ("p50", "p75", "p90", "p95", "p99", "p99.9"):
        out[metric] = percentile(latencies, float(metric[1:]))
    return out


@pytest.mark.parametrize(
    ("n", "name", "start", "end"),
    [
        (1, None, 1000.0, 1060.0),
        (2, None, 1000.0, 1060.0),
        (7, None, 1000.0, 1060.0),
        (20_000, None, 1000.0, 1060.0),
        (20_000, None, 1010.0, 1020.0),
        (20_000, "/api/videos/[id]", 1000.0, 1060.0),
        (20_000, "/api/sync", 1030.0, 1060.0),
        (20_000, "POST /api/sync", 1000.0, 1030.0),
    ],
)
def test_stats_are_exact_against_a_brute_force_computation(
    n: int, name: str | None, start: float, end: float
) -> None:
    data = rows(n, seed=n)
    stats = store(data).stats(name, start, end)
    expected = brute_force(data, name, start, end)
    assert {metric: stats.value(metric) for metric in expected} == pytest.approx(expected, rel=1e-12, abs=0)


def test_a_range_includes_its_start_and_excludes_its_end() -> None:
    samples = store(
        [(10.0, "/", "GET", 1.0, False), (20.0, "/", "GET", 2.0, False), (30.0, "/", "GET", 4.0, False)]
    )
    assert samples.stats(start=10.0, end=30.0).requests == 2
    assert samples.stats(start=10.0, end=30.0).max == 2.0
    assert samples.stats(start=20.0, end=30.1).min == 2.0


def test_rps_is_requests_over_the_range() -> None:
    samples = store([(100.0 + i / 4, "/", "GET", 1.0, False) for i in range(40)])
    assert samples.stats(start=100.0, end=110.0).rps == 4.0
    assert samples.stats(start=90.0, end=110.0).rps == 2.0


def test_without_bounds_rps_spans_the_first_and_last_sample() -> None:
    samples = store(
        [(100.0, "/", "GET", 1.0, False), (104.0, "/", "GET", 1.0, False), (110.0, "/", "GET", 1.0, False)]
    )
    assert samples.stats().rps == 0.3
    assert samples.stats(start=105.0).rps == 0.2


def test_failures_and_error_rate() -> None:
    samples = store([(1.0, "/", "GET", 1.0, i % 4 == 0) for i in range(100)])
    stats = samples.stats(start=0.0, end=2.0)
    assert (stats.requests, stats.failures, stats.error_rate) == (100, 25, 0.25)


def test_no_requests_give_nan_latencies_and_error_rate_and_zero_rps() -> None:
    stats = store([(50.0, "/", "GET", 1.0, True)]).stats(start=0.0, end=10.0)
    assert (stats.requests, stats.failures, stats.rps) == (0, 0, 0.0)
    assert all(math.isnan(stats.value(m)) for m in (*LATENCY_METRICS, "error_rate"))


def test_an_empty_store_has_no_stats() -> None:
    stats = Samples().stats()
    assert stats.requests == 0
    assert math.isnan(stats.p95)


def test_a_name_matches_every_method_and_method_name_only_one() -> None:
    samples = store([(1.0, "/api/sync", "POST", 10.0, False), (1.0, "/api/sync", "GET", 20.0, False)])
    assert samples.stats("/api/sync").requests == 2
    assert samples.stats("POST /api/sync").avg == 10.0
    assert samples.stats("GET /api/sync").avg == 20.0
    assert samples.stats("/nothing").requests == 0


@pytest.mark.parametrize("metric", LATENCY_METRICS + OTHER_METRICS)
def test_value_reads_every_threshold_metric(metric: str) -> None:
    stats = Stats(10, 1, 2.0, 0.1, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0)
    fields = dict(
        zip(LATENCY_METRICS + OTHER_METRICS, (3, 4, 5, 6, 7, 8, 9, 10, 11, 0.1, 2, 10, 1), strict=True)
    )
    assert stats.value(metric) == fields[metric]


def test_value_of_an_unknown_metric_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown metric 'p42', expected one of avg, "):
        Samples().stats().value("p42")


def test_names_are_every_method_and_name_seen_sorted() -> None:
    samples = store(rows(200, seed=1))
    assert samples.names() == sorted(NAMES)


def test_adding_after_stats_keeps_every_sample() -> None:
    data = rows(3000, seed=2)
    samples = Samples()
    for i, row in enumerate(data):
        samples.add(*row)
        if i % 700 == 0:
            samples.stats(start=1000.0, end=1030.0)
    assert len(samples) == 3000
    assert samples.stats(start=0.0, end=2000.0) == store(data).stats(start=0.0, end=2000.0)


def test_memory_is_twenty_bytes_a_sample() -> None:
    samples = store(rows(1000, seed=3))
    assert BYTES_PER_SAMPLE == 20
    assert samples.nbytes == 20 * len(samples) == 20_000


def test_memory_grows_by_at_most_24_bytes_a_sample() -> None:
    samples = Samples()
    samples.add(0.0, "/", "GET", 1.0, False)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            samples.add(float(i), "/", "GET", 1.5, False)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown / 100_000 < 24


def test_export_is_json_and_msgpack_safe() -> None:
    data = store(rows(500, seed=4)).export()
    assert json.loads(json.dumps(data)) == data
    assert msgpack.loads(msgpack.dumps(data), raw=False) == data


def test_export_forgets_what_it_sent_but_keeps_the_names() -> None:
    worker = store(rows(500, seed=5))
    first = worker.export()
    assert len(first["t"]) == 500
    assert len(worker) == 0
    assert worker.export() == {"names": first["names"], "t": [], "latency_ms": [], "code": []}
    assert sorted(worker.names()) == sorted(NAMES)


def test_an_export_round_trips_through_merge() -> None:
    data = rows(2000, seed=6)
    master = Samples()
    master.merge(json.loads(json.dumps(store(data).export())))
    assert len(master) == 2000
    assert master.stats(start=0.0, end=2000.0) == store(data).stats(start=0.0, end=2000.0)


def test_merged_stats_equal_the_stats_of_all_samples_in_one_store() -> None:
    data = rows(30_000, seed=7)
    rng = random.Random(7)  # noqa: S311 (seeded test data)
    workers = [Samples(), Samples(), Samples()]
    for w, names in zip(workers, (NAMES, NAMES[::-1], NAMES[1:3]), strict=True):  # different name orders
        for method, name in names:
            w.add(0.0, name, method, 1.0, False)
        w.export()  # drop the warm-up rows: only the name tables differ now
    master = Samples()
    for i, row in enumerate(data):
        rng.choice(workers).add(*row)
        if i % 4000 == 3999:  # reports arrive while the master closes windows
            master.merge(msgpack.loads(msgpack.dumps(rng.choice(workers).export()), raw=False))
            master.stats(start=1000.0, end=1010.0)
    for w in workers:
        master.merge(w.export())
    one = store(data)
    assert len(master) == len(one) == 30_000
    selectors: tuple[str | None, ...] = (None, "/api/videos/[id]", "/api/sync", "POST /api/sync")
    for selector in selectors:
        for start, end in ((1000.0, 1060.0), (1000.0, 1010.0), (1025.0, 1035.0)):
            assert master.stats(selector, start, end) == one.stats(selector, start, end)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a mapping with keys names, t, latency_ms, code"),
        ({"names": [], "t": []}, "expected a mapping with keys names, t, latency_ms, code"),
        (
            {"names": [["GET"]], "t": [], "latency_ms": [], "code": []},
            "names: expected a list of [method, name] pairs of strings",
        ),
        (
            {"names": [["GET", "/"]], "t": ["x"], "latency_ms": [1.0], "code": [0]},
            "t, latency_ms and code: expected lists of numbers",
        ),
        (
            {"names": [["GET", "/"]], "t": [1.0, 2.0], "latency_ms": [1.0], "code": [0]},
            "t, latency_ms and code: expected lists of the same length",
        ),
        (
            {"names": [["GET", "/"]], "t": [1.0], "latency_ms": [1.0], "code": [2]},
            "code: a name index is out of range",
        ),
        (
            {"names": [["GET", "/"]], "t": [1.0], "latency_ms": [1.0], "code": [-1]},
            "code: a name index is out of range",
        ),
    ],
)
def test_a_bad_export_is_one_line_and_changes_nothing(data: Any, message: str) -> None:
    master = store(rows(10, seed=8))
    with pytest.raises(ValueError) as caught:
        master.merge(data)
    assert str(caught.value) == f"samples export: {message}"
    assert len(master) == 10
