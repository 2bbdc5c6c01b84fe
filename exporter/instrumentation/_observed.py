"""`observed`: time a function or a block; count its calls, its errors by exception type, in flight.

One object works as ``@observed`` (sync and async functions, methods), ``with observed("name"):`` and
``async with observed("name"):``. A call is counted when it ends, so rate, errors and latency line up:

- ``function_call_duration_seconds{function, module}``: a histogram of every call;
- ``function_calls_total{function, module, result}``: ``result`` is ``ok`` or ``error``;
- ``function_errors_total{function, module, exception}``: the exception class's ``__qualname__``, at
  most `MAX_EXCEPTION_LABELS` distinct per function, then ``other``;
- ``function_calls_in_flight{function, module}`` with ``in_flight=True`` (multiprocess mode livesum).

An error is any exception leaving the call, ``BaseException`` included: ``KeyboardInterrupt``,
``SystemExit`` and ``asyncio.CancelledError`` (a cancelled or timed-out request) count with their type;
``GeneratorExit`` does not (a suspended coroutine closed by its owner was abandoned, not failed), so
that call is ``ok``. Exceptions propagate unchanged: the same object, the traceback intact.

The hot path is one ``perf_counter`` before, one after and a lock-free histogram ``observe``: every
label child is resolved at decoration time, and ``result="ok"`` is derived when collected, as the
histogram's count minus the errors. The error path counts the error and observes the duration while
holding the histogram child's ``lock``, and collecting folds and reads the errors under the same lock,
so a scrape sees either both or neither and ``result="ok"`` never goes down.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar, cast, overload

from exporter.instrumentation._calls import (
    IN_FLIGHT,
    LABELS,
    MAX_EXCEPTION_LABELS,
    CallChild,
    durations_family,
)
from exporter.instrumentation._core import DEFAULT_BUCKETS, Gauge, GaugeChild
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["MAX_EXCEPTION_LABELS", "Observed", "observed"]


# The context-manager form's start times: (timer, start) per open block, innermost last. One variable
# for every timer, so that a module-level ``timer = observed("x")`` used by many threads and tasks at
# once times each block apart (each thread and each asyncio task has its own context).
_STARTS: contextvars.ContextVar[tuple[tuple[Observed, float], ...]] = contextvars.ContextVar(
    "observed_starts", default=()
)


class Observed:
    """A timer to use as a decorator, a context manager or an async context manager; see `observed`."""

    __slots__ = ("_bound", "_caller", "_clock", "_durations", "_in_flight", "module", "name")

    def __init__(
        self,
        name: str | None,
        *,
        module: str | None,
        metrics: MetricSet,
        buckets: Sequence[float],
        in_flight: bool,
        clock: Callable[[], float],
        caller: str = "",
    ) -> None:
        self.name = name
        self.module = module
        self._caller = caller  # the module that made this timer: the context-manager form's default
        self._clock = clock
        self._durations = durations_family(metrics, buckets)
        doc = "Calls of observed functions and blocks that have started and not yet ended."
        self._in_flight: Gauge | None = (
            metrics.gauge(IN_FLIGHT, doc, LABELS, multiprocess_mode="livesum") if in_flight else None
        )
        self._bound: tuple[CallChild, GaugeChild | None] | None = None

    def _children(self, function: str, module: str) -> tuple[CallChild, GaugeChild | None]:
        gauge = None if self._in_flight is None else self._in_flight.labels(function, module)
        return self._durations.child(function, module), gauge

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        if isinstance(function, staticmethod | classmethod):  # applied above them: wrap what they hold
            return cast(Callable[P, R], type(function)(self(function.__func__)))
        if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
            raise TypeError(f"observed: {function.__qualname__} is a generator function; time its consumer")
        qualname = getattr(function, "__qualname__", type(function).__qualname__)
        child, gauge = self._children(self.name or qualname, self.module or function.__module__)
        make = _async_wrapper if inspect.iscoroutinefunction(function) else _sync_wrapper
        return cast(Callable[P, R], functools.wraps(function)(make(function, child, gauge, self._clock)))

    def __enter__(self) -> Observed:
        bound = self._bound
        if bound is None:
            if self.name is None:
                raise ValueError('observed: a block needs a name, as in `with observed("load_sheet"):`')
            bound = self._bound = self._children(self.name, self.module or self._caller)
        if bound[1] is not None:
            bound[1].inc()
        _STARTS.set((*_STARTS.get(), (self, self._clock())))
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        end = self._clock()
        stack = _STARTS.get()
        index = next(i for i in range(len(stack) - 1, -1, -1) if stack[i][0] is self)
        _STARTS.set(stack[:index] + stack[index + 1 :])
        child, gauge = cast(tuple[CallChild, GaugeChild | None], self._bound)
        if exc is None:
            child.observe(end - stack[index][1])
        else:
            child.observe_error(end - stack[index][1], exc)
        if gauge is not None:
            gauge.dec()

    async def __aenter__(self) -> Observed:
        return self.__enter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)


def _sync_wrapper(
    function: Callable[..., Any], child: CallChild, gauge: GaugeChild | None, clock: Callable[[], float]
) -> Callable[..., Any]:
    observe, fail = child.observe, child.observe_error

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            fail(clock() - start, error)
            raise
        observe(clock() - start)
        return result

    if gauge is None:
        return timed
    up, down = gauge.inc, gauge.dec

    def timed_in_flight(*args: Any, **kwargs: Any) -> Any:
        up()
        try:
            return timed(*args, **kwargs)
        finally:
            down()

    return timed_in_flight


def _async_wrapper(
    function: Callable[..., Any], child: CallChild, gauge: GaugeChild | None, clock: Callable[[], float]
) -> Callable[..., Any]:
    observe, fail = child.observe, child.observe_error
    up, down = (gauge.inc, gauge.dec) if gauge is not None else (None, None)

    async def timed(*args: Any, **kwargs: Any) -> Any:
        if up is not None:
            up()
        start = clock()
        try:
            result = await function(*args, **kwargs)
        except BaseException as error:
            fail(clock() - start, error)
            raise
        else:
            observe(clock() - start)
            return result
        finally:
            if down is not None:
                down()

    return timed


@overload
def observed(function: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observed(
    name: str | None = None,
    *,
    module: str | None = None,
    metrics: MetricSet = DEFAULT_METRICS,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    in_flight: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> Observed: ...


def observed(
    name: str | Callable[..., Any] | None = None,
    *,
    module: str | None = None,
    metrics: MetricSet = DEFAULT_METRICS,
    buckets: Sequence[float] = DEFAULT_BUCKETS,
    in_flight: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> Observed | Callable[..., Any]:
    """Time calls of a function, or a block, into the ``function_*`` metrics of ``metrics``.

    Use it on the functions and blocks whose rate, errors and latency you want to see: request
    handlers, calls to the YouTube and Sheets APIs, a batch job's steps. ``@observed`` and
    ``@observed(...)`` both work; the signature (and ``inspect.iscoroutinefunction``) is kept.

    Args:
        name: the ``function`` label; default the function's ``__qualname__`` (a block needs one).
        module: the ``module`` label; default the function's ``__module__`` (for a block, the module
            that called ``observed``).
        metrics: where the families live; tests pass a fresh ``MetricSet()``.
        buckets: the duration histogram's buckets, the same for every ``observed`` of one ``metrics``.
        in_flight: also keep ``function_calls_in_flight``.
        clock: seconds, for durations; tests inject a fake.

    Example:
        >>> metrics = MetricSet()
        >>> @observed(metrics=metrics)
        ... def load_sheet(sheet_id: str) -> int:
        ...     return len(sheet_id)
        >>> with observed("refresh", metrics=metrics):
        ...     load_sheet("abc")
        3
        >>> calls = [s for m in metrics.collect() for s in m.samples if s.name == "function_calls_total"]
        >>> sorted(s.labels["function"] for s in calls)
        ['load_sheet', 'load_sheet', 'refresh', 'refresh']
    """
    function = name if callable(name) else None
    timer = Observed(
        None if callable(name) else name,
        module=module,
        metrics=metrics,
        buckets=buckets,
        in_flight=in_flight,
        clock=clock,
        caller=sys._getframe(1).f_globals.get("__name__", ""),
    )
    return timer if function is None else timer(function)
