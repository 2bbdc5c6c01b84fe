"""Value checks for JSON and config input."""

from __future__ import annotations

import math

import pytest

from youtube2sheets.simulator._checks import known_fields, one_of, real, whole
from youtube2sheets.simulator._errors import InputError


@pytest.mark.parametrize("value", [True, 1.0, "1", None, 0, 11])
def test_whole_refuses_non_integers_and_out_of_range(value: object) -> None:
    with pytest.raises(InputError, match=r"count: expected a whole number from 1 to 10"):
        whole(value, "count", 1, 10)


def test_whole_accepts_the_bounds() -> None:
    assert (whole(1, "n", 1, 10), whole(10, "n", 1, 10)) == (1, 10)


@pytest.mark.parametrize("value", [True, "0.5", math.nan, math.inf, -0.1, 1.5, None])
def test_real_refuses_non_numbers_and_out_of_range(value: object) -> None:
    with pytest.raises(InputError, match=r"rate: expected a number from 0\.0 to 1\.0"):
        real(value, "rate", 0.0, 1.0)


def test_real_accepts_ints() -> None:
    assert real(1, "rate", 0.0, 1.0) == 1.0


def test_one_of_names_the_choices() -> None:
    with pytest.raises(InputError, match=r"kind: expected one of 'error', 'timeout', got 'boom'"):
        one_of("boom", "kind", ("error", "timeout"))


def test_one_of_does_not_take_true_for_one() -> None:
    with pytest.raises(InputError):
        one_of(True, "status", (1, 500))


def test_unknown_fields_are_named() -> None:
    with pytest.raises(InputError) as caught:
        known_fields({"rate": 1, "rtae": 2}, ("rate",))
    assert caught.value.field == "rtae"
