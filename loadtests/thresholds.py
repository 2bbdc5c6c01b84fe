"""k6-style load-test thresholds: ``p95<2000``, ``error_rate<0.001``, ``rps>1000``, per request name.

A threshold is a metric, a comparison and a limit, optionally narrowed to one request name:
``p99{name="/api/videos/[id]"}<500``. Latency metrics are in milliseconds, ``error_rate`` is a ratio
(0.001 = 0.1 %), ``rps`` is requests per second and ``requests``/``failures`` are counts. The defaults
are the SLO numbers of `alerting/thresholds.yml`, so the gates and the alerts cannot drift apart.

Bad input raises `ThresholdError` with one line saying which threshold (and which file and entry) and
what was expected; the command line prints it and exits with status 2.

Example:
    >>> t = parse('p95 {name=GET /api/videos/[id]} < 500')
    >>> t.text
    'p95{name="GET /api/videos/[id]"}<500'
    >>> t.passes(499.9), t.passes(500.0), t.passes(float("nan"))
    (True, False, False)
    >>> [x.text for x in parse_list("p95<2000; error_rate<0.001, rps>1000")]
    ['p95<2000', 'error_rate<0.001', 'rps>1000']
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerting import AlertingConfigError, load_thresholds

LATENCY_METRICS = ("avg", "min", "max", "p50", "p75", "p90", "p95", "p99", "p99.9")  # milliseconds
OTHER_METRICS = ("error_rate", "rps", "requests", "failures")  # ratio, req/s, counts
METRICS = LATENCY_METRICS + OTHER_METRICS

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_EXAMPLES = dict(
    error_rate="error_rate<0.001", rps="rps>1000", requests="requests>100", failures="failures<10"
)
# metric, optional {selector} (greedy: up to the last "}"), comparison, limit; spaces between the parts.
_SYNTAX = re.compile(
    r"(?P<metric>[^\s{}<>=]+)\s*(?:\{(?P<selector>.*)\})?\s*(?P<op><=|>=|<|>)\s*(?P<limit>[^\s<>=]+)"
)
_QUOTED = re.compile(r'"(?P<inner>(?:[^"\\]|\\.)*)"', re.DOTALL)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SELECTOR = re.compile(r"\s*name\s*=(?P<value>.*)", re.DOTALL)
_FILE_KEYS = ("thresholds", "window_seconds", "consecutive_windows")


class ThresholdError(ValueError):
    """A threshold text or file is wrong; the message is one line naming it and what was expected."""


def _example(metric: str) -> str:
    return _EXAMPLES.get(metric, "p95<2000")


def _format_limit(limit: float) -> str:
    if limit.is_integer() and abs(limit) < 1e15:
        return str(int(limit))
    return repr(limit)


@dataclass(frozen=True)
class Threshold:
    """One gate: ``metric op limit``, over every request or only those called ``name``.

    Use `parse` for text; the constructor checks its fields the same way.

    Args:
        metric: one of `LATENCY_METRICS` (ms) or `OTHER_METRICS`.
        op: ``<``, ``<=``, ``>`` or ``>=``: the comparison that must hold for the gate to pass.
        limit: a finite, non-negative number (a ratio 0..1 for ``error_rate``).
        name: a request name (``/api/videos/[id]``) or ``METHOD name``; None for all requests.

    Example:
        >>> Threshold("rps", ">", 1000).passes(1200.0)
        True
    """

    metric: str
    op: str
    limit: float
    name: str | None = None

    def __post_init__(self) -> None:
        problem = _problem(self.metric, self.op, self.limit, self.name)
        if problem is not None:
            raise ThresholdError(f"threshold {f'{self.metric}{self.op}{self.limit}'!r}: {problem}")
        object.__setattr__(self, "limit", float(self.limit))

    @property
    def text(self) -> str:
        """Canonical text, which `parse` reads back: ``p95<2000``, ``p95{name="/api/videos/[id]"}<500``."""
        selector = ""
        if self.name is not None:
            quoted = self.name.replace("\\", "\\\\").replace('"', '\\"')
            selector = f'{{name="{quoted}"}}'
        return f"{self.metric}{selector}{self.op}{_format_limit(self.limit)}"

    def passes(self, value: float) -> bool:
        """Whether a measured value meets the threshold; NaN (no requests at all) never passes.

        No data cannot pass a gate: a run or window without requests fails every threshold on it.
        """
        if math.isnan(value):
            return False
        return bool(_OPS[self.op](value, self.limit))

    def __str__(self) -> str:
        return self.text


def _problem(metric: str, op: str, limit: float, name: str | None) -> str | None:
    """What is wrong with these fields, or None."""
    if metric not in METRICS:
        return f"unknown metric {metric!r}, expected one of {', '.join(METRICS)}"
    if op not in _OPS:
        return f"unknown comparison {op!r}, expected <, <=, > or >="
    if name is not None and not name.strip():
        return "the request name is empty"
    return _limit_problem(metric, limit)


def _limit_problem(metric: str, limit: float) -> str | None:
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not math.isfinite(limit):
        return "the limit must be a finite number"
    if limit < 0:
        return "the limit must not be negative"
    if metric == "error_rate" and limit > 1:
        return "error_rate is a ratio from 0 to 1 (0.001 = 0.1 %)"
    return None


def _name(text: str, selector: str) -> str:
    match = _SELECTOR.fullmatch(selector)
    if match is None:
        raise ThresholdError(f"threshold {text!r}: expected {{name=<request name>}} after the metric")
    value = match["value"].strip()
    if value.startswith('"'):
        quoted = _QUOTED.fullmatch(value)
        if quoted is None:
            raise ThresholdError(f"threshold {text!r}: the request name's quotes do not match")
        value = re.sub(r"\\(.)", r"\1", quoted["inner"], flags=re.DOTALL)
    return value


def parse(text: str) -> Threshold:
    """One threshold from text such as ``p95<2000`` or ``p99{name=GET /api/videos/[id]}<500``.

    Spaces around the parts are allowed; quotes around the request name are optional (needed only
    when it contains ``}``). Raises `ThresholdError` with one line when the text is wrong.

    Example:
        >>> parse("error_rate <= 0.001")
        Threshold(metric='error_rate', op='<=', limit=0.001, name=None)
    """
    match = _SYNTAX.fullmatch(text.strip())
    if match is None:
        raise ThresholdError(f"threshold {text!r}: expected <metric><op><number>, e.g. p95<2000")
    metric, limit = match["metric"], match["limit"]
    if metric not in METRICS:
        raise ThresholdError(
            f"threshold {text!r}: unknown metric {metric!r}, expected one of {', '.join(METRICS)}"
        )
    if _NUMBER.fullmatch(limit) is None:
        unit = " (latencies are in milliseconds)" if metric in LATENCY_METRICS else ""
        raise ThresholdError(f"threshold {text!r}: {limit!r} is not a number{unit}, e.g. {_example(metric)}")
    name = None if match["selector"] is None else _name(text, match["selector"])
    problem = _problem(metric, match["op"], float(limit), name)
    if problem is not None:
        raise ThresholdError(f"threshold {text!r}: {problem}")
    return Threshold(metric, match["op"], float(limit), name)


def _split(text: str) -> list[str]:
    """Split on commas and semicolons outside ``{...}`` and outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"' and depth:
            quoted = not quoted
        elif not quoted and char == "{":
            depth += 1
        elif not quoted and char == "}":
            depth = max(depth - 1, 0)
        elif not quoted and not depth and char in ",;":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_list(text: str) -> list[Threshold]:
    """Thresholds separated by commas or semicolons, as ``--thresholds`` and ``Y2S_THRESHOLDS`` take them.

    Example:
        >>> [t.text for t in parse_list('p99{name="/a,b"}<500 ; rps>10')]
        ['p99{name="/a,b"}<500', 'rps>10']
    """
    parts = _split(text)
    if not parts:
        raise ThresholdError(f"thresholds {text!r}: expected at least one, e.g. p95<2000,error_rate<0.001")
    return [parse(part) for part in parts]


def load_file(path: Path) -> tuple[list[Threshold], dict[str, Any]]:
    """Thresholds and window options from a YAML file (``--thresholds-file``).

    The file is a mapping: ``thresholds`` (a non-empty list of threshold texts, required),
    ``window_seconds`` (a positive number) and ``consecutive_windows`` (a whole number >= 1), both
    optional. Returns the thresholds and the options the file sets (and only those), so that the
    caller can tell them from its own defaults. Every error names the file and the entry.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     f = Path(tmp) / "gates.yml"
        ...     _ = f.write_text("thresholds: [p95<2000, rps>1000]\\nwindow_seconds: 5\\n")
        ...     gates, options = load_file(f)
        >>> [t.text for t in gates], options
        (['p95<2000', 'rps>1000'], {'window_seconds': 5.0})
    """
    data = _read(path)
    entries = data.get("thresholds")
    if not isinstance(entries, list) or not entries:
        raise ThresholdError(f"{path}: thresholds: expected a non-empty list such as [p95<2000, rps>1000]")
    thresholds = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise ThresholdError(
                f"{path}: thresholds[{index}]: expected a text such as p95<2000, got {entry!r}"
            )
        try:
            thresholds.append(parse(entry))
        except ThresholdError as exc:
            raise ThresholdError(f"{path}: thresholds[{index}]: {exc}") from None
    return thresholds, _options(path, data)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ThresholdError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ThresholdError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ThresholdError(f"{path}: expected a mapping with a 'thresholds' list")
    for key in data:
        if key not in _FILE_KEYS:
            raise ThresholdError(f"{path}: unknown key {key!r}, expected {', '.join(_FILE_KEYS)}")
    return data


def _options(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "window_seconds" in data:
        value = data["window_seconds"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise ThresholdError(
                f"{path}: window_seconds: expected a positive number of seconds, got {value!r}"
            )
        options["window_seconds"] = float(value)
    if "consecutive_windows" in data:
        value = data["consecutive_windows"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ThresholdError(f"{path}: consecutive_windows: expected a whole number >= 1, got {value!r}")
        options["consecutive_windows"] = value
    return options


def defaults() -> list[Threshold]:
    """The seed gates, from `alerting/thresholds.yml`: p95, error rate and throughput.

    ``p95 < service.latency_p95_seconds`` (in ms), ``error_rate < service.error_ratio`` and
    ``rps > loadtest.min_rps``: the numbers the alerts use, so a test keeps the two in step.

    Example:
        >>> [t.text for t in defaults()]
        ['p95<2000', 'error_rate<0.001', 'rps>1000']
    """
    try:
        numbers = load_thresholds()
        return [
            Threshold("p95", "<", round(numbers.number("service", "latency_p95_seconds") * 1000, 9)),
            Threshold("error_rate", "<", numbers.ratio("service", "error_ratio")),
            Threshold("rps", ">", numbers.number("loadtest", "min_rps")),
        ]
    except AlertingConfigError as exc:
        raise ThresholdError(str(exc)) from None
