"""The netdev collector: /proc/net/dev parsing, the sixteen node_exporter names, device filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.netdev import FIELDS, NetdevCollector, parse_netdev
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
NETDEV = (FIXTURES / "proc" / "net" / "dev").read_text()


def collect(text: str = NETDEV, **kwargs: Any) -> dict[str, Family]:
    return {fam.name: fam for fam in NetdevCollector(source=lambda: text, **kwargs).collect()}


def devices(fams: dict[str, Family]) -> list[str]:
    return [labels[0] for labels, _ in fams["node_network_receive_bytes_total"].samples]


def value(fams: dict[str, Family], field: str, device: str) -> float:
    return dict(fams[f"node_network_{field}_total"].samples)[(device,)]


def test_parse_skips_the_two_header_lines() -> None:
    assert list(parse_netdev(NETDEV)) == ["lo", "enp0s31f6", "wlp3s0", "docker0", "veth6b2c1a9", "wg0"]


def test_parse_reads_sixteen_counters_in_column_order() -> None:
    assert parse_netdev(NETDEV)["wg0"] == (0, 0, 3, 0, 1, 2, 0, 0, 131076, 1560, 5, 7, 0, 0, 4, 0)


def test_parse_handles_no_space_after_the_colon() -> None:
    assert parse_netdev(NETDEV)["enp0s31f6"][:2] == (48271662087, 37104522)


def test_parse_rejects_short_lines() -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parse_netdev("h1\nh2\n  eth0: 1 2 3\n")


def test_sixteen_families_and_nohandler_with_node_exporter_names_in_name_order() -> None:
    fams = collect()
    names = [f"node_network_{f}_total" for f in (*FIELDS, "receive_nohandler")]
    assert list(fams) == sorted(names)
    assert len(fams) == 17
    assert {f.kind for f in fams.values()} == {"counter"}
    assert fams["node_network_transmit_colls_total"].help == "Network device statistic transmit_colls."


def test_values_map_to_their_columns() -> None:
    fams = collect()
    assert value(fams, "receive_errs", "wg0") == 3
    assert value(fams, "receive_fifo", "wg0") == 1
    assert value(fams, "receive_frame", "wg0") == 2
    assert value(fams, "transmit_errs", "wg0") == 5
    assert value(fams, "transmit_drop", "wg0") == 7
    assert value(fams, "transmit_carrier", "wg0") == 4
    assert value(fams, "receive_multicast", "enp0s31f6") == 201837
    assert value(fams, "receive_drop", "enp0s31f6") == 1204
    assert value(fams, "transmit_bytes", "enp0s31f6") == 7306149237


def test_no_filter_by_default_keeps_lo() -> None:
    assert devices(collect()) == ["docker0", "enp0s31f6", "lo", "veth6b2c1a9", "wg0", "wlp3s0"]


def test_device_exclude() -> None:
    assert devices(collect(device_exclude="^(lo|veth.*|docker\\d+)$")) == ["enp0s31f6", "wg0", "wlp3s0"]


def test_device_include() -> None:
    assert devices(collect(device_include="^(en|wl)")) == ["enp0s31f6", "wlp3s0"]


def test_include_and_exclude_are_mutually_exclusive() -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        NetdevCollector(source=str, device_exclude="^lo$", device_include="^eth")


def test_from_settings_reads_procfs_net_dev_and_flags() -> None:
    settings = Settings(paths=Paths(procfs=str(FIXTURES / "proc")), flags={"netdev.device-exclude": "^lo$"})
    fams = {f.name: f for f in NetdevCollector.from_settings(settings).collect()}
    assert "lo" not in devices(fams)
    assert value(fams, "receive_packets", "wlp3s0") == 1537301


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect())
    assert names == sorted(names)


def test_real_machine() -> None:
    fams = {f.name: f for f in NetdevCollector.from_settings(Settings()).collect()}
    assert set(devices(fams)) == set(psutil.net_io_counters(pernic=True))
    assert all(v >= 0 for fam in fams.values() for _, v in fam.samples)


def test_nohandler_comes_from_the_injected_reader_for_kept_devices_only() -> None:
    fams = collect(nohandler={"wg0": 4, "lo": 9}.get, device_exclude="^lo$")
    assert fams["node_network_receive_nohandler_total"].samples == [(("wg0",), 4)]


def test_nohandler_is_read_from_sysfs_statistics() -> None:
    paths = Paths(procfs=str(FIXTURES / "proc"), sysfs=str(FIXTURES / "sys"))
    collector = NetdevCollector.from_settings(Settings(paths=paths))
    fams = {fam.name: fam for fam in collector.collect()}
    assert dict(fams["node_network_receive_nohandler_total"].samples) == {("enp0s31f6",): 17, ("wg0",): 0}
