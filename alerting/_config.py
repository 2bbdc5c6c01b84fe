"""Read `thresholds.yml` and `slos.yml`: checked, typed, and wrong input named by file and field."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
THRESHOLDS_FILE = HERE / "thresholds.yml"
SLOS_FILE = HERE / "slos.yml"

# Prometheus durations as used here: one unit, as promtool and Alertmanager print them back.
_DURATION = re.compile(r"^(0|[1-9][0-9]*)(ms|s|m|h|d|w|y)$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class AlertingConfigError(ValueError):
    """A threshold or SLO file is wrong; the message names the file and the field."""


def duration_seconds(text: str) -> float:
    """Seconds in a one-unit Prometheus duration.

    Example:
        >>> duration_seconds("15m"), duration_seconds("1d"), duration_seconds("0m")
        (900.0, 86400.0, 0.0)
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Prometheus duration such as 30s, 5m, 1h or 3d")
    return float(int(match[1]) * _SECONDS[match[2]])


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise AlertingConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise AlertingConfigError(f"{path}: not valid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(data, dict):
        raise AlertingConfigError(f"{path}: expected a mapping at the top level")
    return data


class Thresholds:
    """The thresholds of `thresholds.yml`, by section and name: ``t.number("host", "cpu_utilisation")``.

    Every value is checked when it is read, so a typo in a name or a value fails the generator with a
    line naming the file and the field.
    """

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self._data = data
        self._path = path
        self._read: set[str] = set()

    def _get(self, section: str, name: str) -> Any:
        block = self._data.get(section)
        if not isinstance(block, dict) or name not in block:
            raise AlertingConfigError(f"{self._path}: {section}.{name}: missing")
        self._read.add(f"{section}.{name}")
        return block[name]

    def number(self, section: str, name: str) -> float:
        """A non-negative finite number."""
        value = self._get(section, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AlertingConfigError(f"{self._path}: {section}.{name}: expected a number, got {value!r}")
        if value < 0:
            raise AlertingConfigError(f"{self._path}: {section}.{name}: must not be negative, got {value}")
        return float(value)

    def ratio(self, section: str, name: str) -> float:
        """A number from 0 to 1."""
        value = self.number(section, name)
        if value > 1:
            raise AlertingConfigError(f"{self._path}: {section}.{name}: expected a ratio 0..1, got {value}")
        return value

    def duration(self, section: str, name: str) -> str:
        """A Prometheus duration such as ``15m``."""
        value = self._get(section, name)
        if not isinstance(value, str) or _DURATION.match(value) is None:
            raise AlertingConfigError(
                f"{self._path}: {section}.{name}: expected a duration such as 5m or 1h, got {value!r}"
            )
        return value

    def unused(self) -> list[str]:
        """Names in the file that nothing read (a typo, or a threshold left behind)."""
        names = {
            f"{section}.{name}"
            for section, block in self._data.items()
            if isinstance(block, dict)
            for name in block
        }
        return sorted(names - self._read)


def load_thresholds(path: Path = THRESHOLDS_FILE) -> Thresholds:
    """The thresholds file, ready to read."""
    return Thresholds(_load(path), path)


@dataclass(frozen=True)
class SLO:
    """One objective of `slos.yml`: a ratio of bad to all events, both from counter selectors."""

    name: str
    description: str
    objective: float
    job: str
    total: str
    errors: str | None = None  # bad events, or ...
    good: str | None = None  # ... good ones (bad = total - good)

    @property
    def error_budget(self) -> float:
        """The share of events allowed to be bad: ``1 - objective``."""
        return round(1 - self.objective, 12)


@dataclass(frozen=True)
class BurnRate:
    """One multi-window burn-rate alert: ``factor`` x the budget over both windows, for ``for_``."""

    long: str
    short: str
    factor: float
    for_: str
    severity: str
    tier: str


@dataclass(frozen=True)
class SLOFile:
    """`slos.yml`: the budget period, the burn-rate table and the objectives."""

    period: str
    burn_rates: tuple[BurnRate, ...]
    slos: tuple[SLO, ...]


def _burn_rates(path: Path, entries: Any) -> tuple[BurnRate, ...]:
    if not isinstance(entries, list) or not entries:
        raise AlertingConfigError(f"{path}: burn_rates: expected a non-empty list")
    out = []
    for index, entry in enumerate(entries):
        where = f"{path}: burn_rates[{index}]"
        if not isinstance(entry, dict) or set(entry) != {
            "long",
            "short",
            "factor",
            "for",
            "severity",
            "tier",
        }:
            raise AlertingConfigError(f"{where}: expected long, short, factor, for, severity and tier")
        for field in ("long", "short", "for"):
            if not isinstance(entry[field], str) or _DURATION.match(entry[field]) is None:
                raise AlertingConfigError(f"{where}.{field}: expected a duration, got {entry[field]!r}")
        if duration_seconds(entry["short"]) >= duration_seconds(entry["long"]):
            raise AlertingConfigError(f"{where}: the short window must be shorter than the long one")
        factor = entry["factor"]
        if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
            raise AlertingConfigError(f"{where}.factor: expected a positive number, got {factor!r}")
        if entry["severity"] not in ("critical", "warning", "info"):
            raise AlertingConfigError(f"{where}.severity: expected critical, warning or info")
        if entry["tier"] not in ("fast", "slow"):
            raise AlertingConfigError(f"{where}.tier: expected fast or slow")
        out.append(
            BurnRate(
                entry["long"], entry["short"], float(factor), entry["for"], entry["severity"], entry["tier"]
            )
        )
    return tuple(out)


def load_slos(path: Path = SLOS_FILE) -> SLOFile:
    """The SLO file, checked: names, objectives strictly between 0 and 1, one of errors/good."""
    data = _load(path)
    period = data.get("period")
    if not isinstance(period, str) or _DURATION.match(period) is None:
        raise AlertingConfigError(f"{path}: period: expected a duration such as 30d, got {period!r}")
    entries = data.get("slos")
    if not isinstance(entries, list) or not entries:
        raise AlertingConfigError(f"{path}: slos: expected a non-empty list")
    slos: list[SLO] = []
    for index, entry in enumerate(entries):
        where = f"{path}: slos[{index}]"
        if not isinstance(entry, dict):
            raise AlertingConfigError(f"{where}: expected a mapping")
        unknown = sorted(set(entry) - {"name", "description", "objective", "job", "total", "errors", "good"})
        if unknown:
            raise AlertingConfigError(f"{where}: unknown field {unknown[0]!r}")
        name = entry.get("name")
        if not isinstance(name, str) or _NAME.match(name) is None:
            raise AlertingConfigError(f"{where}.name: expected a lower_snake_case name, got {name!r}")
        where = f"{path}: slos[{index}] ({name})"
        objective = entry.get("objective")
        if isinstance(objective, bool) or not isinstance(objective, float) or not 0 < objective < 1:
            raise AlertingConfigError(
                f"{where}.objective: expected a ratio between 0 and 1, got {objective!r}"
            )
        for field in ("description", "job", "total"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise AlertingConfigError(f"{where}.{field}: expected a non-empty string")
        if ("errors" in entry) == ("good" in entry):
            raise AlertingConfigError(f"{where}: give exactly one of errors (bad events) or good")
        selector = entry.get("errors", entry.get("good"))
        if not isinstance(selector, str) or not selector.strip():
            raise AlertingConfigError(f"{where}: errors/good: expected a PromQL selector")
        if name in {slo.name for slo in slos}:
            raise AlertingConfigError(f"{where}.name: {name!r} appears twice")
        slos.append(
            SLO(
                name=name,
                description=entry["description"].strip(),
                objective=objective,
                job=entry["job"],
                total=entry["total"],
                errors=entry.get("errors"),
                good=entry.get("good"),
            )
        )
    return SLOFile(period=period, burn_rates=_burn_rates(path, data.get("burn_rates")), slos=tuple(slos))
