"""`cached`: put a function (sync or async) in front of a metered `TTLCache`.

The wrapper does the hit itself (one dict lookup, one clock compare, one lock-free count) and hands
misses to the cache's single-flight loaders, so a hit costs about as much as a plain function call.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Hashable
from typing import Any, ParamSpec, TypeVar, cast

from exporter.instrumentation._cache import _KWARGS, TTLCache
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

P = ParamSpec("P")
R = TypeVar("R")


def cached(
    *,
    ttl: float | None = None,
    maxsize: int = 1024,
    name: str | None = None,
    cache: TTLCache[Any, Any] | None = None,
    key: Callable[..., Hashable] | None = None,
    metrics: MetricSet = DEFAULT_METRICS,
    timer: Callable[[], float] = time.monotonic,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Cache a function's results (sync or async) in a metered `TTLCache`, one load per key at a time.

    Use it on lookups that are pure enough, called with hashable arguments; the key is the arguments
    as ``functools.lru_cache`` makes it (``self`` included for a method), or ``key(*args, **kwargs)``.

    Args:
        ttl, maxsize, name: the new cache's (``name`` defaults to ``module.qualname``).
        cache: an existing cache to use instead (to share one, or to ``pop`` from it), without ``ttl``.
        key: makes the key from the call's arguments.
        metrics, timer: as for `TTLCache`.

    Example:
        >>> metrics = MetricSet()
        >>> @cached(ttl=300, maxsize=1000, name="channel_titles", metrics=metrics)
        ... def channel_title(channel_id: str) -> str:
        ...     return channel_id.upper()
        >>> channel_title("uc1"), channel_title("uc1")
        ('UC1', 'UC1')
    """
    if (cache is None) == (ttl is None):
        raise ValueError(
            "cached: pass ttl= (with maxsize= and name=) for a new cache, or cache= for one you have"
        )

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        label = name or f"{function.__module__}.{function.__qualname__}"
        store = cache  # not `cache or ...`: an empty cache is false
        if store is None:
            store = TTLCache(name=label, maxsize=maxsize, ttl=cast(float, ttl), metrics=metrics, timer=timer)
        lookup, clock, hit = store._data.get, store._timer, store._hit
        make_key: Callable[..., Hashable] = key or _make_key

        if inspect.iscoroutinefunction(function):

            async def cached_async(*args: Any, **kwargs: Any) -> Any:
                k = make_key(*args, **kwargs)
                entry = lookup(k)
                if entry is not None and clock() < entry[1]:
                    hit()
                    return entry[0]
                return await store._aload(k, functools.partial(function, *args, **kwargs))

            return cast(Callable[P, R], functools.wraps(function)(cached_async))

        def cached_sync(*args: Any, **kwargs: Any) -> Any:
            # The hot path: the key made inline, and no closure (a lambda would put args in cells).
            k = (*args, _KWARGS, *kwargs.items()) if kwargs else args
            entry = lookup(k)
            if entry is not None and clock() < entry[1]:
                hit()
                return entry[0]
            return store._load(k, functools.partial(function, *args, **kwargs))

        def cached_by_key(*args: Any, **kwargs: Any) -> Any:
            k = make_key(*args, **kwargs)
            entry = lookup(k)
            if entry is not None and clock() < entry[1]:
                hit()
                return entry[0]
            return store._load(k, functools.partial(function, *args, **kwargs))

        return cast(Callable[P, R], functools.wraps(function)(cached_sync if key is None else cached_by_key))

    return decorate


def _make_key(*args: Any, **kwargs: Any) -> Hashable:
    """The key of a call, as ``functools.lru_cache`` makes it (``f(a=1, b=2)`` is not ``f(b=2, a=1)``)."""
    return (*args, _KWARGS, *kwargs.items()) if kwargs else args
