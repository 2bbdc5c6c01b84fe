"""The lock-free families: exact counts under threads, buckets, the cardinality guard, MetricSet."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.instrumentation import OTHER, Counter, Gauge, Histogram, MetricSet
from exporter.instrumentation._core import count_value

THREADS, PER_THREAD = 8, 20_000


def hammer(work: Callable[[], object]) -> None:
    barrier = threading.Barrier(THREADS)

    def run() -> None:
        barrier.wait()
        for _ in range(PER_THREAD):
            work()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_count_value_reads_without_advancing() -> None:
    c = itertools.count()
    next(c), next(c)
    assert (count_value(c), count_value(c), next(c)) == (2, 2, 2)


def test_counter_is_exact_under_eight_threads() -> None:
    child = Counter("hits_total", "Hits.").labels()
    hammer(child.inc)
    assert child.get() == THREADS * PER_THREAD


def test_counter_amounts_add_up_and_negative_is_refused() -> None:
    child = Counter("bytes_total", "Bytes.").labels()
    child.inc(2.5)
    child.inc()
    assert child.get() == 3.5
    with pytest.raises(ValueError, match="only go up"):
        child.inc(-1)


def test_counter_name_must_end_in_total() -> None:
    with pytest.raises(ValueError, match="_total"):
        Counter("hits", "Hits.")


def test_histogram_is_exact_under_eight_threads() -> None:
    child = Histogram("d_seconds", "D.", buckets=(0.1, 1.0)).labels()
    hammer(lambda: child.observe(0.5))
    buckets, total = child.snapshot()
    assert buckets == [("0.1", 0.0), ("1.0", THREADS * PER_THREAD), ("+Inf", THREADS * PER_THREAD)]
    assert total == pytest.approx(0.5 * THREADS * PER_THREAD)


def test_histogram_bucket_bounds_are_inclusive() -> None:
    child = Histogram("d_seconds", "D.", buckets=(0.1, 2.0)).labels()
    for value in (0.1, 2.0, 2.0000001):
        child.observe(value)
    assert child.snapshot()[0] == [("0.1", 1.0), ("2.0", 2.0), ("+Inf", 3.0)]


def test_histogram_refuses_unsorted_buckets() -> None:
    with pytest.raises(ValueError, match="increasing"):
        Histogram("d_seconds", "D.", buckets=(1.0, 0.5))


def test_gauge_inc_dec_set_and_function() -> None:
    child = Gauge("in_flight", "In flight.").labels()
    child.inc()
    child.inc()
    child.dec()
    assert child.get() == 1
    child.set(7)
    assert child.get() == 7
    child.set_function(lambda: 42)
    assert child.get() == 42


def test_labels_need_one_value_per_label() -> None:
    with pytest.raises(ValueError, match="expected 2 label values"):
        Counter("x_total", "X.", ["a", "b"]).labels("only-one")


def test_guard_folds_new_label_sets_past_the_cap_into_other() -> None:
    family = Counter("req_total", "Req.", ["route", "status"], guarded=["route"], max_label_sets=2)
    family.labels("/a", "200").inc()
    family.labels("/b", "200").inc()
    family.labels("/c", "500").inc()
    family.labels("/d", "500").inc()
    assert [v for v, _ in family.children()] == [("/a", "200"), ("/b", "200"), (OTHER, "500")]
    assert family.labels(OTHER, "500").get() == 2
    assert family.guard.folded.get() == 2


def test_guarded_labels_must_exist() -> None:
    with pytest.raises(ValueError, match="not among"):
        Counter("req_total", "Req.", ["route"], guarded=["path"])


def test_metricset_returns_the_same_family_for_the_same_name() -> None:
    metrics = MetricSet()
    assert metrics.counter("a_total", "A.", ["x"]) is metrics.counter("a_total", "A.", ["x"])


def test_metricset_refuses_a_name_reused_with_other_labels_or_kind() -> None:
    metrics = MetricSet()
    metrics.counter("a_total", "A.", ["x"])
    with pytest.raises(ValueError, match="already exists"):
        metrics.counter("a_total", "A.", ["y"])
    with pytest.raises(ValueError, match="already exists"):
        metrics.gauge("a_total", "A.", ["x"])


def test_metricset_exposes_through_a_prometheus_client_registry() -> None:
    metrics = MetricSet(max_label_sets=1)
    metrics.histogram("op_seconds", "Op.", ["op"], buckets=(2.0,)).labels("read").observe(1.5)
    metrics.counter("op_total", "Op.", ["op"]).labels("read").inc()
    metrics.counter("op_total", "Op.", ["op"]).labels("write").inc()
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    assert 'op_seconds_bucket{le="2.0",op="read"} 1.0' in text
    assert 'op_total{op="other"} 1.0' in text
    assert 'instrumentation_label_sets_folded_total{metric="op_total"} 1.0' in text
    assert registry.get_sample_value("op_seconds_count", {"op": "read"}) == 1
