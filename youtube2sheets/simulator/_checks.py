"""Checks for JSON and config values: each raises `InputError` naming the field and what it expects.

JSON has no integer type of its own: ``true`` is not a number here, and ``3.0`` is not a whole
number of units. Ranges are inclusive; NaN and infinities are refused.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from youtube2sheets.simulator._errors import InputError


def whole(value: object, field: str, low: int, high: int | None = None) -> int:
    """``value`` as an int from ``low`` to ``high`` (no upper bound when None).

    Example:
        >>> whole(5, "count", 1)
        5
        >>> whole(True, "count", 1)
        Traceback (most recent call last):
        ...
        youtube2sheets.simulator._errors.InputError: count: expected a whole number >= 1, got True
    """
    bounds = f">= {low}" if high is None else f"from {low} to {high}"
    if type(value) is not int or value < low or (high is not None and value > high):
        raise InputError(field, f"expected a whole number {bounds}, got {value!r}")
    return value


def real(value: object, field: str, low: float, high: float) -> float:
    """``value`` (an int or float, not a bool) as a float from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, f"expected a number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise InputError(field, f"expected a number from {low} to {high}, got {value!r}")
    return float(value)


def one_of(value: object, field: str, choices: Collection[object]) -> Any:
    """``value`` if it is one of ``choices``."""
    if type(value) not in (str, int) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputError(field, f"expected one of {listed}, got {value!r}")
    return value


def known_fields(body: Mapping[str, object], fields: Collection[str]) -> None:
    """Refuse a field not in ``fields`` (a typo must not be silently ignored)."""
    for name in body:
        if name not in fields:
            raise InputError(name, f"unknown field; expected one of {', '.join(sorted(fields))}")
