"""The stat collector: boot time, context switches, forks, interrupts, run queue, softirqs."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.stat import StatCollector, parse_stat
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
STAT = (FIXTURES / "proc" / "stat").read_text()
PROCFS = Paths(procfs=str(FIXTURES / "proc"))
# node_exporter 1.5's names, types and help texts (prometheus-node-exporter --collector.stat).
UPSTREAM = {
    "node_boot_time_seconds": ("gauge", "Node boot time, in unixtime."),
    "node_context_switches_total": ("counter", "Total number of context switches."),
    "node_forks_total": ("counter", "Total number of forks."),
    "node_intr_total": ("counter", "Total number of interrupts serviced."),
    "node_procs_blocked": ("gauge", "Number of processes blocked waiting for I/O to complete."),
    "node_procs_running": ("gauge", "Number of processes in runnable state."),
}


def collect(text: str = STAT, softirq: bool = False) -> dict[str, Family]:
    return {fam.name: fam for fam in StatCollector(source=lambda: text, softirq=softirq).collect()}


def from_settings(**flags: object) -> dict[str, Family]:
    collector = StatCollector.from_settings(Settings(paths=PROCFS, flags=flags))
    return {fam.name: fam for fam in collector.collect()}


def value(fams: dict[str, Family], name: str) -> float:
    [((), v)] = fams[name].samples
    return v


def test_parse_takes_the_first_number_of_each_line() -> None:
    assert parse_stat("intr 4242424 0 9 1\nctxt 8675309\n") == {"intr": [4242424], "ctxt": [8675309]}


def test_parse_skips_cpu_lines() -> None:
    assert parse_stat("cpu  1 2 3 4\ncpu0 1 2 3 4\nbtime 5\n") == {"btime": [5]}


def test_parse_keeps_every_softirq_column_only_when_asked() -> None:
    assert parse_stat("softirq 9 1 2 3\n", softirq=True) == {"softirq": [9, 1, 2, 3]}
    assert parse_stat("softirq 9 1 2 3\n") == {"softirq": [9]}


def test_parse_rejects_a_non_numeric_value() -> None:
    with pytest.raises(ValueError):
        parse_stat("ctxt lots\n")


def test_values_from_the_fixture() -> None:
    fams = from_settings()
    assert value(fams, "node_boot_time_seconds") == 1700000000
    assert value(fams, "node_context_switches_total") == 8675309
    assert value(fams, "node_forks_total") == 123456
    assert value(fams, "node_intr_total") == 4242424
    assert value(fams, "node_procs_running") == 3
    assert value(fams, "node_procs_blocked") == 1


def test_names_kinds_and_help_as_node_exporter() -> None:
    fams = collect()
    assert {name: (f.kind, f.help) for name, f in fams.items()} == UPSTREAM
    assert {f.labelnames for f in fams.values()} == {()}


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect(softirq=True))
    assert names == sorted(names)


def test_softirq_is_off_by_default() -> None:
    assert "node_softirqs_total" not in from_settings()
    assert "node_softirqs_total" not in collect()


def test_softirq_flag_adds_calls_per_vector_in_kernel_order() -> None:
    fams = from_settings(**{"stat.softirq": True})
    assert fams["node_softirqs_total"].kind == "counter"
    assert fams["node_softirqs_total"].labelnames == ("vector",)
    assert fams["node_softirqs_total"].samples == [
        (("hi",), 1),
        (("timer",), 200000),
        (("net_tx",), 30),
        (("net_rx",), 40000),
        (("block",), 5000),
        (("block_iopoll",), 0),
        (("tasklet",), 6),
        (("sched",), 150000),
        (("hrtimer",), 0),
        (("rcu",), 160518),
    ]


def test_softirq_help_is_node_exporters() -> None:
    assert collect(softirq=True)["node_softirqs_total"].help == "Number of softirq calls."


def test_softirq_flag_without_a_softirq_line_yields_no_family() -> None:
    assert "node_softirqs_total" not in collect("ctxt 1\n", softirq=True)


def test_a_missing_key_leaves_its_family_out() -> None:
    fams = collect("ctxt 5\nbtime 7\nprocs_running 2\n")
    assert sorted(fams) == ["node_boot_time_seconds", "node_context_switches_total", "node_procs_running"]
    assert value(fams, "node_procs_running") == 2


def test_empty_file_yields_nothing() -> None:
    assert collect("") == {}


def test_garbage_value_raises_value_error() -> None:
    with pytest.raises(ValueError):
        collect("btime soon\n")


def test_real_machine() -> None:
    fams = {f.name: f for f in StatCollector.from_settings(Settings()).collect()}
    assert set(fams) == set(UPSTREAM)
    assert value(fams, "node_boot_time_seconds") > 1e9
    assert value(fams, "node_procs_running") >= 1  # this test is running
