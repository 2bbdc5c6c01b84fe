"""python -m capacity against a real Prometheus backfilled (promtool) with a history of known growth."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from capacity.__main__ import main
from tests.conftest import binary, start_prometheus

pytestmark = pytest.mark.integration

DAY = 86400
STEP = 60  # one sample a minute: a range query step lags the trend by at most this


def _openmetrics(start: int, end: int) -> str:
    """7 days: 100 + 40 d req/s, CPU 40 %, memory 30 %, quota use 6000 + 500 d units/day of 10 000."""
    lines = []
    families: dict[str, tuple[str, Callable[[float], float]]] = {
        "instance:node_cpu_utilisation:rate5m": ('{instance="a"}', lambda d: 0.4),
        "instance:node_memory_utilisation:ratio": ('{instance="a"}', lambda d: 0.3),
        "job:http_requests:rate5m": ('{job="youtube2sheets"}', lambda d: 100 + 40 * d),
        "job_api:api_quota_units_used:rate1h": (
            '{job="youtube2sheets",api="youtube"}',
            lambda d: (6000 + 500 * d) / DAY,
        ),
        "api_quota_limit_units": ('{job="youtube2sheets",api="youtube"}', lambda d: 10000.0),
    }
    for name, (labels, value) in families.items():
        lines.append(f"# TYPE {name} gauge")
        lines += [f"{name}{labels} {value((t - start) / DAY)!r} {t}" for t in range(start, end + 1, STEP)]
    return "\n".join([*lines, "# EOF", ""])


def test_exhaustion_date_and_replicas_match_the_hand_computed_answer(tmp_path: Path) -> None:
    end = int(time.time()) // STEP * STEP - 3600  # recent: inside the default 15 d retention
    start = end - 7 * DAY
    source = tmp_path / "history.om"
    source.write_text(_openmetrics(start, end))
    subprocess.run(
        [
            binary("promtool"),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(source),
            str(tmp_path / "tsdb"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"breaking_point": {"rps": 500.0, "users": 200, "window_start": None}}))
    out = tmp_path / "report"
    out.mkdir()
    proc, url = start_prometheus(tmp_path, {})
    try:
        argv = ["--prometheus", url, "--window", "7d", "--end", str(end), "--summary", str(summary)]
        t0 = time.monotonic()
        assert main([*argv, "--workers", "4", "--format", "json", "--out", str(out)]) == 0
        elapsed = time.monotonic() - t0
    finally:
        proc.stop()
    report = json.loads((out / "capacity.json").read_text())
    rec = report["recommendation"]

    # By hand: forecast (day 14) 100 + 40 x 14 = 660 req/s on 1 x 500 req/s:
    # ceil(660 / (500 x 0.8)) + 1 = 3 instances, ceil(660 / (125 x 0.8)) + 1 = 8 workers.
    assert report["requests"]["forecast_rps"] == pytest.approx(660, rel=0.01)
    assert (rec["action"], rec["instances_needed"], rec["workers_needed"]) == ("scale_out", 3, 8)
    # 80 % of 500 = 400 = 100 + 40 d at d = 7.5: 12 h after the end of the window (within 1 % of that).
    reaches = _unix(report["capacity"]["reaches_level"])
    assert math.isclose(reaches - end, 0.5 * DAY, rel_tol=0.01)
    # Quota: 9500 units/day now; 6000 + 500 d = 10 000 at d = 8, a day after the end.
    assert report["quota"]["units_per_day"] == pytest.approx(9500, rel=0.01)
    assert math.isclose(_unix(report["quota"]["runs_out"]) - end, DAY, rel_tol=0.01)
    # Statistics from every raw sample: CPU flat at 40 %, the request rate peaks at the last one, 380.
    assert report["utilisation"]["cpu"]["instances"]["a"] == {"mean": 0.4, "p95": 0.4, "peak": 0.4}
    assert report["requests"]["peak_rps"] == pytest.approx(380, rel=1e-6)
    assert elapsed < 5


def _unix(iso: str) -> float:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(iso).timestamp()
