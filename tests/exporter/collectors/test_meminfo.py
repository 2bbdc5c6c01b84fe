"""The meminfo collector: every /proc/meminfo line as node_exporter's ``node_memory_*`` gauge."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.meminfo import MeminfoCollector, parse_meminfo
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
MEMINFO = (FIXTURES / "proc" / "meminfo").read_text()


def collect(text: str = MEMINFO) -> dict[str, Family]:
    return {fam.name: fam for fam in MeminfoCollector(source=lambda: text).collect()}


def value(fams: dict[str, Family], name: str) -> float:
    [((), v)] = fams[name].samples
    return v


def test_parse_kb_lines_are_bytes() -> None:
    assert parse_meminfo("MemTotal:       24683792 kB\n") == {"MemTotal_bytes": 24683792 * 1024}


def test_parse_unitless_lines_keep_their_name() -> None:
    assert parse_meminfo("HugePages_Total:       7\n") == {"HugePages_Total": 7}


def test_parse_parentheses_become_an_underscore() -> None:
    assert parse_meminfo("Active(anon):         20 kB\n") == {"Active_anon_bytes": 20 * 1024}


def test_parse_skips_blank_lines() -> None:
    assert parse_meminfo("\nMemFree: 1 kB\n\n") == {"MemFree_bytes": 1024}


def test_parse_rejects_a_garbage_line() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_meminfo("MemTotal: 1 kB\nthis is not meminfo\n")


def test_parse_rejects_an_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_meminfo("MemTotal: 1 MB\n")


def test_parse_rejects_a_non_numeric_value() -> None:
    with pytest.raises(ValueError):
        parse_meminfo("MemTotal: lots kB\n")


def test_one_family_per_fixture_line() -> None:
    assert len(collect()) == len(MEMINFO.splitlines()) == 54


def test_kb_values_are_multiplied_by_1024() -> None:
    fams = collect()
    assert value(fams, "node_memory_MemTotal_bytes") == 24683792 * 1024
    assert value(fams, "node_memory_MemAvailable_bytes") == 24335032 * 1024
    assert value(fams, "node_memory_VmallocTotal_bytes") == 34359738367 * 1024


def test_unitless_fields_have_no_bytes_suffix() -> None:
    fams = collect()
    assert value(fams, "node_memory_HugePages_Total") == 0
    assert "node_memory_HugePages_Total_bytes" not in fams
    assert "node_memory_Hugepagesize_bytes" in fams


def test_parenthesised_fields_use_node_exporter_names() -> None:
    fams = collect()
    assert value(fams, "node_memory_Active_anon_bytes") == 20 * 1024
    assert value(fams, "node_memory_Inactive_file_bytes") == 89616 * 1024
    assert not [name for name in fams if "(" in name or ")" in name]


def test_help_text_names_the_field() -> None:
    fams = collect()
    assert fams["node_memory_Active_anon_bytes"].help == "Memory information field Active_anon_bytes."
    assert fams["node_memory_HugePages_Total"].help == "Memory information field HugePages_Total."


def test_all_families_are_unlabelled_gauges() -> None:
    fams = collect()
    assert {f.kind for f in fams.values()} == {"gauge"}
    assert {f.labelnames for f in fams.values()} == {()}


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect())
    assert names == sorted(names)


def test_garbage_line_raises_value_error() -> None:
    with pytest.raises(ValueError):
        collect("MemTotal: 1 kB\ngarbage\n")


def test_from_settings_reads_procfs_meminfo_with_swap() -> None:
    collector = MeminfoCollector.from_settings(Settings(paths=Paths(procfs=str(FIXTURES / "proc"))))
    fams = {f.name: f for f in collector.collect()}
    assert value(fams, "node_memory_SwapTotal_bytes") == 2097148 * 1024
    assert value(fams, "node_memory_SwapFree_bytes") == 1048572 * 1024


def test_real_machine() -> None:
    fams = {f.name: f for f in MeminfoCollector.from_settings(Settings()).collect()}
    assert value(fams, "node_memory_MemTotal_bytes") == psutil.virtual_memory().total
    assert value(fams, "node_memory_SwapTotal_bytes") == psutil.swap_memory().total
