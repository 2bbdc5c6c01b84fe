"""The cpu collector: /proc/stat cpu lines, kernel CPU numbers, ticks to seconds, guest time."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.cpu import CpuCollector, parse_cpu_lines
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
STAT = (FIXTURES / "proc" / "stat").read_text()
MODES = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]


def collect(text: str = STAT, tick: int = 100) -> dict[str, Family]:
    return {fam.name: fam for fam in CpuCollector(source=lambda: text, tick=tick).collect()}


def seconds(fams: dict[str, Family]) -> dict[tuple[str, ...], float]:
    return dict(fams["node_cpu_seconds_total"].samples)


def guest(fams: dict[str, Family]) -> dict[tuple[str, ...], float]:
    return dict(fams["node_cpu_guest_seconds_total"].samples)


def test_parse_keys_are_the_kernels_cpu_numbers() -> None:
    assert list(parse_cpu_lines(STAT)) == [0, 1, 3]


def test_parse_reads_ten_columns_in_file_order() -> None:
    assert parse_cpu_lines(STAT)[1] == (16000, 52, 4800, 405000, 630, 0, 140, 37, 10, 3)


def test_parse_pads_short_lines_from_old_kernels_with_zeros() -> None:
    assert parse_cpu_lines("cpu0 1 2 3 4\n")[0] == (1, 2, 3, 4, 0, 0, 0, 0, 0, 0)


def test_parse_rejects_a_non_numeric_column() -> None:
    with pytest.raises(ValueError):
        parse_cpu_lines("cpu0 1 2 x 4 5 6 7 8 0 0\n")


def test_parse_rejects_a_line_with_too_few_columns() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_cpu_lines("cpu0 1 2 3\n")


def test_two_counter_families_with_node_exporter_names_labels_and_help() -> None:
    fams = collect()
    assert sorted(fams) == ["node_cpu_guest_seconds_total", "node_cpu_seconds_total"]
    assert {f.kind for f in fams.values()} == {"counter"}
    assert {f.labelnames for f in fams.values()} == {("cpu", "mode")}
    assert fams["node_cpu_seconds_total"].help == "Seconds the CPUs spent in each mode."
    assert (
        fams["node_cpu_guest_seconds_total"].help == "Seconds the CPUs spent in guests (VMs) for each mode."
    )


def test_eight_modes_per_cpu() -> None:
    fams = collect()
    assert [mode for (cpu, mode) in seconds(fams) if cpu == "0"] == MODES


def test_cpu_labels_come_from_the_kernels_names_not_positions() -> None:
    assert sorted({cpu for cpu, _ in seconds(collect())}) == ["0", "1", "3"]


def test_the_all_cpu_total_line_is_not_exported() -> None:
    fams = collect("cpu  9 9 9 9 9 9 9 9 9 9\ncpu0 1 1 1 1 1 1 1 1 1 1\n")
    assert {cpu for cpu, _ in seconds(fams)} == {"0"}
    assert {cpu for cpu, _ in guest(fams)} == {"0"}


def test_values_are_ticks_divided_by_the_clock_tick() -> None:
    values = seconds(collect(tick=100))
    assert values[("0", "user")] == 150
    assert values[("0", "nice")] == 0.5
    assert values[("0", "system")] == 50
    assert values[("0", "idle")] == 4000
    assert values[("0", "iowait")] == 6
    assert values[("0", "irq")] == 0
    assert values[("0", "softirq")] == 2
    assert values[("0", "steal")] == 0.3
    assert values[("3", "idle")] == 73.45


def test_the_tick_argument_is_used() -> None:
    assert seconds(collect("cpu0 100 0 0 0\n", tick=50))[("0", "user")] == 2


def test_user_and_nice_include_guest_time_as_the_kernel_reports_them() -> None:
    values = seconds(collect("cpu0 100 50 0 0 0 0 0 0 40 20\n"))
    assert values[("0", "user")] == 1
    assert values[("0", "nice")] == 0.5


def test_guest_series_have_user_and_nice_modes() -> None:
    values = guest(collect())
    assert values[("0", "user")] == 0.1
    assert values[("0", "nice")] == 0.02
    assert values[("1", "nice")] == 0.03
    assert sorted(values) == [(cpu, mode) for cpu in ("0", "1", "3") for mode in ("nice", "user")]


def test_short_lines_give_zero_for_the_missing_modes() -> None:
    fams = collect("cpu  100 200 300 400\ncpu0 100 200 300 400\n")
    assert seconds(fams) == {
        ("0", "idle"): 4,
        ("0", "iowait"): 0,
        ("0", "irq"): 0,
        ("0", "nice"): 2,
        ("0", "softirq"): 0,
        ("0", "steal"): 0,
        ("0", "system"): 3,
        ("0", "user"): 1,
    }
    assert guest(fams) == {("0", "nice"): 0, ("0", "user"): 0}


def test_malformed_line_raises_value_error() -> None:
    with pytest.raises(ValueError):
        collect("cpu0 1 2 three 4 5 6 7 8 9 10\n")


def test_lines_after_the_cpu_block_are_ignored() -> None:
    assert len(seconds(collect("cpu0 1 2 3 4\nintr 5 6\nctxt 7\ncpu_bogus x\n"))) == 8


def test_source_is_read_at_every_collect() -> None:
    texts = iter(["cpu0 100 0 0 0\n", "cpu0 200 0 0 0\n"])
    collector = CpuCollector(source=lambda: next(texts), tick=100)
    first = dict(next(f for f in collector.collect() if f.name == "node_cpu_seconds_total").samples)
    second = dict(next(f for f in collector.collect() if f.name == "node_cpu_seconds_total").samples)
    assert (first[("0", "user")], second[("0", "user")]) == (1, 2)


def test_from_settings_reads_procfs_stat() -> None:
    collector = CpuCollector.from_settings(Settings(paths=Paths(procfs=str(FIXTURES / "proc"))))
    fams = {f.name: f for f in collector.collect()}
    values = seconds(fams)
    assert sorted({cpu for cpu, _ in values}) == ["0", "1", "3"]
    assert values[("1", "idle")] == 405000 / os.sysconf("SC_CLK_TCK")


def test_real_machine() -> None:
    text = Path("/proc/stat").read_text()
    kernel = sorted(int(m) for m in re.findall(r"^cpu(\d+) ", text, re.MULTILINE))
    fams = {f.name: f for f in CpuCollector.from_settings(Settings()).collect()}
    values = seconds(fams)
    assert sorted({int(cpu) for cpu, _ in values}) == kernel
    assert len(values) == 8 * len(kernel)
    assert all(v >= 0 for v in values.values())
