"""The time collector: system clock, time zone offset, clock sources from sysfs."""

from __future__ import annotations

import time
from pathlib import Path

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.time import TimeCollector, read_clocksources
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
CLOCKSOURCE = FIXTURES / "sys" / "devices" / "system" / "clocksource"


def collect(**kwargs: object) -> dict[str, Family]:
    kwargs.setdefault("clock", lambda: 1700000000.25)
    kwargs.setdefault("zone", lambda: ("CET", 3600))
    kwargs.setdefault("clocksources", list)
    return {fam.name: fam for fam in TimeCollector(**kwargs).collect()}  # type: ignore[arg-type]


def samples(fam: Family) -> dict[tuple[str, ...], float]:
    return dict(fam.samples)


def write_clocksource(directory: Path, name: str, available: str, current: str) -> None:
    (directory / name).mkdir(parents=True)
    (directory / name / "available_clocksource").write_text(available)
    (directory / name / "current_clocksource").write_text(current)


def test_read_clocksources_from_the_fixture() -> None:
    assert read_clocksources(str(CLOCKSOURCE)) == [("0", ["tsc", "kvm-clock", "acpi_pm"], "tsc")]


def test_read_clocksources_missing_directory_is_empty(tmp_path: Path) -> None:
    assert read_clocksources(str(tmp_path / "absent")) == []


def test_read_clocksources_ignores_other_entries_and_numbers_devices(tmp_path: Path) -> None:
    write_clocksource(tmp_path, "clocksource0", "tsc hpet\n", "tsc\n")
    write_clocksource(tmp_path, "clocksource1", "hpet\n", "hpet\n")
    (tmp_path / "power").mkdir()
    (tmp_path / "uevent").write_text("")
    assert read_clocksources(str(tmp_path)) == [
        ("0", ["tsc", "hpet"], "tsc"),
        ("1", ["hpet"], "hpet"),
    ]


def test_read_clocksources_skips_a_device_missing_its_files(tmp_path: Path) -> None:
    write_clocksource(tmp_path, "clocksource0", "tsc\n", "tsc\n")
    (tmp_path / "clocksource1").mkdir()
    assert [device for device, _, _ in read_clocksources(str(tmp_path))] == ["0"]


def test_time_seconds_comes_from_the_clock() -> None:
    fams = collect()
    assert samples(fams["node_time_seconds"]) == {(): 1700000000.25}


def test_clock_is_read_at_every_collect() -> None:
    ticks = iter([1.0, 2.0])
    collector = TimeCollector(clock=lambda: next(ticks), zone=lambda: ("UTC", 0), clocksources=list)
    readings = [samples({f.name: f for f in collector.collect()}["node_time_seconds"]) for _ in range(2)]
    assert readings == [{(): 1.0}, {(): 2.0}]


def test_zone_offset_is_labelled_with_the_zone_name() -> None:
    fam = collect()["node_time_zone_offset_seconds"]
    assert fam.labelnames == ("time_zone",)
    assert samples(fam) == {("CET",): 3600}


def test_default_zone_is_the_local_zone() -> None:
    fams = {f.name: f for f in TimeCollector(clocksources=list).collect()}
    local = time.localtime()
    assert samples(fams["node_time_zone_offset_seconds"]) == {(local.tm_zone,): local.tm_gmtoff}


def test_names_kinds_and_help_as_node_exporter() -> None:
    fams = collect()
    assert {name: (f.kind, f.help) for name, f in fams.items()} == {
        "node_time_clocksource_available_info": (
            "gauge",
            "Available clocksources read from '/sys/devices/system/clocksource'.",
        ),
        "node_time_clocksource_current_info": (
            "gauge",
            "Current clocksource read from '/sys/devices/system/clocksource'.",
        ),
        "node_time_seconds": ("gauge", "System time in seconds since epoch (1970)."),
        "node_time_zone_offset_seconds": ("gauge", "System time zone offset in seconds."),
    }


def test_clocksources_from_fixture_sysfs() -> None:
    collector = TimeCollector.from_settings(Settings(paths=Paths(sysfs=str(FIXTURES / "sys"))))
    fams = {f.name: f for f in collector.collect()}
    available = fams["node_time_clocksource_available_info"]
    assert available.labelnames == ("clocksource", "device")
    assert samples(available) == {("acpi_pm", "0"): 1, ("kvm-clock", "0"): 1, ("tsc", "0"): 1}
    assert samples(fams["node_time_clocksource_current_info"]) == {("tsc", "0"): 1}


def test_available_clocksources_are_sorted_by_name() -> None:
    fams = collect(clocksources=lambda: [("0", ["tsc", "kvm-clock", "acpi_pm"], "tsc")])
    assert [k[0] for k, _ in fams["node_time_clocksource_available_info"].samples] == [
        "acpi_pm",
        "kvm-clock",
        "tsc",
    ]


def test_empty_current_clocksource_is_left_out() -> None:
    fams = collect(clocksources=lambda: [("0", ["tsc"], "")])
    assert samples(fams["node_time_clocksource_current_info"]) == {}
    assert samples(fams["node_time_clocksource_available_info"]) == {("tsc", "0"): 1}


def test_missing_clocksource_directory_keeps_time_and_zone(tmp_path: Path) -> None:
    collector = TimeCollector.from_settings(Settings(paths=Paths(sysfs=str(tmp_path))))
    fams = {f.name: f for f in collector.collect()}
    assert fams["node_time_clocksource_available_info"].samples == []
    assert fams["node_time_clocksource_current_info"].samples == []
    assert len(fams["node_time_seconds"].samples) == 1
    assert len(fams["node_time_zone_offset_seconds"].samples) == 1


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect())
    assert names == sorted(names)


def test_real_machine() -> None:
    before = time.time()
    fams = {f.name: f for f in TimeCollector.from_settings(Settings()).collect()}
    [((), now)] = fams["node_time_seconds"].samples
    assert before <= now <= time.time()
