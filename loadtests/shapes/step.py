"""The step (stress) shape: climb in steps until the gates fail, then stop and report the breaking point."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loadtests.shapes._base import Param, Stage, StagesShape, parse_duration, positive_float, positive_int

if TYPE_CHECKING:
    from loadtests.gates import Window
    from loadtests.runtime import Run

__all__ = ["BreakingPoint", "StepLoadShape", "window_ok"]

logger = logging.getLogger("loadtests.shapes.step")  # the same name when Locust loads the file as "step"


@dataclass(frozen=True)
class BreakingPoint:
    """The highest step whose windows all met the thresholds: its users, its req/s, its first window."""

    users: int
    rps: float
    window_start: float  # unix time


def _current_run() -> Run | None:
    from loadtests import runtime  # noqa: PLC0415  (imported when a tick needs it: shapes load without it)

    return runtime.current()


def _is_floor(metric: str, op: str) -> bool:
    return metric in ("rps", "requests") and op in (">", ">=")


def window_ok(window: Window) -> bool:
    """Whether a window met every threshold that can break a climb.

    Throughput floors (``rps>...``, ``requests>...``) are left out: the low steps of a climb miss them
    by design, and what the climb measures is how far req/s goes before latency or errors give way.

    Example:
        >>> from loadtests.gates import Result, Window
        >>> from loadtests.thresholds import parse
        >>> results = (Result(parse("p95<2000"), "window", 80.0, True, 0, 10),
        ...            Result(parse("rps>1000"), "window", 50.0, False, 0, 10))
        >>> window_ok(Window(0, 10, 5, results)), Window(0, 10, 5, results).passed
        (True, False)
    """
    return all(r.passed for r in window.results if not _is_floor(r.threshold.metric, r.threshold.op))


class StepLoadShape(StagesShape):
    """Start at ``start_users`` and add ``step_users`` every ``step_seconds`` up to ``max_users``; stop
    when the gates fail ``consecutive_windows`` windows in a row and record the breaking point.

    Use it to find a target's capacity: ``locust -f loadtests/locustfile.py,loadtests/shapes/step.py
    --headless``. Every tick (once a second) it reads the windows the gates closed so far
    (`loadtests.runtime.current`); once the last ``consecutive_windows`` of them failed, it sets the run's
    ``breaking_point`` to the highest step whose windows all passed (its users, its req/s over those
    windows and their start) and returns None, which stops the test. A window belongs to a step when it
    lies wholly inside it, so keep ``step_seconds`` at least twice ``--window-seconds``; windows that
    straddle two steps count towards the failure streak but not towards any step. Throughput floors
    (``rps>1000``) never break the climb (see `window_ok`). If the climb reaches ``max_users`` and holds
    it for a step without breaking, the test ends with no breaking point (null in summary.json).

    Parameters (class attributes; option, environment variable):
        start_users: users of the first step (``--step-start-users``, ``Y2S_STEP_START_USERS``).
        step_users: users added per step (``--step-users``, ``Y2S_STEP_USERS``).
        step_seconds: length of a step, ``60``, ``90s`` or ``2m`` (``--step-seconds``, ``Y2S_STEP_SECONDS``).
        max_users: users of the last step (``--step-max-users``, ``Y2S_STEP_MAX_USERS``).
        spawn_rate: users started per second at each step (``--step-spawn-rate``, ``Y2S_STEP_SPAWN_RATE``).
        consecutive_windows: failed windows in a row that end the climb; None (the default) takes the
            run's: the plugin's ``--consecutive-windows`` (``Y2S_CONSECUTIVE_WINDOWS``), else the
            thresholds file's ``consecutive_windows``, else 3.

    Example:
        >>> shape = StepLoadShape(start_users=10, step_users=20, step_seconds=60, max_users=45)
        >>> shape.configure()
        >>> [stage.text for stage in shape.stages]
        ['60:10:10', '60:30:10', '60:45:10']
    """

    start_users: int = 10
    step_users: int = 10
    step_seconds: float = 60.0
    max_users: int = 500
    spawn_rate: float = 10.0
    consecutive_windows: int | None = None
    params = (
        Param("start_users", "--step-start-users", positive_int, "users of the first step"),
        Param("step_users", "--step-users", positive_int, "users added at each step"),
        Param("step_seconds", "--step-seconds", parse_duration, "length of each step (60, 90s, 2m)"),
        Param("max_users", "--step-max-users", positive_int, "users of the last step"),
        Param("spawn_rate", "--step-spawn-rate", positive_float, "users started per second at each step"),
        Param("consecutive_windows", "--consecutive-windows", positive_int, "", register=False),
    )
    #: Set when the climb stopped on failed windows (also given to the run as ``breaking_point``).
    breaking_point: BreakingPoint | None = None
    #: True once the climb ended (broken or topped out): every later tick returns None.
    finished: bool = False
    _warned: bool = False

    def configured(self) -> None:
        if self.max_users < self.start_users:
            raise ValueError(f"max_users {self.max_users}: expected >= start_users {self.start_users}")
        steps = math.ceil((self.max_users - self.start_users) / self.step_users) + 1
        self.stages = tuple(
            Stage(
                self.step_seconds,
                min(self.start_users + k * self.step_users, self.max_users),
                self.spawn_rate,
            )
            for k in range(steps)
        )
        self.breaking_point = None
        self.finished = False
        self._warned = False

    def step_span(self, index: int) -> tuple[float, float]:
        """Unix start and end of step ``index`` (run time 0 is `started_at`)."""
        return (
            self.started_at + index * self.step_seconds,
            self.started_at + (index + 1) * self.step_seconds,
        )

    def windows(self, run: Run) -> list[Window]:
        """The run's windows since this climb started (a web UI rerun sees none of the last run's)."""
        return [w for w in run.gates.windows if w.start >= self.started_at]

    def find_breaking_point(self, run: Run) -> BreakingPoint | None:
        """The highest step whose windows (those wholly inside it; at least one) all passed `window_ok`."""
        windows = self.windows(run)
        for index in reversed(range(len(self.stages))):
            start, end = self.step_span(index)
            inside = [w for w in windows if w.start >= start and w.end <= end]
            if inside and all(window_ok(w) for w in inside):
                rps = run.samples.stats(start=inside[0].start, end=inside[-1].end).rps
                return BreakingPoint(self.stages[index].users, rps, inside[0].start)
        return None

    def limit(self, run: Run) -> int:
        """Failed windows in a row that end the climb: `consecutive_windows`, else the run's setting."""
        return self.consecutive_windows or run.consecutive_windows

    @staticmethod
    def failed_in_a_row(windows: Sequence[Window]) -> int:
        """How many of the last ``windows`` failed `window_ok` in a row."""
        count = 0
        for window in reversed(windows):
            if window_ok(window):
                break
            count += 1
        return count

    def tick(self) -> tuple[int, float] | None:
        """The current step's users and spawn rate, or None: broken, or past the last step."""
        self.ensure_configured()
        if self.finished:
            return None
        run = _current_run()
        if run is None and not self._warned:
            self._warned = True
            logger.warning("StepLoadShape: no run gates here (loadtests.plugin not loaded): climbing blind")
        if run is not None and self.failed_in_a_row(self.windows(run)) >= self.limit(run):
            self._stop(run)
            return None
        current = super().tick()
        if current is None:
            self.finished = True
            logger.info("StepLoadShape: held %d users without breaking: no breaking point", self.max_users)
        return current

    def _stop(self, run: Run) -> None:
        """End the climb: find the breaking point, give it to the run, log it."""
        self.finished = True
        windows = self.windows(run)
        found = self.stage_at(self.get_run_time())
        users = windows[-1].users or (found[1].users if found else self.max_users)  # the users that failed
        self.breaking_point = self.find_breaking_point(run)
        run.breaking_point = self.breaking_point
        if self.breaking_point is None:
            logger.warning(
                "StepLoadShape: %d failed windows in a row at %d users; no step passed: no breaking point",
                self.limit(run),
                users,
            )
        else:
            logger.info(
                "StepLoadShape: %d failed windows in a row at %d users; breaking point: %d users, %.1f req/s",
                self.limit(run),
                users,
                self.breaking_point.users,
                self.breaking_point.rps,
            )
