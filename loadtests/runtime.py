"""The one object a load-test run has: its settings, every sample, the gates and their windows.

`loadtests.plugin` makes a `Run` when Locust starts (on the master, or the single local process) and
makes it `current`; on a worker `current()` is None, since workers only generate load and ship their
samples to the master. Shapes read ``current().gates.windows`` to see the windows closed so far (the
step shape stops on ``consecutive_windows`` failed ones and sets ``breaking_point``).

Time is unix seconds throughout. The run starts when the test starts (`Run.begin`), a window closes
every ``window_seconds`` from there (`Run.close_window`), and `Run.finish` evaluates the whole run once
the last samples are in: ``[start, end)`` with ``end`` just past the last request that ended.

Example:
    >>> from types import SimpleNamespace
    >>> run = Run(SimpleNamespace(parsed_options=None, runner=None),
    ...           Settings(thresholds=parse_list("p95<100, rps>1"), window_seconds=2))
    >>> run.begin(1000.0)
    >>> for i in range(8):
    ...     run.add(1000.0 + i / 2, "/", "GET", 50.0 if i < 4 else 500.0, failed=False)
    >>> [run.close_window(end).passed for end in (1002.0, 1004.0)]
    [True, False]
    >>> [(r.threshold.text, r.passed) for r in run.finish(stopped=1004.0)]
    [('p95<100', False), ('rps>1', True)]
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .gates import Gates, Result, Window
from .live import LiveMetrics
from .samples import Samples
from .thresholds import Threshold, ThresholdError, defaults, load_file, parse_list

__all__ = ["BreakingPointLike", "Run", "Settings", "SettingsError", "current", "set_current"]

DEFAULT_RESULTS_DIR = "loadtest-results"
DEFAULT_METRICS_PORT = 9646  # the loadgen job of alerting/prometheus.yml


class SettingsError(ValueError):
    """An option is wrong or two options do not go together; the message is one line."""


class BreakingPointLike(Protocol):
    """What a shape records as the run's breaking point (`loadtests.shapes.step.BreakingPoint`)."""

    @property
    def users(self) -> int: ...
    @property
    def rps(self) -> float: ...
    @property
    def window_start(self) -> float: ...


@dataclass(frozen=True)
class Settings:
    """The plugin's options, checked: the gates, windows, outputs and integrations of one run.

    Use `from_options` on Locust's parsed options; the defaults are those of plain
    ``locust -f loadtests/locustfile.py --headless`` (the seed gates of `loadtests.thresholds.defaults`).
    """

    thresholds: tuple[Threshold, ...] = field(default_factory=lambda: tuple(defaults()))
    window_seconds: float = 10.0
    consecutive_windows: int = 3
    results_dir: Path = Path(DEFAULT_RESULTS_DIR)
    metrics_port: int = DEFAULT_METRICS_PORT
    metrics_host: str = "127.0.0.1"
    metrics_linger: float = 0.0
    preflight_path: str = "/healthz"
    prometheus_url: str | None = None
    baseline: Path | None = None
    regression_margin: float = 0.10
    grafana_url: str | None = None
    grafana_token_file: Path | None = None

    @classmethod
    def from_options(cls, options: Any) -> Settings:
        """Settings from Locust's parsed options (None or missing attributes: the defaults).

        Precedence: ``--thresholds`` and the window options on the command line (or ``Y2S_*``), then
        ``--thresholds-file`` (its thresholds are used together with ``--thresholds``), then the defaults.
        Raises `SettingsError` (one line) on a bad value or combination.
        """

        def get(name: str) -> Any:
            return getattr(options, name, None)

        try:
            file_thresholds: list[Threshold] = []
            file_options: dict[str, Any] = {}
            if get("thresholds_file"):
                file_thresholds, file_options = load_file(Path(get("thresholds_file")))
            given = parse_list(get("thresholds")) if get("thresholds") is not None else []
        except ThresholdError as exc:
            raise SettingsError(str(exc)) from None
        chosen = [*file_thresholds, *given] or defaults()
        window = _pick(get("window_seconds"), file_options.get("window_seconds"), cls.window_seconds)
        consecutive = _pick(get("consecutive_windows"), file_options.get("consecutive_windows"), 3)
        settings = cls(
            thresholds=tuple(chosen),
            window_seconds=float(window),
            consecutive_windows=int(consecutive),
            results_dir=Path(get("results_dir") or DEFAULT_RESULTS_DIR),
            metrics_port=int(_pick(get("metrics_port"), None, DEFAULT_METRICS_PORT)),
            metrics_host=get("metrics_host") or "127.0.0.1",
            metrics_linger=float(get("metrics_linger") or 0.0),
            preflight_path=_pick(get("y2s_preflight_path"), None, "/healthz"),
            prometheus_url=get("prometheus_url") or None,
            baseline=Path(get("baseline")) if get("baseline") else None,
            regression_margin=float(_pick(get("regression_margin"), None, 0.10)),
            grafana_url=get("grafana_url") or None,
            grafana_token_file=Path(get("grafana_token_file")) if get("grafana_token_file") else None,
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise `SettingsError` on a bad value or combination."""
        if not (math.isfinite(self.window_seconds) and self.window_seconds > 0):
            raise SettingsError(f"--window-seconds {self.window_seconds}: expected a positive number")
        if self.consecutive_windows < 1:
            raise SettingsError(
                f"--consecutive-windows {self.consecutive_windows}: expected a whole number >= 1"
            )
        if not 0 <= self.metrics_port <= 65535:
            raise SettingsError(f"--metrics-port {self.metrics_port}: expected 0 (off) to 65535")
        if not (math.isfinite(self.regression_margin) and self.regression_margin >= 0):
            raise SettingsError(
                f"--regression-margin {self.regression_margin}: expected a ratio >= 0, e.g. 0.10"
            )
        if self.preflight_path and not self.preflight_path.startswith("/"):
            raise SettingsError(
                f"--y2s-preflight-path {self.preflight_path!r}: expected a path such as /healthz"
            )
        if self.baseline is not None and self.prometheus_url is None:
            raise SettingsError("--baseline compares the server side: it needs --prometheus-url")
        if self.grafana_token_file is not None and self.grafana_url is None:
            raise SettingsError("--grafana-token-file needs --grafana-url")


def _pick(*values: Any) -> Any:
    return next(v for v in values if v is not None)


class Run:
    """One load-test run: `Settings`, `samples` (every request), `gates` (thresholds and windows).

    Args:
        environment: Locust's ``Environment`` (its ``runner`` gives the user count; a stand-in with
            ``parsed_options`` and ``runner`` attributes does in tests).
        settings: default: `Settings.from_options` of ``environment.parsed_options``.

    Attributes:
        start: unix time the test started (`begin`), None before.
        end: the end of the run's range once `finish` ran: just past the last request's end.
        breaking_point: set by a shape (the step shape) when the climb broke; None otherwise.
        live: the live metrics, fed with every request the samples get.
    """

    def __init__(self, environment: Any, settings: Settings | None = None) -> None:
        self.environment = environment
        self.settings = settings or Settings.from_options(getattr(environment, "parsed_options", None))
        self.samples = Samples()
        self.gates = Gates(self.settings.thresholds, self.settings.window_seconds)
        self.live = LiveMetrics(users=self.users, workers=self.workers)
        self.live.set_limits(self.settings.thresholds)
        self.start: float | None = None
        self.end: float | None = None
        self.stopped: float | None = None
        self.last_sample = -math.inf
        self.breaking_point: BreakingPointLike | None = None
        self.results: list[Result] = []
        self.reported: dict[str, float] = {}  # worker id -> every sample up to this time has come in
        self.user_counts: list[tuple[float, int]] = []  # (unix time, users), noted every second or so
        self.users_at_stop: int | None = None
        self._so_far_next = 0.0  # perf_counter time before which the run so far is not re-evaluated

    @property
    def windows(self) -> list[Window]:
        """The windows closed so far (`Gates.windows`)."""
        return self.gates.windows

    @property
    def thresholds(self) -> tuple[Threshold, ...]:
        return self.settings.thresholds

    @property
    def window_seconds(self) -> float:
        return self.settings.window_seconds

    @property
    def consecutive_windows(self) -> int:
        return self.settings.consecutive_windows

    def users(self) -> int:
        """Users running now (0 without a runner)."""
        runner = getattr(self.environment, "runner", None)
        return int(getattr(runner, "user_count", 0) or 0)

    def workers(self) -> int:
        """Processes generating load: the master's connected workers, or 1 for a local run."""
        runner = getattr(self.environment, "runner", None)
        return int(getattr(runner, "worker_count", 0) or 0)

    def begin(self, now: float | None = None) -> None:
        """The test starts now: fresh samples, gates and windows (a restart in the web UI starts over)."""
        if self.start is not None:
            self.samples = Samples()
            self.gates = Gates(self.settings.thresholds, self.settings.window_seconds)
            self.live.aggregate = type(self.live.aggregate)(self.live.aggregate.bounds)
            self.end = self.stopped = None
            self.last_sample = -math.inf
            self.breaking_point = None
            self.results = []
            self.user_counts = []
            self.users_at_stop = None
        self.start = time.time() if now is None else now
        self.live.start = self.start

    def note_users(self, now: float | None = None) -> None:
        """Note the users running now (the chart's users line, each window's users): kept when the
        count changed or a second passed since the last note."""
        now = time.time() if now is None else now
        users = self.users()
        if not self.user_counts or self.user_counts[-1][1] != users or now - self.user_counts[-1][0] >= 1:
            self.user_counts.append((now, users))

    def users_at(self, t: float) -> int:
        """The users noted last at or before ``t`` (the users now if none was)."""
        index = bisect.bisect_right(self.user_counts, t, key=lambda note: note[0])
        return self.user_counts[index - 1][1] if index else self.users()

    def stopping(self, now: float | None = None) -> None:
        """The users are told to stop now: note when, and how many there were (the last window's)."""
        now = time.time() if now is None else now
        self.stopped = now
        self.users_at_stop = self.users()
        self.note_users(now)

    def add(self, t: float, name: str, method: str, latency_ms: float, failed: bool) -> None:
        """One request that ended at ``t`` (a local run's own users)."""
        self.samples.add(t, name, method, latency_ms, failed)
        self.live.aggregate.observe(method, name, latency_ms, failed)
        self.last_sample = max(self.last_sample, t)

    def merge(self, worker: str, report: dict[str, Any]) -> None:
        """A worker's report (`loadtests.plugin`): its samples, live counts, and how far it is complete."""
        self.samples.merge(report["samples"])
        self.live.aggregate.merge(report["live"])
        if report.get("last") is not None:
            self.last_sample = max(self.last_sample, float(report["last"]))
        self.reported[worker] = float(report["until"])

    def next_window(self) -> tuple[float, float]:
        """The range of the next window to close."""
        if self.start is None:
            raise RuntimeError("the run has not started")
        windows = self.gates.windows
        start = windows[-1].end if windows else self.start
        return start, start + self.settings.window_seconds

    def close_window(self, end: float, users: int | None = None) -> Window:
        """Close the window ending at ``end`` (``users``: running at its end, default `users_at` it);
        publish it and the run so far as live metrics."""
        start, _ = self.next_window()
        users = self.users_at(end) if users is None else users
        window = self.gates.close_window(self.samples, start, end, users)
        self.live.set_results(window.results)
        self._publish_so_far(end)
        return window

    def _publish_so_far(self, end: float) -> None:
        """The run-scope values up to ``end``, as live metrics; at most 10 % of the time is spent on
        it (it reads every sample: a soak test's hours of them are evaluated less and less often)."""
        if self.start is None or time.perf_counter() < self._so_far_next:
            return
        began = time.perf_counter()
        so_far = self.gates.evaluate_run(self.samples, self.start, end)
        self.live.set_results(so_far)
        self.live.verdict = self.gates.exit_code(so_far) == 0
        self._so_far_next = time.perf_counter() + 9 * (time.perf_counter() - began)

    def finish(self, stopped: float | None = None, tail: float = 1.0) -> list[Result]:
        """Evaluate the whole run once every sample is in; also close the last, partial window.

        ``stopped`` is when the users were told to stop (default: now). The run ends just past the
        later of that and the last request's end; a last window shorter than ``tail`` seconds (or
        than a window) is left out, too short to judge.
        """
        if self.start is None:
            raise RuntimeError("the run has not started")
        self.stopped = stopped if stopped is not None else (self.stopped or time.time())
        self.end = math.nextafter(max(self.stopped, self.last_sample, self.start), math.inf)
        start, end = self.next_window()
        while end <= self.end:  # windows still waiting for worker reports when the run stopped
            self.close_window(end)
            start, end = self.next_window()
        if self.end - start >= min(tail, self.settings.window_seconds):
            self.close_window(self.end, self.users_at_stop)
        self.results = self.gates.evaluate_run(self.samples, self.start, self.end)
        self.live.set_results(self.results)
        self.live.verdict = self.gates.exit_code(self.results) == 0
        return self.results


_current: Run | None = None


def current() -> Run | None:
    """The run of this process: set on the master or local process once Locust started; None on workers."""
    return _current


def set_current(run: Run | None) -> None:
    """Make ``run`` the current one (`loadtests.plugin` does at init)."""
    global _current  # noqa: PLW0603  (one run per process, read by shapes)
    _current = run
