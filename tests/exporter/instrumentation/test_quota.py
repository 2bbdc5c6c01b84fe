"""Quota accounting: costs, the limit boundary, the Pacific-midnight reset across DST, shared ledgers."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import subprocess
import sys
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from exporter.instrumentation import MetricSet
from exporter.instrumentation._errors import QuotaExhausted, QuotaLedgerError
from exporter.instrumentation._quota import FileLedger, MemoryLedger, QuotaTracker

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
MAR_8 = 1772956800.0  # 2026-03-08 00:00 PST (08:00 UTC): spring forward at 02:00, a 23-hour day
MAR_9 = 1773039600.0  # 2026-03-09 00:00 PDT (07:00 UTC)
NOV_1 = 1793516400.0  # 2026-11-01 00:00 PDT (07:00 UTC): fall back at 02:00, a 25-hour day
NOV_2 = 1793606400.0  # 2026-11-02 00:00 PST (08:00 UTC)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tracker(clock: Clock, daily_limit: int = 10_000, **options: Any) -> QuotaTracker:
    return QuotaTracker(daily_limit=daily_limit, clock=clock, metrics=MetricSet(), **options)


def samples(metrics: MetricSet) -> dict[tuple[str, tuple[str, ...]], float]:
    return {(s.name, tuple(s.labels.values())): s.value for m in metrics.collect() for s in m.samples}


def test_each_method_costs_its_units() -> None:
    quota = tracker(Clock(MAR_8 + 3600))
    costs = [
        quota.charge(m).cost for m in ("search.list", "videos.list", "channels.list", "playlistItems.list")
    ]
    assert (costs, quota.used(), quota.remaining()) == ([100, 1, 1, 1], 103, 9897)


def test_an_unknown_method_costs_the_default_and_is_labelled_other() -> None:
    quota = tracker(Clock(MAR_8), default_cost=5)
    assert (quota.charge("comments.insert").cost, quota.method_label("comments.insert")) == (5, "other")


def test_reaching_the_limit_exactly_is_allowed() -> None:
    quota = tracker(Clock(MAR_8), daily_limit=200)
    quota.charge("search.list")
    assert quota.charge("search.list").used == 200
    assert quota.remaining() == 0


def test_passing_the_limit_is_refused_and_takes_nothing() -> None:
    quota = tracker(Clock(MAR_8 + 60), daily_limit=200)
    quota.charge("search.list")
    quota.charge("search.list")
    with pytest.raises(QuotaExhausted) as raised:
        quota.charge("videos.list")
    error = raised.value
    assert (error.method, error.cost, error.used, error.limit, quota.used()) == (
        "videos.list",
        1,
        200,
        200,
        200,
    )
    assert error.resets_at == dt.datetime(2026, 3, 9, tzinfo=PACIFIC)


def test_a_refused_expensive_call_leaves_room_for_cheap_ones() -> None:
    quota = tracker(Clock(MAR_8), daily_limit=150)
    quota.charge("search.list")
    with pytest.raises(QuotaExhausted):
        quota.charge("search.list")
    assert quota.charge("videos.list").used == 101


def test_the_spring_forward_day_resets_after_23_hours_at_pacific_midnight() -> None:
    clock = Clock(MAR_8 + 10 * 3600)
    quota = tracker(clock)
    quota.charge("search.list")
    assert quota.resets_at().timestamp() - MAR_8 == 23 * 3600
    clock.now = MAR_9 - 1  # 23:59:59 PDT, 06:59:59 UTC: still March 8
    assert quota.used() == 100
    clock.now = MAR_9
    assert (quota.used(), quota.today()) == (0, dt.date(2026, 3, 9))


def test_the_fall_back_day_resets_after_25_hours_at_pacific_midnight() -> None:
    clock = Clock(NOV_1 + 3 * 3600)
    quota = tracker(clock)
    quota.charge("search.list")
    assert quota.resets_at() == dt.datetime(2026, 11, 2, tzinfo=PACIFIC)
    assert quota.resets_at().timestamp() - NOV_1 == 25 * 3600
    clock.now = NOV_2 - 1  # 23:59:59 PST, 07:59:59 UTC: a fixed UTC-7 would already have reset
    assert quota.used() == 100
    clock.now = NOV_2
    assert quota.used() == 0


def test_the_new_day_starts_from_zero_and_can_be_charged() -> None:
    clock = Clock(MAR_8)
    quota = tracker(clock, daily_limit=100)
    quota.charge("search.list")
    clock.now = MAR_9
    assert quota.charge("search.list").used == 100


def test_a_refund_gives_the_units_back() -> None:
    quota = tracker(Clock(MAR_8))
    charge = quota.charge("search.list")
    quota.refund(charge)
    quota.refund("search.list")  # by name: never below zero
    assert quota.used() == 0


def test_a_refund_for_a_day_that_is_over_changes_nothing() -> None:
    clock = Clock(MAR_9 - 10)
    quota = tracker(clock)
    yesterday = quota.charge("search.list")
    clock.now = MAR_9
    quota.charge("videos.list")
    quota.refund(yesterday)
    assert quota.used() == 1


def test_a_charge_dated_before_the_stored_day_counts_against_the_stored_day() -> None:
    ledger = MemoryLedger()  # a worker whose clock lags at midnight must not reset the day twice
    ledger.update("2026-03-09", 5, None)
    assert ledger.update("2026-03-08", 1, None) == (True, 6)
    assert ledger.update("2026-03-08", -1, None) == (True, 6)  # a late refund for the 8th: nothing


def test_two_trackers_sharing_a_file_ledger_share_one_quota(tmp_path: Path) -> None:
    clock, path = Clock(MAR_8), tmp_path / "quota.json"
    first = tracker(clock, daily_limit=250, ledger=FileLedger(path))
    second = tracker(clock, daily_limit=250, ledger=FileLedger(path))
    first.charge("search.list")
    second.charge("search.list")
    with pytest.raises(QuotaExhausted):
        first.charge("search.list")
    assert (first.used(), second.remaining()) == (200, 50)


def test_the_file_ledger_holds_the_pacific_date_and_the_units(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    tracker(Clock(MAR_9 - 1), ledger=FileLedger(path)).charge("search.list")  # 06:59:59 UTC on the 9th
    assert json.loads(path.read_text()) == {"date": "2026-03-08", "used": 100}
    assert path.stat().st_size == FileLedger.WIDTH


def test_the_file_ledger_resets_on_a_new_date(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    path.write_text('{"date": "2026-03-08", "used": 9000}\n')
    quota = tracker(Clock(MAR_9), ledger=FileLedger(path))
    quota.charge("videos.list")
    assert json.loads(path.read_text()) == {"date": "2026-03-09", "used": 1}


def test_an_empty_ledger_file_means_nothing_used(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    path.write_text("")
    assert FileLedger(path).used("2026-03-08") == 0


@pytest.mark.parametrize(
    "content",
    [
        b"garbage",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"date": "2026-03-08"}',
        b'{"date": "2026-03-08", "used": -1}',
        b'{"date": "2026-03-08", "used": 1.5}',
        b'{"date": "2026-13-01", "used": 1}',
        b'{"date": "20260308", "used": 1}',
    ],
)
def test_a_corrupt_ledger_file_is_one_clear_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "quota.json"
    path.write_bytes(content)
    with pytest.raises(QuotaLedgerError) as raised:
        FileLedger(path).update("2026-03-08", 1, None)
    assert str(path) in str(raised.value)
    assert "\n" not in str(raised.value)
    assert path.read_bytes() == content  # left as found, for whoever looks into it


def test_a_ledger_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        FileLedger(tmp_path / "nowhere" / "quota.json")


CHILD = """
import sys
from exporter.instrumentation import MetricSet
from exporter.instrumentation._errors import QuotaExhausted
from exporter.instrumentation._quota import FileLedger, QuotaTracker

path, limit, charges, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
quota = QuotaTracker(daily_limit=limit, clock=lambda: now, ledger=FileLedger(path), metrics=MetricSet())
print("ready", flush=True)
sys.stdin.readline()
granted = 0
for _ in range(charges):
    try:
        quota.charge("videos.list")
        granted += 1
    except QuotaExhausted:
        pass
print(granted, flush=True)
"""


def charge_from_two_processes(path: Path, limit: int, charges: int) -> list[int]:
    """Two real processes charge the same file at the same moment; returns what each was granted."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(limit), str(charges), str(MAR_8 + 3600)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        return [int(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            p.kill()
            p.wait(10)


def test_two_processes_charging_one_file_ledger_add_up_exactly(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    assert charge_from_two_processes(path, limit=10_000, charges=1500) == [1500, 1500]
    assert FileLedger(path).used("2026-03-08") == 3000


def test_two_processes_racing_for_the_last_units_get_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    assert sum(charge_from_two_processes(path, limit=1000, charges=800)) == 1000
    assert FileLedger(path).used("2026-03-08") == 1000


def test_quota_metrics_count_charges_refusals_and_units() -> None:
    metrics = MetricSet()
    quota = QuotaTracker(daily_limit=102, clock=Clock(MAR_8), metrics=metrics)
    for method in ("search.list", "videos.list", "frobnicate", "search.list"):
        with contextlib.suppress(QuotaExhausted):
            quota.charge(method)
    got = samples(metrics)
    assert got[("api_quota_charges_total", ("youtube", "search.list"))] == 2
    assert got[("api_quota_exhausted_total", ("youtube", "search.list"))] == 1
    assert got[("api_quota_units_used_total", ("youtube", "search.list"))] == 100
    assert got[("api_quota_units_used_total", ("youtube", "other"))] == 1
    assert ("api_quota_exhausted_total", ("youtube", "videos.list")) not in got


def test_quota_gauges_are_read_at_scrape_time() -> None:
    metrics, clock = MetricSet(), Clock(MAR_8)
    quota = QuotaTracker(daily_limit=500, clock=clock, metrics=metrics)
    quota.charge("search.list")
    clock.now = MAR_9 - 1
    got = samples(metrics)
    assert got[("api_quota_limit_units", ("youtube",))] == 500
    assert got[("api_quota_remaining_units", ("youtube",))] == 400
    assert got[("api_quota_reset_timestamp_seconds", ("youtube",))] == MAR_9
    clock.now = MAR_9
    assert samples(metrics)[("api_quota_remaining_units", ("youtube",))] == 500


def test_the_quota_gauges_are_mostrecent_across_processes() -> None:
    metrics = MetricSet()
    QuotaTracker(metrics=metrics)
    modes = {f.name: getattr(f, "multiprocess_mode", None) for f in metrics.families() if f.kind == "gauge"}
    assert set(modes.values()) == {"mostrecent"} and len(modes) == 3


def test_a_corrupt_ledger_makes_the_remaining_gauge_nan_not_a_failed_scrape(tmp_path: Path) -> None:
    path = tmp_path / "quota.json"
    metrics = MetricSet()
    QuotaTracker(clock=Clock(MAR_8), ledger=FileLedger(path), metrics=metrics)
    path.write_text("garbage")
    assert math.isnan(samples(metrics)[("api_quota_remaining_units", ("youtube",))])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"daily_limit": 0}, "daily_limit"),
        ({"costs": {"search.list": -100}}, "cost of search.list"),
        ({"default_cost": 1.5}, "cost of default_cost"),
        ({"tz": "Pacific/Nowhere"}, "unknown time zone"),
        ({"tz": "../etc"}, "unknown time zone"),
        ({"api": ""}, "api must be"),
    ],
)
def test_bad_options_are_refused_in_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        QuotaTracker(metrics=MetricSet(), **options)
    assert "\n" not in str(raised.value)


def test_exhaust_spends_the_rest_of_today_until_the_reset() -> None:
    clock = Clock(MAR_8 + 3600)
    quota = tracker(clock, daily_limit=200)
    quota.charge("videos.list")
    quota.exhaust()
    with pytest.raises(QuotaExhausted):
        quota.charge("videos.list")
    assert quota.remaining() == 0
    clock.now = MAR_9 + 1
    assert quota.charge("videos.list").used == 1


def test_exhaust_leaves_the_units_sent_counter_alone() -> None:
    metrics = MetricSet()
    quota = QuotaTracker(daily_limit=200, clock=Clock(MAR_8), metrics=metrics)
    quota.charge("videos.list")
    quota.exhaust()
    assert samples(metrics)[("api_quota_units_used_total", ("youtube", "videos.list"))] == 1
    assert samples(metrics)[("api_quota_remaining_units", ("youtube",))] == 0
