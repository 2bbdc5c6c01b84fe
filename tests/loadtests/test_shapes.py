"""Load shapes: tick tables on a patched clock, parameters, options, and the step shape's breaking point.

No Locust runner here (the root conftest keeps gevent's monkey patching off): a shape's clock is its
``get_run_time``, patched; the step shape's run is a fake `loadtests.runtime.current()` whose gates hold
the windows each test chooses.
"""

from __future__ import annotations

import logging
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from locust.argument_parser import LocustArgumentParser
from locust.util.load_locustfile import load_locustfile

import loadtests.shapes
from loadtests.gates import Result, Window
from loadtests.samples import Samples
from loadtests.shapes import (
    BreakingPoint,
    ConstantRateShape,
    RateStage,
    ShapeBase,
    SoakShape,
    SpikeShape,
    Stage,
    StepLoadShape,
    parse_duration,
    users_for,
)
from loadtests.shapes._base import add_shape_options, check_shape, parse_rate_stages, parse_stages
from loadtests.thresholds import parse

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_000_000.0  # the shape's run time 0, as unix time


class Clock:
    """The run time a patched ``get_run_time`` returns."""

    def __init__(self) -> None:
        self.now = 0.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


def started(shape: ShapeBase, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``shape`` as Locust starts it (`reset_time`), its run time 0 at `T0`, its clock patched."""
    shape.reset_time()
    shape.started_at = T0
    monkeypatch.setattr(shape, "get_run_time", lambda: clock.now)
    return shape


def ticks(shape: Any, clock: Clock, times: list[float]) -> list[Any]:
    out = []
    for t in times:
        clock.now = t
        out.append(shape.tick())
    return out


# --- the fake run: gates holding chosen windows, exact samples for req/s -----------------------------


@dataclass
class FakeGates:
    windows: list[Window] = field(default_factory=list)


@dataclass
class FakeRun:
    samples: Samples = field(default_factory=Samples)
    gates: FakeGates = field(default_factory=FakeGates)
    breaking_point: Any = None
    consecutive_windows: int = 3  # the run's setting (--consecutive-windows or the thresholds file)

    def window(
        self, start: float, end: float, *, ok: bool = True, floor_ok: bool = True, requests: int = 10
    ) -> None:
        """Close a window of ``end - start`` seconds (run time): p95 passes or fails, rps>1000 likewise."""
        a, b = T0 + start, T0 + end
        for i in range(requests):
            self.samples.add(a + (b - a) * i / requests, "/", "GET", 100.0 if ok else 3000.0, failed=False)
        results = (
            Result(parse("p95<2000"), "window", 100.0 if ok else 3000.0, ok, a, b),
            Result(parse("rps>1000"), "window", 2000.0 if floor_ok else 5.0, floor_ok, a, b),
        )
        self.gates.windows.append(Window(a, b, 0, results))


def patch_current(monkeypatch: pytest.MonkeyPatch, run: FakeRun | None) -> None:
    """Make `loadtests.runtime.current()` return ``run`` (a stub module if runtime.py is not there)."""
    try:
        from loadtests import runtime  # noqa: PLC0415
    except ImportError:
        stub = types.ModuleType("loadtests.runtime")
        stub.current = lambda: run  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "loadtests.runtime", stub)
    else:
        monkeypatch.setattr(runtime, "current", lambda: run)


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    """The run `loadtests.runtime.current()` returns: its gates hold the windows a test closes."""
    fake = FakeRun()
    patch_current(monkeypatch, fake)
    return fake


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """No run (a worker, or the plugin not loaded): `loadtests.runtime.current()` is None."""
    patch_current(monkeypatch, None)


def step_shape(clock: Clock, monkeypatch: pytest.MonkeyPatch, **params: Any) -> StepLoadShape:
    """10, 20, 30, ... 100 users, 30 s a step (unless ``params``)."""
    defaults: dict[str, Any] = {
        "start_users": 10,
        "step_users": 10,
        "step_seconds": 30.0,
        "max_users": 100,
    }
    return started(StepLoadShape(**(defaults | params)), clock, monkeypatch)  # type: ignore[no-any-return]


# --- tick tables -------------------------------------------------------------------------------------


def test_step_climbs_one_step_every_step_seconds(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch, spawn_rate=5.0)
    assert ticks(shape, clock, [0, 29.9, 30, 59.9, 60, 95]) == [
        (10, 5.0),
        (10, 5.0),
        (20, 5.0),
        (20, 5.0),
        (30, 5.0),
        (40, 5.0),
    ]


def test_step_clips_the_last_step_to_max_users(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch, start_users=10, step_users=20, max_users=45)
    assert [s.users for s in shape.stages] == [10, 30, 45]


def test_step_ends_without_breaking_point_after_holding_max_users(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch, max_users=30)
    assert ticks(shape, clock, [89.9, 90, 0]) == [(30, 10.0), None, None]
    assert (shape.finished, shape.breaking_point, run.breaking_point) == (True, None, None)


def test_spike_tick_table(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = started(SpikeShape(), clock, monkeypatch)
    assert ticks(shape, clock, [0, 59.9, 60, 89.9, 90, 179.9, 180]) == [
        (10, 10.0),
        (10, 10.0),
        (100, 100.0),
        (100, 100.0),
        (10, 100.0),
        (10, 100.0),
        None,
    ]


def test_soak_tick_table(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = started(SoakShape(), clock, monkeypatch)
    assert ticks(shape, clock, [0, 3600, 7199.9, 7200]) == [(50, 0.5), (50, 0.5), (50, 0.5), None]


def test_constant_rate_holds_ceil_rate_over_per_user_rate_users(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = ConstantRateShape(rates=(RateStage(10, 25), RateStage(20, 101)), per_user_rate=2.0)
    started(shape, clock, monkeypatch)
    assert ticks(shape, clock, [0, 9.9, 10, 29.9, 30]) == [
        (13, 13.0),
        (13, 13.0),
        (51, 51.0),
        (51, 51.0),
        None,
    ]


def test_constant_rate_spawn_rate_option_replaces_one_second_ramps(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = started(ConstantRateShape(per_user_rate=1.0, spawn_rate=50.0), clock, monkeypatch)
    assert ticks(shape, clock, [0, 60]) == [(100, 50.0), (1000, 50.0)]


def test_users_for_does_not_round_a_float_hair_up() -> None:
    assert [users_for(1.1, 0.1), users_for(0.7, 0.1), users_for(10.5, 1.0)] == [11, 7, 11]


def test_stage_durations_are_each_stages_own_length(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = started(SpikeShape(stages=(Stage(5, 1, 1), Stage(5, 2, 1))), clock, monkeypatch)
    assert ticks(shape, clock, [4.9, 5, 9.9, 10]) == [(1, 1.0), (2, 1.0), (2, 1.0), None]


# --- parameters: constructor, parsed options, environment, class attributes ---------------------------


def fake_runner(**options: Any) -> Any:
    return types.SimpleNamespace(
        environment=types.SimpleNamespace(parsed_options=types.SimpleNamespace(**options))
    )


def test_parsed_option_beats_environment_and_class_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Y2S_STEP_USERS", "7")
    shape = StepLoadShape()
    shape.runner = fake_runner(step_users=25, step_start_users=None)
    shape.reset_time()
    assert (shape.step_users, shape.start_users) == (25, StepLoadShape.start_users)


def test_environment_variable_beats_class_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Y2S_SPIKE_STAGES", "10s:5:5,20s:50:50")
    shape = SpikeShape()
    shape.reset_time()
    assert shape.stages == (Stage(10, 5, 5), Stage(20, 50, 50))


def test_constructor_argument_beats_option_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Y2S_STEP_MAX_USERS", "70")
    shape = StepLoadShape(max_users=40)
    shape.runner = fake_runner(step_max_users=90)
    shape.reset_time()
    assert shape.max_users == 40


def test_string_from_the_web_ui_is_parsed() -> None:
    shape = StepLoadShape()
    shape.runner = fake_runner(step_seconds="2m")
    shape.reset_time()
    assert shape.step_seconds == 120.0


def test_consecutive_windows_comes_from_the_plugins_option() -> None:
    shape = StepLoadShape()
    shape.runner = fake_runner(consecutive_windows=5)
    shape.reset_time()
    assert shape.consecutive_windows == 5


def test_subclass_changes_defaults_by_class_attribute() -> None:
    class Bigger(StepLoadShape):
        step_users = 50

    shape = Bigger()
    shape.configure()
    assert [s.users for s in shape.stages][:3] == [10, 60, 110]


def test_bad_environment_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Y2S_STEP_USERS", "ten")
    with pytest.raises(ValueError, match=r"^Y2S_STEP_USERS: 'ten': expected a whole number >= 1$"):
        StepLoadShape().reset_time()


def test_unknown_constructor_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match=r"^SpikeShape: unknown parameter\(s\) users$"):
        SpikeShape(users=3)


def test_max_users_below_start_users_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^max_users 5: expected >= start_users 10$"):
        StepLoadShape(max_users=5).configure()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("2.5", 2.5), ("45s", 45.0), ("5m", 300.0), ("1h30m", 5400.0), ("1m30.5s", 90.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "duration '': expected seconds or 30s, 5m, 1h30m"),
        ("5x", "duration '5x': expected seconds or 30s, 5m, 1h30m"),
        ("0", "duration '0': expected a positive number of seconds"),
        ("-3", "duration '-3': expected a positive number of seconds"),
    ],
)
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" , ", "' , ': expected a stage table, e.g. 1m:10:10,30s:200:200"),
        ("1m:10", "stage '1m:10': expected 3 fields separated by ':', e.g. 1m:10:10,30s:200:200"),
        (
            "1m:ten:10",
            "stage '1m:ten:10': users 'ten': expected a whole number >= 0; e.g. 1m:10:10,30s:200:200",
        ),
        ("1m:10:0", "stage '1m:10:0': spawn rate '0': expected a number > 0; e.g. 1m:10:10,30s:200:200"),
        (
            "xm:1:1",
            "stage 'xm:1:1': duration 'xm': expected seconds or 30s, 5m, 1h30m; e.g. 1m:10:10,30s:200:200",
        ),
    ],
)
def test_parse_stages_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_stages(text)
    assert str(err.value) == message


def test_parse_rate_stages_refuses_a_negative_rate() -> None:
    with pytest.raises(ValueError) as err:
        parse_rate_stages("1m:-5")
    assert str(err.value) == "stage '1m:-5': rate '-5': expected a number >= 0; e.g. 1m:100,5m:1000"


def test_parse_rate_stages_accepts_semicolons() -> None:
    assert parse_rate_stages("1m:100; 30s:2.5") == (RateStage(60, 100), RateStage(30, 2.5))


# --- options on Locust's parser ----------------------------------------------------------------------


def shape_parser() -> LocustArgumentParser:
    parser = LocustArgumentParser(prog="locust")
    add_shape_options(parser)
    return parser


def test_every_shape_option_is_added_once_even_for_subclasses() -> None:
    class Again(StepLoadShape):  # a second class with the same params: no argparse conflict
        pass

    options = [o for action in shape_parser()._actions for o in action.option_strings]
    assert sorted(options) == [
        "--help",
        "--rate-per-user",
        "--rate-spawn-rate",
        "--rate-stages",
        "--soak-stages",
        "--spike-stages",
        "--step-max-users",
        "--step-seconds",
        "--step-spawn-rate",
        "--step-start-users",
        "--step-users",
        "-h",
    ]


def test_options_are_parsed_and_read_from_y2s_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Y2S_STEP_USERS", "7")
    options = shape_parser().parse_args(["--spike-stages", "1m:5:5", "--step-seconds", "90s"])
    assert (options.spike_stages, options.step_seconds, options.step_users, options.soak_stages) == (
        (Stage(60, 5, 5),),
        90.0,
        7,
        None,
    )


def test_bad_option_is_one_line_and_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        shape_parser().parse_args(["--step-users", "0"])
    assert exit_.value.code == 2
    assert (
        capsys.readouterr().err == "locust: error: argument --step-users: '0': expected a whole number >= 1\n"
    )


def test_bad_combination_is_one_line_and_exit_code_2_at_init(capsys: pytest.CaptureFixture[str]) -> None:
    shape = StepLoadShape()
    shape.runner = fake_runner(step_start_users=20, step_max_users=10)
    with pytest.raises(SystemExit) as exit_:
        check_shape(environment=types.SimpleNamespace(shape_class=shape))
    assert exit_.value.code == 2
    assert (
        capsys.readouterr().err == "locust: error: StepLoadShape: max_users 10: expected >= start_users 20\n"
    )


def test_init_check_leaves_other_shapes_alone() -> None:
    check_shape(environment=types.SimpleNamespace(shape_class=object()))


def test_shape_options_stay_out_of_the_web_ui() -> None:
    assert not any(
        dest.startswith(("step_", "spike_", "soak_", "rate_"))
        for dest in shape_parser().args_included_in_web_ui
    )


# --- the step shape's stop on failed windows and its breaking point -----------------------------------


def test_step_stops_after_n_failed_windows_in_a_row_and_records_the_breaking_point(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch)
    for start in range(0, 60, 10):  # steps 1 and 2 (10 and 20 users): every window passes
        run.window(start, start + 10, requests=30 if start >= 30 else 10)
    for start in range(60, 90, 10):  # step 3 (30 users): all three fail
        run.window(start, start + 10, ok=False)
    clock.now = 90
    assert shape.tick() is None
    expected = BreakingPoint(users=20, rps=3.0, window_start=T0 + 30)
    assert (shape.breaking_point, run.breaking_point, shape.finished) == (expected, expected, True)


def test_step_keeps_climbing_with_fewer_failed_windows_in_a_row(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch)
    run.window(0, 10, ok=False)
    run.window(10, 20, ok=False)
    run.window(20, 30)
    run.window(30, 40, ok=False)
    run.window(40, 50, ok=False)
    clock.now = 50
    assert (shape.tick(), run.breaking_point) == ((20, 10.0), None)


def test_the_runs_consecutive_windows_sets_how_many_failures_stop(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    run.consecutive_windows = 1  # e.g. from the thresholds file
    shape = step_shape(clock, monkeypatch)
    run.window(0, 10)
    run.window(10, 20, ok=False)
    clock.now = 20
    assert shape.tick() is None


def test_the_shapes_consecutive_windows_beats_the_runs(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch, consecutive_windows=2)
    run.window(0, 10)
    run.window(10, 20, ok=False)
    clock.now = 20
    assert shape.tick() == (10, 10.0)
    run.window(20, 30, ok=False)
    assert shape.tick() is None


def test_throughput_floors_do_not_break_the_climb(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch)
    for start in range(0, 50, 10):
        run.window(start, start + 10, floor_ok=False)  # rps>1000 missed at 10 and 20 users, latency fine
    clock.now = 50
    assert shape.tick() == (20, 10.0)


def test_breaking_point_is_the_highest_step_whose_windows_all_passed(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch)
    run.window(0, 10)
    run.window(10, 20, ok=False)  # one noisy window: step 1 (10 users) does not count
    run.window(20, 30)
    for start in (30, 40, 50):  # step 2 (20 users) passes
        run.window(start, start + 10)
    run.window(60, 70)
    for start in (70, 80, 90):  # step 3 fails late; the streak ends the climb in step 4
        run.window(start, start + 10, ok=False)
    clock.now = 100
    assert shape.tick() is None
    assert run.breaking_point.users == 20


def test_windows_straddling_two_steps_count_in_the_streak_but_for_no_step(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    shape = step_shape(clock, monkeypatch)
    run.window(0, 10)
    run.window(10, 20)
    run.window(20, 30)
    run.window(30, 40)
    run.window(40, 50)
    run.window(50, 55)  # step 2 (20 users) so far passes
    run.window(55, 65, ok=False)  # straddles steps 2 and 3: not step 2's
    run.window(65, 75, ok=False)
    run.window(75, 85, ok=False)
    clock.now = 85
    assert shape.tick() is None
    assert run.breaking_point.users == 20


def test_no_step_passed_stops_without_a_breaking_point(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun, caplog: pytest.LogCaptureFixture
) -> None:
    shape = step_shape(clock, monkeypatch)
    for start in (0, 10, 20):
        run.window(start, start + 10, ok=False)
    clock.now = 30
    with caplog.at_level(logging.WARNING, "loadtests.shapes.step"):
        assert shape.tick() is None
    assert (run.breaking_point, shape.finished) == (None, True)
    assert "no step passed: no breaking point" in caplog.text


def test_step_stays_stopped_once_broken(clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun) -> None:
    shape = step_shape(clock, monkeypatch, consecutive_windows=1)
    run.window(0, 10, ok=False)
    clock.now = 10
    assert shape.tick() is None
    run.gates.windows.append(Window(T0 + 10, T0 + 20, 0, ()))  # a passing window afterwards
    assert shape.tick() is None


def test_reset_time_starts_a_fresh_climb(clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun) -> None:
    shape = step_shape(clock, monkeypatch, consecutive_windows=1)
    run.window(0, 10, ok=False)
    clock.now = 10
    assert shape.tick() is None
    run.gates.windows.clear()
    shape.reset_time()
    clock.now = 0
    assert (shape.tick(), shape.breaking_point, shape.finished) == ((10, 10.0), None, False)


def test_windows_from_before_the_climb_started_are_ignored(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, run: FakeRun
) -> None:
    for start in (-40, -30, -20):  # the last run's failed windows (a rerun from the web UI)
        run.window(start, start + 10, ok=False)
    shape = step_shape(clock, monkeypatch)
    assert shape.tick() == (10, 10.0)


def test_step_without_a_run_climbs_blind_and_warns_once(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, no_run: None, caplog: pytest.LogCaptureFixture
) -> None:
    shape = step_shape(clock, monkeypatch)
    with caplog.at_level(logging.WARNING, "loadtests.shapes.step"):
        assert ticks(shape, clock, [0, 1, 30]) == [(10, 10.0), (10, 10.0), (20, 10.0)]
    assert caplog.text.count("climbing blind") == 1


# --- the files Locust loads, and the package surface --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "shape"),
    [
        ("step.py", "StepLoadShape"),
        ("spike.py", "SpikeShape"),
        ("soak.py", "SoakShape"),
        ("constant_rate.py", "ConstantRateShape"),
    ],
)
def test_each_file_gives_locust_exactly_its_own_shape(
    monkeypatch: pytest.MonkeyPatch, path: str, shape: str
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_locustfile adds the working directory for good
    monkeypatch.setitem(sys.modules, path.removesuffix(".py"), None)  # undone at teardown: deleted again
    users, shapes = load_locustfile(str(ROOT / "loadtests" / "shapes" / path))
    assert (users, [type(s).__name__ for s in shapes]) == ({}, [shape])


def test_all_is_sorted_and_exact() -> None:
    public = {name for name in vars(loadtests.shapes) if not name.startswith("_")}
    modules = {"constant_rate", "soak", "spike", "step"}
    assert loadtests.shapes.__all__ == sorted(public - modules)
