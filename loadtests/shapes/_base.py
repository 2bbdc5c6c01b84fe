"""What the load shapes share: stage tables, parameters read from options or the environment, a clock.

A shape's parameters are class attributes (its defaults: a subclass can change them), each described by
a `Param` naming its ``--option`` and ``Y2S_<OPTION>`` variable. Locust creates shapes before it parses
the command line, so a shape reads its parameters when the run starts (`ShapeBase.reset_time`): the
constructor's keyword arguments, else the parsed option (Locust's parser fills it from the environment
and config files too), else the variable, else the class attribute. A bad value is one line and exit
code 2 (``locust: error: argument --spike-stages: ...``), from the parser or, for combinations, at init.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from locust import LoadTestShape, events

__all__ = [
    "Param",
    "RateStage",
    "ShapeBase",
    "Stage",
    "StagesShape",
    "parse_duration",
    "parse_rate_stages",
    "parse_stages",
]

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number of seconds (``90``, ``2.5``) or Locust-style ``30s``, ``5m``, ``1h30m``.

    Example:
        >>> parse_duration("1h30m"), parse_duration("2.5"), parse_duration("45s")
        (5400.0, 2.5, 45.0)
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        match = _DURATION.fullmatch(text)
        if not text or match is None:
            raise ValueError(f"duration {text!r}: expected seconds or 30s, 5m, 1h30m") from None
        seconds = 3600 * float(match["h"] or 0) + 60 * float(match["m"] or 0) + float(match["s"] or 0)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration {text!r}: expected a positive number of seconds")
    return seconds


def number(
    minimum: float, *, whole: bool = False, above: bool = False, name: str = ""
) -> Callable[[str], Any]:
    """A parser of finite numbers >= ``minimum`` (> with ``above``), integers with ``whole``.

    Example:
        >>> number(1, whole=True)("7"), number(0, above=True)("2.5")
        (7, 2.5)
        >>> number(0, above=True, name="rate")("-1")
        Traceback (most recent call last):
        ValueError: rate '-1': expected a number > 0
    """
    expected = f"expected {'a whole number' if whole else 'a number'} {'>' if above else '>='} {minimum:g}"
    prefix = f"{name} " if name else ""

    def parse(text: str) -> Any:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            raise ValueError(f"{prefix}{text!r}: {expected}") from None
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise ValueError(f"{prefix}{text!r}: {expected}")
        return value

    return parse


positive_int = number(1, whole=True)
positive_float = number(0, above=True)
non_negative_float = number(0)


@dataclass(frozen=True)
class Stage:
    """One row of a stage table: hold ``users`` for ``duration`` seconds, reaching them at ``spawn_rate``/s.

    Durations are each stage's own length (not Locust's cumulative end times), so rows can be moved.
    """

    duration: float
    users: int
    spawn_rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", float(self.duration))  # 60 and 60.0 make equal tables
        object.__setattr__(self, "spawn_rate", float(self.spawn_rate))
        if not (self.duration > 0 and self.users >= 0 and self.spawn_rate > 0):
            raise ValueError(f"{self}: expected duration > 0, users >= 0 and spawn_rate > 0")

    @property
    def text(self) -> str:
        """The row as ``--*-stages`` takes it: ``DURATION:USERS:SPAWN_RATE`` (``60:10:10``)."""
        return f"{self.duration:g}:{self.users}:{self.spawn_rate:g}"


@dataclass(frozen=True)
class RateStage:
    """One row of a constant-arrival-rate table: ``rate`` task runs per second for ``duration`` seconds."""

    duration: float
    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", float(self.duration))
        object.__setattr__(self, "rate", float(self.rate))
        if not (self.duration > 0 and self.rate >= 0 and math.isfinite(self.rate)):
            raise ValueError(f"{self}: expected duration > 0 and a finite rate >= 0")

    @property
    def text(self) -> str:
        """The row as ``--rate-stages`` takes it: ``DURATION:RATE`` (``300:1000``)."""
        return f"{self.duration:g}:{self.rate:g}"


def _rows(text: str, fields: int, example: str) -> Iterator[tuple[str, list[str]]]:
    rows = [row.strip() for row in re.split(r"[,;]", text) if row.strip()]
    if not rows:
        raise ValueError(f"{text!r}: expected a stage table, e.g. {example}")
    for row in rows:
        parts = [part.strip() for part in row.split(":")]
        if len(parts) != fields:
            raise ValueError(f"stage {row!r}: expected {fields} fields separated by ':', e.g. {example}")
        yield row, parts


def parse_stages(text: str) -> tuple[Stage, ...]:
    """A stage table from ``DURATION:USERS:SPAWN_RATE`` rows separated by commas (or semicolons).

    Example:
        >>> [stage.text for stage in parse_stages("1m:10:10, 30s:200:200")]
        ['60:10:10', '30:200:200']
    """
    example, stages = "1m:10:10,30s:200:200", []
    for row, (duration, users, spawn_rate) in _rows(text, 3, example):
        try:
            stages.append(Stage(parse_duration(duration), _users(users), _spawn_rate(spawn_rate)))
        except ValueError as err:
            raise ValueError(f"stage {row!r}: {err}; e.g. {example}") from None
    return tuple(stages)


def parse_rate_stages(text: str) -> tuple[RateStage, ...]:
    """A constant-arrival-rate table from ``DURATION:RATE`` rows separated by commas (or semicolons).

    Example:
        >>> [stage.text for stage in parse_rate_stages("1m:100,5m:1000")]
        ['60:100', '300:1000']
    """
    example, stages = "1m:100,5m:1000", []
    for row, (duration, rate) in _rows(text, 2, example):
        try:
            stages.append(RateStage(parse_duration(duration), _rate(rate)))
        except ValueError as err:
            raise ValueError(f"stage {row!r}: {err}; e.g. {example}") from None
    return tuple(stages)


_users = number(0, whole=True, name="users")
_spawn_rate = number(0, above=True, name="spawn rate")
_rate = number(0, name="rate")


@dataclass(frozen=True)
class Param:
    """A shape parameter: the class attribute holding its default, its ``--option``, a parser and help.

    The environment variable is ``Y2S_`` plus the option in upper case (``--step-users`` ->
    ``Y2S_STEP_USERS``). ``register=False`` marks an option that another module (`loadtests.plugin`)
    adds to the parser: the shape reads it but does not add it.
    """

    attr: str
    option: str
    parse: Callable[[str], Any]
    help: str
    register: bool = True

    @property
    def dest(self) -> str:
        """The attribute of Locust's parsed options: ``step_users`` for ``--step-users``."""
        return self.option.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        """The environment variable: ``Y2S_STEP_USERS`` for ``--step-users``."""
        return "Y2S_" + self.dest.upper()


class ShapeBase(LoadTestShape):
    """A `LoadTestShape` whose parameters (`params`) come from keyword arguments, options or environment.

    Subclasses declare ``params`` and keep the defaults as class attributes; `configure` (called when
    the run starts) resolves them onto the instance. Not a shape Locust picks up by itself (abstract).
    """

    abstract = True
    params: ClassVar[tuple[Param, ...]] = ()
    #: Unix time of the shape's run time 0 (set by `reset_time`): it maps run time onto the gates' windows.
    started_at: float

    def __init__(self, **overrides: Any) -> None:
        unknown = sorted(set(overrides) - {param.attr for param in self.params})
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)}")
        self._overrides = overrides
        self._configured = False
        # LoadTestShape.__init__ only sets start_time (untyped: mypy --strict would not let it be called).
        self.start_time = time.perf_counter()
        self.started_at = time.time()

    def reset_time(self) -> None:
        """Run time 0 is now (Locust calls this when the shape starts); read the parameters afresh."""
        self.start_time = time.perf_counter()
        self.started_at = time.time()
        self._configured = False
        self.configure()

    def get_run_time(self) -> float:
        """Seconds since `reset_time` (tests patch this to drive the tick table)."""
        return time.perf_counter() - self.start_time

    def _parsed_option(self, dest: str) -> Any:
        environment = getattr(self.runner, "environment", None)
        options = getattr(environment, "parsed_options", None)
        return getattr(options, dest, None)

    def configure(self) -> None:
        """Resolve every parameter: constructor argument, parsed option, ``Y2S_*`` variable, class default."""
        for param in self.params:
            value = self._overrides.get(param.attr)
            source = f"{param.attr}="
            if value is None:
                value, source = self._parsed_option(param.dest), param.option
            if value is None:
                value, source = os.environ.get(param.env) or None, param.env
            if value is None:
                continue  # the class attribute stands
            if isinstance(value, str):
                try:
                    value = param.parse(value)
                except ValueError as err:
                    raise ValueError(f"{source}: {err}") from None
            setattr(self, param.attr, value)
        self._configured = True
        self.configured()

    def configured(self) -> None:
        """Hook: derive what depends on the parameters (stage tables) once they are resolved."""

    def ensure_configured(self) -> None:
        """`configure` unless done since the last `reset_time` (a tick before the run started)."""
        if not self._configured:
            self.configure()


class StagesShape(ShapeBase):
    """A shape that walks a stage table (`stages`): each tick returns the current row's users and rate.

    The run stops (tick returns None) after the last row. Each row change is logged once.
    """

    abstract = True
    stages: tuple[Stage, ...] = ()
    _logged_stage: int | None = None

    def stage_at(self, run_time: float) -> tuple[int, Stage] | None:
        """The row (index, stage) in force at ``run_time`` seconds, or None once the table is over."""
        end = 0.0
        for index, stage in enumerate(self.stages):
            end += stage.duration
            if run_time < end:
                return index, stage
        return None

    @property
    def duration(self) -> float:
        """Seconds the whole table lasts."""
        return sum(stage.duration for stage in self.stages)

    def tick(self) -> tuple[int, float] | None:
        """Users and spawn rate of the row in force now; None (stop) after the last one."""
        self.ensure_configured()
        found = self.stage_at(self.get_run_time())
        if found is None:
            return None
        index, stage = found
        if index != self._logged_stage:
            self._logged_stage = index
            logger.info(
                "%s: stage %d/%d: %d users (spawn rate %g/s) for %gs",
                type(self).__name__,
                index + 1,
                len(self.stages),
                stage.users,
                stage.spawn_rate,
                stage.duration,
            )
        return stage.users, stage.spawn_rate


def _shape_classes(base: type[ShapeBase] = ShapeBase) -> Iterator[type[ShapeBase]]:
    for cls in base.__subclasses__():
        yield cls
        yield from _shape_classes(cls)


def _default_text(value: object) -> str:
    if isinstance(value, tuple) and all(isinstance(row, Stage | RateStage) for row in value):
        return ",".join(row.text for row in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _argument_type(param: Param) -> Callable[[str], Any]:
    import argparse  # noqa: PLC0415  (only the parser needs it)

    def convert(text: str) -> Any:
        try:
            return param.parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = param.attr  # argparse names the type in its "invalid ... value" fallback
    return convert


def add_shape_options(parser: Any, **_kwargs: Any) -> None:
    """Add every shape's options (once each) to Locust's parser, in a "Load shapes" group."""
    known = {option for action in parser._actions for option in action.option_strings}
    group = None
    for cls in _shape_classes():
        for param in cls.params:
            if not param.register or param.option in known:
                continue
            if group is None:
                group = parser.add_argument_group(
                    "Load shapes (loadtests.shapes)",
                    "Each option also reads Y2S_<OPTION>, e.g. Y2S_STEP_USERS.",
                )
            known.add(param.option)
            group.add_argument(
                param.option,
                dest=param.dest,
                env_var=param.env,
                type=_argument_type(param),
                default=None,
                help=f"{cls.__name__}: {param.help} (default: {_default_text(getattr(cls, param.attr))})",
            )


def check_shape(environment: Any, **_kwargs: Any) -> None:
    """At init, resolve the chosen shape's parameters once: a bad combination is one line and exit code 2.

    (Single values are checked by the parser; this catches e.g. ``--step-max-users`` below
    ``--step-start-users`` before the run starts, rather than as a traceback when the shape starts.)
    """
    shape = getattr(environment, "shape_class", None)
    if isinstance(shape, ShapeBase):
        try:
            shape.configure()
        except ValueError as err:
            sys.stderr.write(f"locust: error: {type(shape).__name__}: {err}\n")
            sys.exit(2)


# Registering is the one import side effect: the listeners work only when Locust builds its parser / inits.
events.init_command_line_parser.add_listener(add_shape_options)  # type: ignore[no-untyped-call]  # untyped
events.init.add_listener(check_shape)  # type: ignore[no-untyped-call]
