"""The loadavg collector: node_load1, node_load5, node_load15."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.loadavg import LoadavgCollector, parse_loadavg
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"


def values(fams: list[Family]) -> dict[str, float]:
    out = {}
    for fam in fams:
        [((), v)] = fam.samples
        out[fam.name] = v
    return out


def test_parse_reads_the_three_averages() -> None:
    assert parse_loadavg("0.12 0.34 0.56 1/234 5678\n") == (0.12, 0.34, 0.56)


def test_parse_rejects_empty_content() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_loadavg("")


def test_parse_rejects_too_few_fields() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_loadavg("0.12 0.34\n")


def test_parse_rejects_non_numbers() -> None:
    with pytest.raises(ValueError):
        parse_loadavg("low lower lowest 1/2 3\n")


def test_three_gauges_from_an_injected_source() -> None:
    fams = list(LoadavgCollector(source=lambda: (1.5, 2.25, 3.0)).collect())
    assert values(fams) == {"node_load1": 1.5, "node_load5": 2.25, "node_load15": 3.0}


def test_kinds_and_help_as_node_exporter() -> None:
    fams = list(LoadavgCollector(source=lambda: (0.0, 0.0, 0.0)).collect())
    assert {f.name: (f.kind, f.help) for f in fams} == {
        "node_load1": ("gauge", "1m load average."),
        "node_load5": ("gauge", "5m load average."),
        "node_load15": ("gauge", "15m load average."),
    }


def test_source_is_read_at_every_collect() -> None:
    loads = iter([(1.0, 1.0, 1.0), (2.0, 2.0, 2.0)])
    collector = LoadavgCollector(source=lambda: next(loads))
    assert [values(list(collector.collect()))["node_load1"] for _ in range(2)] == [1.0, 2.0]


def test_from_settings_reads_loadavg_when_procfs_is_not_proc() -> None:
    collector = LoadavgCollector.from_settings(Settings(paths=Paths(procfs=str(FIXTURES / "proc"))))
    assert values(list(collector.collect())) == {"node_load1": 0.52, "node_load5": 0.41, "node_load15": 0.30}


def test_from_settings_bad_loadavg_file_raises_value_error(tmp_path: Path) -> None:
    (tmp_path / "loadavg").write_text("garbage\n")
    collector = LoadavgCollector.from_settings(Settings(paths=Paths(procfs=str(tmp_path))))
    with pytest.raises(ValueError):
        list(collector.collect())


def test_real_machine() -> None:
    fams = list(LoadavgCollector.from_settings(Settings()).collect())
    assert sorted(values(fams)) == ["node_load1", "node_load15", "node_load5"]
    assert all(v >= 0 for v in values(fams).values())
