"""capacity._charts: PNG size and determinism, and the lines each chart must draw, read back from pixels."""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from capacity._charts import MAX_COLOURED, requests_chart, utilisation_chart

DAY = 86400.0
START = 1_780_000_000.0  # 2026-05-28 UTC
SIGNATURE = b"\x89PNG\r\n\x1a\n"
# matplotlib's tab10 colours, as drawn
RED, ORANGE, BLUE, GREEN = "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"

Points = list[tuple[float, float]]


def _series(n: int, days: float, *, base: float = 300.0, slope: float = 10.0) -> Points:
    """``n`` points over ``days`` from START: ``base + slope * day`` with a daily wave."""
    days_at = [i * days / max(n - 1, 1) for i in range(n)]
    return [(START + d * DAY, base + slope * d + 0.1 * base * math.sin(d * 2 * math.pi)) for d in days_at]


def _ratios(n: int, days: float, level: float, phase: float) -> Points:
    days_at = [i * days / max(n - 1, 1) for i in range(n)]
    return [(START + d * DAY, level + 0.1 * math.sin(d * 2 * math.pi + phase)) for d in days_at]


def _requests(reaches: float | None = None, trend: Sequence[tuple[float, float]] | None = None) -> bytes:
    observed = _series(200, 7)
    if trend is None:
        trend = [(START, 300.0), (START + 14 * DAY, 440.0)]
    return requests_chart(observed, trend, level_rps=800.0, total_rps=1000.0, reaches=reaches, title="req/s")


def _fleet(instances: int, n: int = 200) -> dict[str, Points]:
    # host-9 is the busiest: the highest level
    return {f"host-{k}": _ratios(n, 7, 0.2 + 0.05 * k, phase=k) for k in range(instances)}


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a PNG must open with."""
    assert png[:8] == SIGNATURE
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _mask(png: bytes, colour: str) -> NDArray[np.bool_]:
    """Pixels near ``colour`` (``#rrggbb``): thin lines cover their pixels partly, so not exactly it."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    result: NDArray[np.bool_] = np.abs(rgb - want).max(axis=2) <= 48
    return result


def _long_rows(png: bytes, colour: str, length: int) -> int:
    """How many pixel rows hold at least ``length`` pixels of ``colour`` (a horizontal line)."""
    return int((_mask(png, colour).sum(axis=1) >= length).sum())


def _long_columns(png: bytes, colour: str, length: int) -> int:
    return int((_mask(png, colour).sum(axis=0) >= length).sum())


def test_requests_chart_is_a_1000_by_500_png() -> None:
    assert _size(_requests()) == (1000, 500)


def test_utilisation_chart_is_1000_wide_and_grows_with_the_resources() -> None:
    one = utilisation_chart({"cpu": _fleet(2)}, {"cpu": 0.7}, title="u")
    four = utilisation_chart({r: _fleet(2) for r in ("cpu", "memory", "disk", "network")}, {}, title="u")
    assert _size(one) == (1000, 340)
    assert _size(four) == (1000, 1060)


def test_the_same_input_gives_the_same_bytes() -> None:
    assert _requests(START + 10 * DAY) == _requests(START + 10 * DAY)
    series = {"cpu": _fleet(10), "memory": _fleet(3)}
    first = utilisation_chart(series, {"cpu": 0.7}, title="u")
    assert utilisation_chart(series, {"cpu": 0.7}, title="u") == first


def test_the_png_carries_no_timestamp_and_no_matplotlib_version() -> None:
    png = _requests()
    assert b"tIME" not in png
    assert b"Software" not in png
    assert b"Matplotlib" not in png


def test_the_bytes_do_not_depend_on_the_process() -> None:
    code = (
        "import hashlib; from capacity._charts import utilisation_chart;"
        "pts = [(1780000000.0 + i * 3600, 0.3 + 0.01 * (i % 7)) for i in range(48)];"
        "s = {'cpu': {'b': pts, 'a': pts[::-1]}, 'disk': {'a': pts}};"
        "print(hashlib.sha256(utilisation_chart(s, {'cpu': 0.7}, title='t')).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    pts = [(1780000000.0 + i * 3600, 0.3 + 0.01 * (i % 7)) for i in range(48)]
    here = utilisation_chart({"cpu": {"b": pts, "a": pts[::-1]}, "disk": {"a": pts}}, {"cpu": 0.7}, title="t")
    assert digests == {hashlib.sha256(here).hexdigest()}


def test_the_capacity_line_is_a_solid_red_line_across_the_axes() -> None:
    # only the capacity line is red: at least one row of 800 red pixels (the axes are ~900 wide)
    assert _long_rows(_requests(), RED, 800) >= 1


def test_the_planning_level_is_a_dashed_line() -> None:
    # orange rows: dashed, so more than half the width but not a solid run
    mask = _mask(_requests(), ORANGE)
    rows = mask.sum(axis=1)
    row = int(rows.argmax())
    assert 500 <= rows[row] < 880
    assert not mask[row, np.flatnonzero(mask[row])[0] : np.flatnonzero(mask[row])[-1]].all()


def test_reaching_inside_the_chart_draws_a_vertical_marker() -> None:
    assert _long_columns(_requests(reaches=START + 10 * DAY), ORANGE, 60) >= 1


def test_never_reaching_draws_no_marker() -> None:
    never = _requests(reaches=None)
    assert _long_columns(never, ORANGE, 60) == 0
    assert never != _requests(reaches=START + 10 * DAY)


def test_reaching_beyond_the_horizon_draws_no_marker_but_says_so() -> None:
    beyond = _requests(reaches=START + 40 * DAY)
    assert _long_columns(beyond, ORANGE, 60) == 0
    assert beyond != _requests(reaches=None)  # the legend's text differs


def test_an_empty_trend_is_drawn_without_it() -> None:
    assert _size(_requests(trend=[])) == (1000, 500)
    assert _requests(trend=[]) != _requests()


def test_a_single_point_is_drawn() -> None:
    png = requests_chart([(START, 300.0)], [], level_rps=400.0, total_rps=500.0, reaches=None, title="one")
    assert _size(png) == (1000, 500)
    assert _mask(png, BLUE).sum() > 20  # the marker
    one = utilisation_chart({"cpu": {"h": [(START, 0.4)]}}, {"cpu": 0.7}, title="one")
    assert _mask(one, BLUE).sum() > 20


def test_no_observed_rates_is_an_error() -> None:
    with pytest.raises(ValueError, match="no observed request rates"):
        requests_chart([], [], level_rps=1.0, total_rps=2.0, reaches=None, title="t")


def test_each_instance_has_its_colour_up_to_eight() -> None:
    png = utilisation_chart({"cpu": _fleet(3)}, {"cpu": 0.7}, title="u")
    for colour in (BLUE, ORANGE, GREEN):
        assert _mask(png, colour).sum() > 100, colour


def test_ten_instances_are_grey_with_the_busiest_in_colour() -> None:
    assert MAX_COLOURED == 8
    png = utilisation_chart({"cpu": _fleet(10)}, {"cpu": 0.7}, title="u")
    assert _size(png) == (1000, 340)
    blue = _mask(png, BLUE)
    assert blue.sum() > 500
    assert _mask(png, ORANGE).sum() == 0
    assert _mask(png, GREEN).sum() == 0
    # the highlighted line is the busiest (host-9, around 65 %): its pixels sit above the others' middle
    grey = _mask(png, "#a6a6a6")
    assert grey.sum() > 500
    blue_rows, grey_rows = np.nonzero(blue[:, :700])[0], np.nonzero(grey[:, :700])[0]
    assert np.median(blue_rows) < np.median(grey_rows)


def test_each_target_is_a_dashed_red_line() -> None:
    series = {"cpu": _fleet(2), "memory": _fleet(2)}
    with_targets = utilisation_chart(series, {"cpu": 0.7, "memory": 0.5}, title="u")
    assert _long_rows(with_targets, RED, 400) >= 2
    assert _long_rows(utilisation_chart(series, {}, title="u"), RED, 400) == 0


def test_a_resource_without_samples_gets_an_empty_subplot() -> None:
    png = utilisation_chart({"cpu": _fleet(2), "network": {}}, {"cpu": 0.7}, title="u")
    assert _size(png) == (1000, 580)


def test_empty_series_is_an_error() -> None:
    with pytest.raises(ValueError, match="no resources"):
        utilisation_chart({}, {"cpu": 0.7}, title="u")
    with pytest.raises(ValueError, match="no utilisation samples"):
        utilisation_chart({"cpu": {"h": []}}, {"cpu": 0.7}, title="u")
