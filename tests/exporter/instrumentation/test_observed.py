"""observed: exact counts under threads and tasks, the three forms, signatures, labels, derived totals."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.instrumentation import DEFAULT_METRICS, MetricSet, Observed, observed
from exporter.instrumentation._calls import MAX_EXCEPTION_LABELS
from exporter.instrumentation._core import _PENDING_LIMIT

ROOT = Path(__file__).resolve().parents[3]
THREADS, PER_THREAD = 8, 5_000
SCRAPED_CALLS = 20_000  # per thread, while another thread scrapes
MODULE = __name__


class Boom(Exception):
    pass


def ticking(step: float = 0.25) -> Callable[[], float]:
    """A fake clock that moves ``step`` seconds each time it is read."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def registry_of(metrics: MetricSet) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(metrics)
    return registry


def sample(metrics: MetricSet, name: str, **labels: str) -> float | None:
    return registry_of(metrics).get_sample_value(name, {"module": MODULE, **labels})


def calls(metrics: MetricSet, function: str | Callable[..., object]) -> tuple[float | None, float | None]:
    if not isinstance(function, str):
        function = function.__qualname__
    ok = sample(metrics, "function_calls_total", function=function, result="ok")
    return ok, sample(metrics, "function_calls_total", function=function, result="error")


def run_threads(work: Callable[[int], object], threads: int = THREADS) -> None:
    barrier = threading.Barrier(threads)

    def run(index: int) -> None:
        barrier.wait()
        work(index)

    started = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in started:
        t.start()
    for t in started:
        t.join(60)
    assert not any(t.is_alive() for t in started)


def test_a_call_is_timed_and_counted_when_it_ends() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics, clock=ticking(0.25))
    def load_sheet(sheet_id: str) -> int:
        assert calls(metrics, load_sheet) == (0, 0)  # not counted while running
        return len(sheet_id)

    assert load_sheet("abc") == 3
    assert calls(metrics, load_sheet) == (1, 0)
    assert sample(metrics, "function_call_duration_seconds_sum", function=load_sheet.__qualname__) == 0.25
    assert (
        sample(metrics, "function_call_duration_seconds_bucket", function=load_sheet.__qualname__, le="0.1")
        == 0
    )


def test_counts_are_exact_under_eight_threads_with_ok_and_errors_mixed() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    def work(i: int) -> int:
        if i % 3 == 0:
            raise Boom
        return i

    def hammer(_: int) -> None:
        for i in range(PER_THREAD):
            with contextlib.suppress(Boom):
                work(i)

    run_threads(hammer)
    errors_per_thread = len(range(0, PER_THREAD, 3))
    assert calls(metrics, work) == (
        THREADS * (PER_THREAD - errors_per_thread),
        THREADS * errors_per_thread,
    )
    assert sample(metrics, "function_errors_total", function=work.__qualname__, exception="Boom") == (
        THREADS * errors_per_thread
    )
    assert (
        sample(metrics, "function_call_duration_seconds_count", function=work.__qualname__)
        == THREADS * PER_THREAD
    )


def test_ok_never_goes_down_between_scrapes_while_threads_call() -> None:
    metrics = MetricSet()
    registry = registry_of(metrics)

    @observed(metrics=metrics)
    def work(i: int) -> None:
        if i % 100:  # mostly errors: a scrape that counted an error's call before the error shows it
            raise Boom

    done = threading.Event()
    seen: list[tuple[float, float]] = []

    def scrape() -> None:
        labels = {"function": work.__qualname__, "module": MODULE}
        while not done.is_set() or not seen:
            ok = registry.get_sample_value("function_calls_total", {**labels, "result": "ok"}) or 0.0
            error = registry.get_sample_value("function_calls_total", {**labels, "result": "error"}) or 0.0
            seen.append((ok, error))

    scraper = threading.Thread(target=scrape)
    scraper.start()

    def hammer(_: int) -> None:
        for i in range(SCRAPED_CALLS):
            with contextlib.suppress(Boom):
                work(i)

    run_threads(hammer, threads=THREADS - 1)
    done.set()
    scraper.join(60)
    assert all(b[0] >= a[0] and b[1] >= a[1] for a, b in itertools.pairwise(seen))
    assert len(seen) > 1
    assert calls(metrics, work) == (
        (THREADS - 1) * SCRAPED_CALLS / 100,
        (THREADS - 1) * SCRAPED_CALLS * 99 / 100,
    )


def test_async_functions_are_counted_exactly_under_gather() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    async def fetch(i: int) -> int:
        await asyncio.sleep(0)
        if i % 4 == 0:
            raise Boom
        return i

    async def main() -> list[int | BaseException]:
        return await asyncio.gather(*(fetch(i) for i in range(400)), return_exceptions=True)

    results = asyncio.run(main())
    assert sum(isinstance(r, Boom) for r in results) == 100
    assert calls(metrics, fetch) == (300, 100)
    assert inspect.iscoroutinefunction(fetch)


def test_one_timer_times_blocks_in_threads_apart() -> None:
    metrics = MetricSet()
    now = [0.0]
    timer = observed("sync_rows", metrics=metrics, clock=lambda: now[0])
    steps = [threading.Event() for _ in range(4)]

    def first() -> None:  # enters at 0, leaves at 11
        with timer:
            steps[0].set()
            steps[1].wait(10)
        steps[2].set()

    def second() -> None:  # enters at 10, leaves at 12
        steps[0].wait(10)
        now[0] = 10.0
        with timer:
            now[0] = 11.0
            steps[1].set()
            steps[2].wait(10)
            now[0] = 12.0

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sample(metrics, "function_call_duration_seconds_sum", function="sync_rows") == 13.0
    assert sample(metrics, "function_call_duration_seconds_bucket", function="sync_rows", le="2.0") == 1


def test_one_timer_times_blocks_in_asyncio_tasks_apart() -> None:
    metrics = MetricSet()
    now = [0.0]
    timer = observed("sync_rows", metrics=metrics, clock=lambda: now[0])

    async def main() -> None:
        entered, release, left = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def first() -> None:  # 0 .. 11
            async with timer:
                entered.set()
                await release.wait()
            left.set()

        async def second() -> None:  # 10 .. 12
            await entered.wait()
            now[0] = 10.0
            async with timer:
                now[0] = 11.0
                release.set()
                await left.wait()
                now[0] = 12.0

        await asyncio.gather(first(), second())

    asyncio.run(main())
    assert sample(metrics, "function_call_duration_seconds_sum", function="sync_rows") == 13.0


def test_one_timer_counts_exactly_when_eight_threads_and_many_tasks_share_it() -> None:
    metrics = MetricSet()
    timer = observed("shared", metrics=metrics, in_flight=True)

    def hammer(index: int) -> None:
        for i in range(PER_THREAD):
            with contextlib.suppress(Boom), timer:
                if (i + index) % 5 == 0:
                    raise Boom

    async def task(i: int) -> None:
        async with timer:
            await asyncio.sleep(0)
            if i % 5 == 0:
                raise Boom

    async def tasks() -> None:
        await asyncio.gather(*(task(i) for i in range(500)), return_exceptions=True)

    run_threads(hammer)
    asyncio.run(tasks())
    assert calls(metrics, "shared") == (THREADS * PER_THREAD * 4 / 5 + 400, THREADS * PER_THREAD / 5 + 100)
    assert sample(metrics, "function_calls_in_flight", function="shared") == 0


def test_a_timer_nests_in_itself() -> None:
    metrics = MetricSet()
    now = [0.0]
    timer = observed("step", metrics=metrics, clock=lambda: now[0])
    with timer:
        now[0] = 1.0
        with timer:
            now[0] = 3.0
        now[0] = 7.0
    assert sample(metrics, "function_call_duration_seconds_sum", function="step") == 2.0 + 7.0


def test_a_block_that_raises_counts_an_error_and_propagates() -> None:
    metrics = MetricSet()
    with pytest.raises(Boom), observed("step", metrics=metrics):
        raise Boom
    assert calls(metrics, "step") == (0, 1)


def test_a_block_needs_a_name() -> None:
    with pytest.raises(ValueError, match="needs a name"), observed(metrics=MetricSet()):
        pass


def test_the_signature_and_attributes_are_kept() -> None:
    def original(a: int, *rest: str, flag: bool = False, **extra: float) -> str:
        """Doc."""
        return "x"

    wrapped = observed(metrics=MetricSet())(original)
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert (wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__) == ("original", "Doc.", original)  # type: ignore[attr-defined]


def test_mypy_sees_the_original_parameters_and_return_type(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from exporter.instrumentation._observed import observed\n"
        "@observed\n"
        "def f(a: int, b: str = 'x') -> float: return 1.0\n"
        "@observed(in_flight=True)\n"
        "async def g(a: int) -> str: return ''\n"
        "reveal_type(f)\n"
        "reveal_type(g)\n"
        "f('wrong')\n"
    )
    cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False
    ).stdout
    assert 'Revealed type is "def (a: int, b: str =) -> float"' in out
    assert 'Revealed type is "def (a: int) -> typing.Coroutine[Any, Any, str]"' in out
    assert 'Argument 1 to "f" has incompatible type "str"; expected "int"' in out
    assert out.count("error:") == 1


def test_methods_static_and_class_methods_are_labelled_by_qualname() -> None:
    metrics = MetricSet()
    timer = observed(metrics=metrics)

    class Sheet:
        @timer
        def load(self, n: int) -> int:
            return n

        @staticmethod
        @timer
        def parse(n: int) -> int:
            return n + 1

        @timer  # above the decorator works too
        @classmethod
        def build(cls, n: int) -> int:
            return n + 2

    assert (Sheet().load(1), Sheet.parse(1), Sheet().parse(1), Sheet.build(1)) == (1, 2, 2, 3)
    prefix = "test_methods_static_and_class_methods_are_labelled_by_qualname.<locals>.Sheet"
    assert calls(metrics, f"{prefix}.load") == (1, 0)
    assert calls(metrics, f"{prefix}.parse") == (2, 0)
    assert calls(metrics, f"{prefix}.build") == (1, 0)


def test_bare_and_named_forms_set_the_labels() -> None:
    metrics = MetricSet()

    def plain() -> None:
        pass

    bare = observed(plain)  # the bare form writes to DEFAULT_METRICS
    bare()
    default = DEFAULT_METRICS.get("function_calls_total")
    assert default is not None
    assert [v for v, _ in default.children()] == []  # derived: its data lives in the duration family
    durations = DEFAULT_METRICS.get("function_call_duration_seconds")
    assert durations is not None
    assert (plain.__qualname__, MODULE) in [v for v, _ in durations.children()]
    observed(name="renamed", module="sheets", metrics=metrics)(plain)()
    observed("block", metrics=metrics).__enter__().__exit__(None, None, None)
    registry = registry_of(metrics)
    labels = {"function": "renamed", "module": "sheets", "result": "ok"}
    assert registry.get_sample_value("function_calls_total", labels) == 1
    assert sample(metrics, "function_calls_total", function="block", result="ok") == 1
    assert isinstance(observed("x", metrics=metrics), Observed)


def test_in_flight_goes_up_during_a_call_and_down_after() -> None:
    metrics = MetricSet()
    during: list[float | None] = []

    @observed(metrics=metrics, in_flight=True)
    def work() -> None:
        during.append(sample(metrics, "function_calls_in_flight", function=work.__qualname__))

    @observed(metrics=metrics, in_flight=True)
    async def later() -> None:
        during.append(sample(metrics, "function_calls_in_flight", function=later.__qualname__))
        raise Boom

    work()
    with pytest.raises(Boom):
        asyncio.run(later())
    with observed("block", metrics=metrics, in_flight=True):
        during.append(sample(metrics, "function_calls_in_flight", function="block"))
    assert during == [1, 1, 1]
    for function in (work.__qualname__, later.__qualname__, "block"):
        assert sample(metrics, "function_calls_in_flight", function=function) == 0


def test_the_exception_propagates_unchanged() -> None:
    error = Boom("quota")

    @observed(metrics=MetricSet())
    def work() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        work()
    assert caught.value is error
    assert traceback.extract_tb(caught.value.__traceback__)[-1].line == "raise error"


def test_calls_that_only_fail_keep_their_pending_durations_bounded() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    def work() -> None:
        raise Boom

    for _ in range(3 * _PENDING_LIMIT):
        with contextlib.suppress(Boom):
            work()
    durations = metrics.get("function_call_duration_seconds")
    assert durations is not None
    [(_, child)] = durations.children()
    assert len(child._pending) <= _PENDING_LIMIT + 1
    assert calls(metrics, work) == (0, 3 * _PENDING_LIMIT)


def test_exception_labels_are_bounded_per_function() -> None:
    metrics = MetricSet()
    kinds = [type(f"Error{i}", (Exception,), {}) for i in range(MAX_EXCEPTION_LABELS + 3)]

    @observed(metrics=metrics)
    def work(kind: type[Exception]) -> None:
        raise kind

    for kind in kinds:
        with pytest.raises(kind):
            work(kind)
    values = [s for m in metrics.collect() for s in m.samples if s.name == "function_errors_total"]
    assert len(values) == MAX_EXCEPTION_LABELS + 1
    assert sample(metrics, "function_errors_total", function=work.__qualname__, exception="other") == 3
    assert (
        registry_of(metrics).get_sample_value(
            "instrumentation_label_sets_folded_total", {"metric": "function_errors_total"}
        )
        == 3
    )


def test_cancelled_error_counts_as_an_error_with_its_type() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    async def slow() -> None:
        await asyncio.sleep(3600)

    async def main() -> None:
        task = asyncio.ensure_future(slow())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert (
        sample(metrics, "function_errors_total", function=slow.__qualname__, exception="CancelledError") == 1
    )


def test_keyboard_interrupt_counts_as_an_error() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    def work() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work()
    assert (
        sample(metrics, "function_errors_total", function=work.__qualname__, exception="KeyboardInterrupt")
        == 1
    )


def test_a_coroutine_closed_by_its_owner_is_not_an_error() -> None:
    metrics = MetricSet()

    @observed(metrics=metrics)
    async def waits() -> None:
        await asyncio.sleep(0)

    coroutine = waits()
    coroutine.send(None)  # suspended at the sleep
    coroutine.close()  # GeneratorExit inside
    assert calls(metrics, waits) == (1, 0)


def test_generator_functions_are_refused() -> None:
    def rows() -> object:
        yield 1

    with pytest.raises(TypeError, match="generator function"):
        observed(metrics=MetricSet())(rows)


def test_the_histogram_has_the_slo_bucket_and_buckets_can_be_chosen() -> None:
    metrics = MetricSet()
    observed("a", metrics=metrics).__enter__().__exit__(None, None, None)
    assert sample(metrics, "function_call_duration_seconds_bucket", function="a", le="2.0") == 1
    other = MetricSet()
    observed("b", metrics=other, buckets=(0.001, 0.5)).__enter__().__exit__(None, None, None)
    assert sample(other, "function_call_duration_seconds_bucket", function="b", le="0.5") == 1
    assert sample(other, "function_call_duration_seconds_bucket", function="b", le="2.0") is None
    with pytest.raises(ValueError, match="already exists"):
        observed("c", metrics=other)


def test_metric_names_types_and_labels() -> None:
    metrics = MetricSet()
    observed("a", metrics=metrics, in_flight=True)(lambda: None)()
    with pytest.raises(Boom), observed("a", metrics=metrics, in_flight=True):
        raise Boom
    shapes = {(m.name, m.type): sorted({k for s in m.samples for k in s.labels}) for m in metrics.collect()}
    assert shapes == {
        ("function_call_duration_seconds", "histogram"): ["function", "le", "module"],
        ("function_calls", "counter"): ["function", "module", "result"],
        ("function_errors", "counter"): ["exception", "function", "module"],
        ("function_calls_in_flight", "gauge"): ["function", "module"],
    }
    text = generate_latest(registry_of(metrics)).decode()
    assert f'function_calls_total{{function="a",module="{MODULE}",result="ok"}} 1.0' in text
    assert f'function_errors_total{{exception="Boom",function="a",module="{MODULE}"}} 1.0' in text
