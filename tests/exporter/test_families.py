"""Rendering of metric families in both exposition formats, checked against prometheus_client."""

from __future__ import annotations

import math

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from exporter._families import Family, format_value, render_openmetrics, render_text


def _families() -> list[Family]:
    cpu = Family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", ("cpu", "mode"))
    cpu.add(("0", "idle"), 123.25)
    cpu.add(("0", "user"), 7)
    fs = Family("node_filesystem_avail_bytes", "gauge", "Free space.", ("mountpoint",))
    fs.add(('/mnt/we"ird\\path\nx',), 1.5e12)
    info = Family("node_uname_info", "info", "Labeled system information.", ("sysname",))
    info.add(("Linux",), 1)
    return [cpu, fs, info]


def test_text_format_parses_back_to_the_same_samples() -> None:
    parsed = {s.name: s for m in parse_text(render_text(_families())) for s in m.samples}
    assert parsed["node_filesystem_avail_bytes"].labels == {"mountpoint": '/mnt/we"ird\\path\nx'}
    assert parsed["node_filesystem_avail_bytes"].value == 1.5e12
    assert parsed["node_uname_info"].value == 1


def test_openmetrics_format_parses_with_types_and_eof() -> None:
    text = render_openmetrics(_families())
    assert text.endswith("# EOF\n")
    metrics = {m.name: m for m in parse_om(text)}
    assert metrics["node_cpu_seconds"].type == "counter"
    assert metrics["node_uname"].type == "info"
    assert [s.value for s in metrics["node_cpu_seconds"].samples] == [123.25, 7]


def test_text_format_types_info_as_gauge() -> None:
    assert "# TYPE node_uname_info gauge\n" in render_text(_families())


def test_empty_family_is_left_out() -> None:
    assert render_text([Family("node_x", "gauge", "x")]) == ""


def test_special_values_are_formatted_as_prometheus_expects() -> None:
    assert [format_value(v) for v in (math.inf, -math.inf, math.nan, 3.0, 0.5, 2**70)] == [
        "+Inf",
        "-Inf",
        "NaN",
        "3",
        "0.5",
        str(2**70),
    ]


def test_to_metric_round_trips_through_from_metric() -> None:
    cpu = _families()[0]
    back = Family.from_metric(cpu.to_metric())
    assert back is not None
    assert (back.name, back.kind, back.labelnames, back.samples) == (
        cpu.name,
        cpu.kind,
        cpu.labelnames,
        cpu.samples,
    )
