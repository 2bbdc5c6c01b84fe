"""Threshold gates over a whole run and over fixed windows, and the exit code they give.

Every ``window_seconds`` the load generator closes a window: each threshold is evaluated on the
requests that ended in it (``rps`` = the window's requests / its length). Shapes read the windows,
e.g. the step shape stops after `Gates.consecutive_failed` reaches ``--consecutive-windows``. At the
end, `Gates.evaluate_run` evaluates each threshold over the whole run, and `Gates.exit_code` turns
those results into the process's exit code. A failed window is reported (summary, live metrics) but
does not fail the run by itself: only a failed run-scope result does.

A threshold on a range without requests fails (NaN never passes): no data cannot pass a gate.

Example:
    >>> from loadtests.samples import Samples
    >>> from loadtests.thresholds import parse_list
    >>> samples = Samples()
    >>> for i in range(20):
    ...     samples.add(100.0 + i, "/", "GET", 3000.0 if i >= 10 else 50.0, failed=False)
    >>> gates = Gates(parse_list("p95<2000, rps>0.5"), window_seconds=10)
    >>> [gates.close_window(samples, s, s + 10, users=5).passed for s in (100.0, 110.0)]
    [True, False]
    >>> gates.consecutive_failed()
    1
    >>> run = gates.evaluate_run(samples, 100.0, 120.0)
    >>> [(r.threshold.text, r.value, r.passed) for r in run]
    [('p95<2000', 3000.0, False), ('rps>0.5', 1.0, True)]
    >>> gates.exit_code(run) == EXIT_THRESHOLDS
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .samples import Samples, Stats
from .thresholds import Threshold

EXIT_OK, EXIT_THRESHOLDS, EXIT_ERROR, EXIT_UNREACHABLE = 0, 1, 2, 3


@dataclass(frozen=True)
class Result:
    """One threshold evaluated over ``[start, end)``: the measured value and whether it passed.

    ``scope`` is ``"run"`` (the whole run) or ``"window"`` (one window).
    """

    threshold: Threshold
    scope: str
    value: float
    passed: bool
    start: float
    end: float


@dataclass(frozen=True)
class Window:
    """One closed window: its time range, the users running at its end and every threshold's result."""

    start: float
    end: float
    users: int
    results: tuple[Result, ...]

    @property
    def passed(self) -> bool:
        """Whether every threshold passed in this window."""
        return all(result.passed for result in self.results)


class Gates:
    """The thresholds of one run and the windows closed so far.

    Args:
        thresholds: the gates (`loadtests.thresholds.parse_list`, `load_file` or `defaults`).
        window_seconds: the length of a window; the load generator closes one this often.

    Example:
        >>> from loadtests.thresholds import defaults
        >>> gates = Gates(defaults())
        >>> gates.window_seconds, gates.windows, gates.consecutive_failed()
        (10.0, [], 0)
    """

    def __init__(self, thresholds: Sequence[Threshold], window_seconds: float = 10.0) -> None:
        if not math.isfinite(window_seconds) or window_seconds <= 0:
            raise ValueError(f"window_seconds: expected a positive number of seconds, got {window_seconds!r}")
        self.thresholds = tuple(thresholds)
        self.window_seconds = float(window_seconds)
        self._windows: list[Window] = []

    def _evaluate(self, samples: Samples, scope: str, start: float, end: float) -> list[Result]:
        by_name: dict[str | None, Stats] = {}
        results = []
        for threshold in self.thresholds:
            if threshold.name not in by_name:
                by_name[threshold.name] = samples.stats(threshold.name, start, end)
            value = by_name[threshold.name].value(threshold.metric)
            results.append(Result(threshold, scope, value, threshold.passes(value), start, end))
        return results

    def close_window(self, samples: Samples, start: float, end: float, users: int) -> Window:
        """Evaluate every threshold over ``[start, end)``, keep the window and return it."""
        window = Window(start, end, users, tuple(self._evaluate(samples, "window", start, end)))
        self._windows.append(window)
        return window

    @property
    def windows(self) -> list[Window]:
        """The windows closed so far, oldest first (a copy)."""
        return list(self._windows)

    def consecutive_failed(self) -> int:
        """How many of the last windows failed in a row (0 when the last one passed)."""
        count = 0
        for window in reversed(self._windows):
            if window.passed:
                break
            count += 1
        return count

    def evaluate_run(self, samples: Samples, start: float, end: float) -> list[Result]:
        """Every threshold over the whole run, ``[start, end)``: the results that decide the exit code."""
        return self._evaluate(samples, "run", start, end)

    def exit_code(self, run: Sequence[Result]) -> int:
        """`EXIT_THRESHOLDS` when a result of ``run`` failed, else `EXIT_OK`.

        Pass `evaluate_run`'s results: failed windows are reported alongside, but a window failing
        does not fail the run unless the run-scope result fails too.
        """
        return EXIT_THRESHOLDS if any(not result.passed for result in run) else EXIT_OK
