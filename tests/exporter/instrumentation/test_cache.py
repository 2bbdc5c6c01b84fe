"""TTLCache and cached: exact counts under threads, single-flight loads, expiry, LRU eviction, metrics."""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
from collections.abc import Callable, Hashable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.instrumentation import MetricSet, TTLCache, cached

THREADS, PER_THREAD = 8, 5_000


class Clock:
    """A fake monotonic clock: seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Boom(Exception):
    pass


def make(metrics: MetricSet | None = None, **kwargs: Any) -> tuple[TTLCache[Hashable, Any], Clock]:
    clock = Clock()
    options: dict[str, Any] = {"name": "videos", "maxsize": 100, "ttl": 60.0, **kwargs}
    return TTLCache(metrics=metrics or MetricSet(), timer=clock, **options), clock


def value(metrics: MetricSet, name: str, **labels: str) -> float | None:
    registry = CollectorRegistry()
    registry.register(metrics)
    return registry.get_sample_value(name, {"cache": "videos", **labels})


def requests(metrics: MetricSet) -> tuple[float | None, float | None]:
    hits = value(metrics, "cache_requests_total", result="hit")
    return hits, value(metrics, "cache_requests_total", result="miss")


def run_threads(work: Callable[[int], object]) -> None:
    barrier = threading.Barrier(THREADS)

    def run(index: int) -> None:
        barrier.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)


def wait_until(check: Callable[[], bool]) -> None:
    """Poll ``check`` (bounded: at most 10 s); the tests use it to know that threads are waiting."""
    done = threading.Event()
    for _ in range(1000):
        if check():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached in 10 s")


def test_hits_and_misses_are_exact_under_eight_threads() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    for key in range(10):
        cache[key] = key

    def hammer(_: int) -> None:
        for i in range(PER_THREAD):
            cache.get(i % 20)  # keys 10..19 are absent

    run_threads(hammer)
    assert requests(metrics) == (THREADS * PER_THREAD / 2, THREADS * PER_THREAD / 2)


def test_concurrent_misses_of_one_key_make_one_backing_call_in_threads() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    release, loads = threading.Event(), []
    results: list[str] = []

    def loader() -> str:
        loads.append(1)
        release.wait(30)
        return "title"

    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("v1", loader))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    wait_until(lambda: requests(metrics)[1] == 8)  # all eight missed: one loads, seven wait
    release.set()
    for t in threads:
        t.join(30)
    assert (len(loads), results) == (1, ["title"] * 8)
    assert value(metrics, "cache_load_duration_seconds_count") == 1
    assert cache.get("v1") == "title"


def test_a_failed_load_reaches_every_waiting_thread_and_is_not_cached() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    release, error = threading.Event(), Boom("quota exceeded")
    caught: list[BaseException] = []

    def loader() -> str:
        release.wait(30)
        raise error

    def call() -> None:
        try:
            cache.get_or_load("v1", loader)
        except Boom as e:
            caught.append(e)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    wait_until(lambda: requests(metrics)[1] == 8)
    release.set()
    for t in threads:
        t.join(30)
    assert len(caught) == 8
    assert all(e is error for e in caught)
    assert "v1" not in cache
    assert value(metrics, "cache_load_errors_total") == 1
    assert cache.get_or_load("v1", lambda: "second try") == "second try"


def test_concurrent_misses_of_one_key_make_one_backing_call_in_asyncio_tasks() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    loads: list[int] = []

    async def main() -> list[str]:
        release = asyncio.Event()

        async def loader() -> str:
            loads.append(1)
            await release.wait()
            return "title"

        tasks = [asyncio.ensure_future(cache.aget_or_load("v1", loader)) for _ in range(50)]
        while requests(metrics)[1] != 50:
            await asyncio.sleep(0)
        release.set()
        return await asyncio.gather(*tasks)

    assert asyncio.run(main()) == ["title"] * 50
    assert len(loads) == 1
    assert requests(metrics) == (0, 50)


def test_a_failed_async_load_reaches_every_task_and_is_not_cached() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    error = Boom("quota exceeded")

    async def loader() -> str:
        await asyncio.sleep(0)
        raise error

    async def main() -> list[str | BaseException]:
        return await asyncio.gather(
            *(cache.aget_or_load("v1", loader) for _ in range(20)), return_exceptions=True
        )

    assert all(r is error for r in asyncio.run(main()))
    assert "v1" not in cache
    assert value(metrics, "cache_load_errors_total") == 1


def test_a_cancelled_caller_leaves_the_load_to_the_others() -> None:
    cache, _ = make()
    loads: list[int] = []

    async def main() -> str:
        release = asyncio.Event()

        async def loader() -> str:
            loads.append(1)
            await release.wait()
            return "title"

        first = asyncio.ensure_future(cache.aget_or_load("v1", loader))
        second = asyncio.ensure_future(cache.aget_or_load("v1", loader))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        release.set()
        return await second

    assert asyncio.run(main()) == "title"
    assert len(loads) == 1


def test_a_loader_asking_for_its_own_key_fails_instead_of_hanging() -> None:
    cache, _ = make()
    with pytest.raises(RuntimeError, match="asked for"):
        cache.get_or_load("v1", lambda: cache.get_or_load("v1", lambda: "never"))


def test_entries_expire_after_ttl_by_the_injected_clock() -> None:
    metrics = MetricSet()
    cache, clock = make(metrics, ttl=60.0)
    cache["v1"] = "title"
    clock.now = 59.9
    assert cache.get("v1") == "title"
    clock.now = 60.0
    assert cache.get("v1") is None
    assert value(metrics, "cache_evictions_total", reason="expired") == 1
    assert requests(metrics) == (1, 1)


def test_the_least_recently_used_entry_goes_when_full() -> None:
    metrics = MetricSet()
    cache, clock = make(metrics, maxsize=3, ttl=300.0)
    for key in "abc":
        cache[key] = key
    clock.now = 2.0  # later than the recency step (1 s): a hit now marks "a" recent
    assert cache["a"] == "a"
    cache["d"] = "d"
    cache["e"] = "e"
    assert [key in cache for key in "abcde"] == [True, False, False, True, True]
    assert value(metrics, "cache_evictions_total", reason="capacity") == 2


def test_expired_entries_make_room_before_live_ones_are_evicted() -> None:
    metrics = MetricSet()
    cache, clock = make(metrics, maxsize=2, ttl=10.0)
    cache["a"] = 1
    clock.now = 5.0
    cache["b"] = 2
    clock.now = 11.0
    cache["c"] = 3
    assert ("a" in cache, "b" in cache, "c" in cache) == (False, True, True)
    assert value(metrics, "cache_evictions_total", reason="expired") == 1
    assert value(metrics, "cache_evictions_total", reason="capacity") == 0


def test_a_key_set_again_and_again_still_expires_once() -> None:
    metrics = MetricSet()
    cache, clock = make(metrics, ttl=10.0)
    for step in range(500):
        clock.now = step * 0.01
        cache["v1"] = step
    clock.now = 100.0
    assert len(cache) == 0
    assert value(metrics, "cache_evictions_total", reason="expired") == 1


def test_pop_clear_contains_and_len() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)
    cache.set("a", 1)
    cache["b"] = 2
    assert ("a" in cache, "z" in cache, len(cache)) == (True, False, 2)
    assert (cache.pop("a"), cache.pop("a"), cache.pop("a", 0)) == (1, None, 0)
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(KeyError):
        cache["b"]
    assert requests(metrics) == (0, 1)  # pop, in and len are not requests; the failed [] is


def test_the_decorator_calls_once_per_key() -> None:
    metrics = MetricSet()
    calls: list[tuple[str, int]] = []

    @cached(ttl=60, maxsize=10, name="videos", metrics=metrics, timer=Clock())
    def title(video_id: str, *, page: int = 0) -> str:
        calls.append((video_id, page))
        return video_id.upper()

    assert [title("a"), title("a"), title("b"), title("a", page=1), title("a", page=1)] == [
        "A",
        "A",
        "B",
        "A",
        "A",
    ]
    assert calls == [("a", 0), ("b", 0), ("a", 1)]
    assert requests(metrics) == (2, 3)
    assert inspect.signature(title) == inspect.signature(title.__wrapped__)  # type: ignore[attr-defined]


def test_the_decorator_takes_a_key_function_and_a_shared_cache() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics)

    @cached(cache=cache, key=lambda video_id, **_: video_id)
    def title(video_id: str, *, lang: str = "en") -> str:
        return f"{video_id}/{lang}"

    assert (title("a", lang="en"), title("a", lang="de")) == ("a/en", "a/en")
    assert cache.pop("a") == "a/en"


def test_the_decorator_works_on_async_functions_with_one_load_per_key() -> None:
    metrics = MetricSet()
    loads: list[str] = []

    @cached(ttl=60, maxsize=10, name="videos", metrics=metrics)
    async def title(video_id: str) -> str:
        loads.append(video_id)
        await asyncio.sleep(0)
        return video_id.upper()

    async def main() -> list[str]:
        first = await asyncio.gather(*(title("a") for _ in range(10)))
        return [*first, await title("a"), await title("b")]

    assert asyncio.run(main()) == ["A"] * 11 + ["B"]
    assert loads == ["a", "b"]
    assert inspect.iscoroutinefunction(title)
    assert requests(metrics) == (1, 11)


def test_the_decorator_on_a_method_keys_by_instance() -> None:
    metrics = MetricSet()

    class Channel:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix
            self.loads = 0

        @cached(ttl=60, maxsize=10, name="videos", metrics=metrics)
        def title(self, video_id: str) -> str:
            self.loads += 1
            return self.prefix + video_id

    one, two = Channel("1:"), Channel("2:")
    assert (one.title("a"), one.title("a"), two.title("a")) == ("1:a", "1:a", "2:a")
    assert (one.loads, two.loads) == (1, 1)


def test_the_decorator_needs_ttl_or_a_cache() -> None:
    with pytest.raises(ValueError, match="ttl="):
        cached()
    with pytest.raises(ValueError, match="ttl="):
        cached(ttl=1, cache=make()[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"ttl": -1.0}, "ttl"),
        ({"ttl": float("nan")}, "ttl"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_settings_are_refused_with_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**options)


def test_metric_names_types_and_labels() -> None:
    metrics = MetricSet()
    cache, _ = make(metrics, maxsize=5)
    cache["a"] = 1
    with pytest.raises(Boom):
        cache.get_or_load("b", lambda: (_ for _ in ()).throw(Boom()))
    shapes = {(m.name, m.type): sorted({k for s in m.samples for k in s.labels}) for m in metrics.collect()}
    assert shapes == {
        ("cache_requests", "counter"): ["cache", "result"],
        ("cache_evictions", "counter"): ["cache", "reason"],
        ("cache_entries", "gauge"): ["cache"],
        ("cache_capacity_entries", "gauge"): ["cache"],
        ("cache_load_duration_seconds", "histogram"): ["cache", "le"],
        ("cache_load_errors", "counter"): ["cache"],
    }
    assert {f.name: getattr(f, "multiprocess_mode", None) for f in metrics.families()}[
        "cache_entries"
    ] == "livesum"
    registry = CollectorRegistry()
    registry.register(metrics)
    text = generate_latest(registry).decode()
    for line in (
        'cache_entries{cache="videos"} 1.0',
        'cache_capacity_entries{cache="videos"} 5.0',
        'cache_requests_total{cache="videos",result="miss"} 1.0',
        'cache_evictions_total{cache="videos",reason="capacity"} 0.0',
        'cache_load_errors_total{cache="videos"} 1.0',
        'cache_load_duration_seconds_count{cache="videos"} 1.0',
    ):
        assert line in text


def test_the_size_gauges_add_up_caches_of_one_name_and_forget_dropped_ones() -> None:
    metrics = MetricSet()
    first, _ = make(metrics, maxsize=5)
    second, _ = make(metrics, maxsize=7)
    first["a"], second["a"], second["b"] = 1, 2, 3
    assert (value(metrics, "cache_entries"), value(metrics, "cache_capacity_entries")) == (3, 12)
    del second
    gc.collect()
    assert (value(metrics, "cache_entries"), value(metrics, "cache_capacity_entries")) == (1, 5)
