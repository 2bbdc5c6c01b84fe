"""The uname collector: ``node_uname_info`` labels from uname(2) and the NIS domain name."""

from __future__ import annotations

import os
from pathlib import Path

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.uname import UnameCollector
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
UNAME = os.uname_result(("Linux", "web-1", "6.1.0-13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian", "x86_64"))


def collect(domainname: str = "example.org") -> Family:
    [fam] = UnameCollector(uname=lambda: UNAME, domainname=lambda: domainname).collect()
    return fam


def labels(fam: Family) -> dict[str, str]:
    [(values, _)] = fam.samples
    return dict(zip(fam.labelnames, values, strict=True))


def from_settings(procfs: Path) -> Family:
    [fam] = UnameCollector.from_settings(Settings(paths=Paths(procfs=str(procfs)))).collect()
    return fam


def test_name_kind_and_help_as_node_exporter() -> None:
    fam = collect()
    assert (fam.name, fam.kind) == ("node_uname_info", "gauge")
    assert fam.help == "Labeled system information as provided by the uname system call."


def test_labelnames_in_node_exporter_order() -> None:
    assert collect().labelnames == ("domainname", "machine", "nodename", "release", "sysname", "version")


def test_labels_come_from_uname_and_the_domain_name() -> None:
    assert labels(collect()) == {
        "domainname": "example.org",
        "machine": "x86_64",
        "nodename": "web-1",
        "release": "6.1.0-13-amd64",
        "sysname": "Linux",
        "version": "#1 SMP PREEMPT_DYNAMIC Debian",
    }


def test_value_is_one() -> None:
    [(_, value)] = collect().samples
    assert value == 1


def test_from_settings_reads_the_fixture_domain_name() -> None:
    assert labels(from_settings(FIXTURES / "proc"))["domainname"] == "(none)"


def test_from_settings_reads_domainname_under_procfs(tmp_path: Path) -> None:
    (tmp_path / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "domainname").write_text("corp.example\n")
    assert labels(from_settings(tmp_path))["domainname"] == "corp.example"


def test_missing_domainname_file_is_none(tmp_path: Path) -> None:
    assert labels(from_settings(tmp_path))["domainname"] == "(none)"


def test_empty_domainname_file_is_none(tmp_path: Path) -> None:
    (tmp_path / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "domainname").write_text("\n")
    assert labels(from_settings(tmp_path))["domainname"] == "(none)"


def test_real_machine() -> None:
    [fam] = UnameCollector.from_settings(Settings()).collect()
    u = os.uname()
    assert labels(fam) == {
        "domainname": Path("/proc/sys/kernel/domainname").read_text().strip() or "(none)",
        "machine": u.machine,
        "nodename": u.nodename,
        "release": u.release,
        "sysname": u.sysname,
        "version": u.version,
    }
