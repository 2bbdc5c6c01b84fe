"""The netclass collector: sysfs attributes, node_exporter 1.5's names and quirks, ignored devices."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter._families import Family, render_text
from exporter.collectors._registry import Settings
from exporter.collectors.netclass import (
    ATTRIBUTES,
    NetclassCollector,
    list_devices,
    parse_int,
    read_attributes,
)
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
CLASS_NET = FIXTURES / "sys" / "class" / "net"
# The tests on this machine's own /sys/class/net: skipped off Linux, never under CI=true (they fail there).
NO_SYSFS = not os.path.isdir("/sys/class/net/lo")
CI = os.environ.get("CI") == "true"
DEVICES = ["docker0", "enp0s31f6", "lo", "veth6b2c1a9", "wg0", "wlp3s0"]
# node_exporter 1.5's netclass property families and their types, as its binary publishes them.
PROPERTIES = {
    "address_assign_type": "gauge",
    "carrier": "gauge",
    "carrier_changes_total": "counter",
    "carrier_down_changes_total": "counter",
    "carrier_up_changes_total": "counter",
    "device_id": "gauge",
    "dormant": "gauge",
    "flags": "gauge",
    "iface_id": "gauge",
    "iface_link": "gauge",
    "iface_link_mode": "gauge",
    "mtu_bytes": "gauge",
    "name_assign_type": "gauge",
    "net_dev_group": "gauge",
    "protocol_type": "gauge",
    "speed_bytes": "gauge",
    "transmit_queue_length": "gauge",
}


def fixture_collector(**flags: Any) -> NetclassCollector:
    return NetclassCollector.from_settings(Settings(paths=Paths(sysfs=str(FIXTURES / "sys")), flags=flags))


def families(collector: NetclassCollector | None = None) -> dict[str, Family]:
    return {fam.name: fam for fam in (collector or fixture_collector()).collect()}


def fake(attributes: Mapping[str, Mapping[str, str]], **kwargs: Any) -> dict[str, Family]:
    collector = NetclassCollector(devices=lambda: list(attributes), attributes=attributes.get, **kwargs)
    return families(collector)


def values(fam: Family) -> dict[str, float]:
    return {labels[0]: value for labels, value in fam.samples}


# parse_int: Go's strconv.ParseInt(s, 0, 64), 0 when that fails (procfs's ValueParser in 1.5).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1500", 1500),
        ("-1", -1),
        ("+5", 5),
        ("0", 0),
        ("0x1003", 4099),
        ("0x0", 0),
        ("0X1f", 31),
        ("010", 8),
        ("0o17", 15),
        ("0b11", 3),
        ("1_000", 1000),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_parse_int_reads_go_base_zero_integers(text: str, expected: int) -> None:
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "08", "0x", "1__0", "_1", "1_", "1.5", "9223372036854775808", "- 1", "١٢"]
)
def test_parse_int_gives_0_for_what_go_cannot_parse(text: str) -> None:
    assert parse_int(text) == 0


# Reading sysfs.


def test_list_devices_skips_regular_files_such_as_bonding_masters() -> None:
    assert (CLASS_NET / "bonding_masters").is_file()
    assert list_devices(str(CLASS_NET)) == DEVICES


def test_list_devices_keeps_symlinked_devices(tmp_path: Path) -> None:
    (tmp_path / "devices" / "eth0").mkdir(parents=True)
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "eth0").symlink_to(tmp_path / "devices" / "eth0")
    assert list_devices(str(tmp_path / "net")) == ["eth0"]


def test_read_attributes_reads_the_published_files_trimmed() -> None:
    attrs = read_attributes(str(CLASS_NET / "enp0s31f6"))
    assert attrs is not None
    assert set(attrs) == set(ATTRIBUTES)
    assert attrs["speed"] == "1000"
    assert attrs["flags"] == "0x1003"
    assert attrs["ifalias"] == "uplink to core-sw1 port 12"


def test_read_attributes_leaves_out_missing_files_and_keeps_empty_ones() -> None:
    attrs = read_attributes(str(CLASS_NET / "wg0"))
    assert attrs is not None
    assert {"speed", "duplex", "carrier_up_count", "carrier_down_count", "name_assign_type"}.isdisjoint(attrs)
    assert (attrs["address"], attrs["ifalias"]) == ("", "")


def test_read_attributes_reads_only_the_first_128_bytes(tmp_path: Path) -> None:
    (tmp_path / "ifalias").write_text("x" * 200 + "\n")
    assert read_attributes(str(tmp_path)) == {"ifalias": "x" * 128}


def test_read_attributes_trims_like_go(tmp_path: Path) -> None:
    (tmp_path / "address").write_text(" \t aa:bb \n")
    (tmp_path / "ifalias").write_text("\x1fkept\x1f\n")  # not white space to Go
    assert read_attributes(str(tmp_path)) == {"address": "aa:bb", "ifalias": "\x1fkept\x1f"}


def test_read_attributes_skips_symlinks_and_directories(tmp_path: Path) -> None:
    (tmp_path / "target").write_text("1500\n")
    (tmp_path / "mtu").symlink_to(tmp_path / "target")
    (tmp_path / "speed").mkdir()
    (tmp_path / "operstate").write_text("up\n")
    assert read_attributes(str(tmp_path)) == {"operstate": "up"}


def test_read_attributes_of_a_vanished_device_is_none(tmp_path: Path) -> None:
    assert read_attributes(str(tmp_path / "gone")) is None


@pytest.mark.skipif(NO_SYSFS and not CI, reason="needs Linux sysfs")
def test_read_attributes_leaves_out_what_the_kernel_refuses() -> None:
    attrs = read_attributes("/sys/class/net/lo")  # lo's speed and duplex fail with EINVAL
    assert attrs is not None
    assert "speed" not in attrs
    assert "duplex" not in attrs
    assert attrs["operstate"] == "unknown"


# The published families.


def test_families_types_and_help_are_node_exporters() -> None:
    fams = families()
    expected = {f"node_network_{name}": kind for name, kind in PROPERTIES.items()}
    expected |= {"node_network_info": "gauge", "node_network_up": "gauge"}
    assert {name: fam.kind for name, fam in fams.items()} == expected
    for name in PROPERTIES:
        assert fams[f"node_network_{name}"].help == f"Network device property: {name}"
    assert fams["node_network_up"].help == "Value is 1 if operstate is 'up', 0 otherwise."
    assert (
        fams["node_network_info"].help == "Non-numeric data from /sys/class/net/<iface>, value is always 1."
    )


def test_families_are_yielded_in_name_order_with_devices_sorted() -> None:
    fams = families()
    assert list(fams) == sorted(fams)
    assert [labels[0] for labels, _ in fams["node_network_up"].samples] == DEVICES


def test_speed_1000_is_1_25e8_bytes_per_second() -> None:
    fams = families()
    assert values(fams["node_network_speed_bytes"])["enp0s31f6"] == 1.25e08
    (parsed,) = text_string_to_metric_families(render_text([fams["node_network_speed_bytes"]]))
    assert {s.labels["device"]: s.value for s in parsed.samples}["enp0s31f6"] == 1.25e08


def test_unknown_speed_is_published_as_minus_125000_like_node_exporter() -> None:
    assert values(families()["node_network_speed_bytes"]) == {
        "docker0": -125_000,
        "enp0s31f6": 125_000_000,
        "veth6b2c1a9": 1_250_000_000,
    }


def test_ignore_invalid_speed_leaves_negative_speeds_out() -> None:
    fams = families(fixture_collector(**{"netclass.ignore-invalid-speed": True}))
    assert values(fams["node_network_speed_bytes"]) == {
        "enp0s31f6": 125_000_000,
        "veth6b2c1a9": 1_250_000_000,
    }


def test_ignore_invalid_speed_keeps_a_zero_speed() -> None:
    fams = fake({"eth0": {"speed": "0"}}, ignore_invalid_speed=True)
    assert values(fams["node_network_speed_bytes"]) == {"eth0": 0}


def test_an_unreadable_speed_gives_no_speed_sample() -> None:
    assert {"lo", "wlp3s0", "wg0"}.isdisjoint(values(families()["node_network_speed_bytes"]))


def test_missing_files_skip_only_their_own_metric() -> None:
    fams = families()
    for name in ("carrier_up_changes_total", "carrier_down_changes_total", "name_assign_type"):
        assert "wg0" not in values(fams[f"node_network_{name}"]), name
    assert values(fams["node_network_mtu_bytes"])["wg0"] == 1420
    assert values(fams["node_network_protocol_type"])["wg0"] == 65534
    assert values(fams["node_network_up"])["wg0"] == 0


def test_a_device_with_no_readable_file_still_has_up_and_info() -> None:
    fams = fake({"eth9": {}})
    assert fams["node_network_up"].samples == [(("eth9",), 0)]
    assert fams["node_network_info"].samples == [(("", "", "eth9", "", "", ""), 1)]
    assert all(
        not fam.samples for name, fam in fams.items() if name not in ("node_network_up", "node_network_info")
    )


def test_a_vanished_device_is_left_out() -> None:
    collector = NetclassCollector(devices=lambda: ["eth0", "gone"], attributes={"eth0": {"mtu": "1500"}}.get)
    assert [labels for labels, _ in families(collector)["node_network_up"].samples] == [("eth0",)]


def test_an_unparseable_number_is_published_as_0_like_node_exporter() -> None:
    fams = fake({"eth0": {"mtu": "garbage", "speed": "n/a"}})
    assert values(fams["node_network_mtu_bytes"]) == {"eth0": 0}
    assert values(fams["node_network_speed_bytes"]) == {"eth0": 0}


def test_numeric_attributes_map_to_their_families() -> None:
    fams = families()
    enp = {name: values(fams[f"node_network_{name}"])["enp0s31f6"] for name in PROPERTIES}
    assert enp == {
        "address_assign_type": 0,
        "carrier": 1,
        "carrier_changes_total": 4,
        "carrier_down_changes_total": 2,
        "carrier_up_changes_total": 2,
        "device_id": 0,
        "dormant": 0,
        "flags": 4099,
        "iface_id": 2,
        "iface_link": 2,
        "iface_link_mode": 0,
        "mtu_bytes": 1500,
        "name_assign_type": 4,
        "net_dev_group": 0,
        "protocol_type": 1,
        "speed_bytes": 125_000_000,
        "transmit_queue_length": 1000,
    }
    assert values(fams["node_network_iface_link"])["veth6b2c1a9"] == 5
    assert values(fams["node_network_flags"])["lo"] == 9


def test_up_is_1_only_for_operstate_up() -> None:
    assert values(families()["node_network_up"]) == {
        "docker0": 0,
        "enp0s31f6": 1,
        "lo": 0,
        "veth6b2c1a9": 1,
        "wg0": 0,
        "wlp3s0": 1,
    }
    assert values(fake({"eth0": {"operstate": "UP"}})["node_network_up"]) == {"eth0": 0}


def test_info_has_the_string_attributes_sorted_by_label_values() -> None:
    info = families()["node_network_info"]
    assert info.labelnames == ("address", "broadcast", "device", "duplex", "ifalias", "operstate")
    assert info.samples == [
        (("", "", "wg0", "", "", "unknown"), 1),
        (("00:00:00:00:00:00", "00:00:00:00:00:00", "lo", "", "", "unknown"), 1),
        (("02:42:5c:7e:91:aa", "ff:ff:ff:ff:ff:ff", "docker0", "unknown", "", "down"), 1),
        (("3c:a9:f4:10:22:8e", "ff:ff:ff:ff:ff:ff", "wlp3s0", "", "", "up"), 1),
        (("6e:3d:0a:b1:55:c2", "ff:ff:ff:ff:ff:ff", "veth6b2c1a9", "full", "", "up"), 1),
        (
            (
                "8c:16:45:5a:1e:0b",
                "ff:ff:ff:ff:ff:ff",
                "enp0s31f6",
                "full",
                "uplink to core-sw1 port 12",
                "up",
            ),
            1,
        ),
    ]


# Ignored devices.


def test_default_ignores_no_device() -> None:
    assert set(values(families()["node_network_up"])) == set(DEVICES)


def test_ignored_devices_is_a_regexp_search() -> None:
    fams = families(fixture_collector(**{"netclass.ignored-devices": "^lo$|veth|g0$"}))
    assert list(values(fams["node_network_up"])) == ["docker0", "enp0s31f6", "wlp3s0"]
    assert all(
        labels[2] not in ("lo", "veth6b2c1a9", "wg0") for labels, _ in fams["node_network_info"].samples
    )


def test_ignored_devices_are_not_read() -> None:
    read: list[str] = []

    def attributes(device: str) -> dict[str, str]:
        read.append(device)
        return {}

    collector = NetclassCollector(
        devices=lambda: ["eth0", "lo"], attributes=attributes, ignored_devices="^lo$"
    )
    list(collector.collect())
    assert read == ["eth0"]


def test_an_empty_ignored_devices_regexp_ignores_every_device_like_go() -> None:
    assert not families(fixture_collector(**{"netclass.ignored-devices": ""}))["node_network_up"].samples


# Failing alone.


def test_missing_class_net_raises_so_the_scrape_reports_the_collector_failed(tmp_path: Path) -> None:
    collector = NetclassCollector.from_settings(Settings(paths=Paths(sysfs=str(tmp_path))))
    with pytest.raises(FileNotFoundError):
        list(collector.collect())


@pytest.mark.skipif(NO_SYSFS and not CI, reason="needs Linux sysfs")
def test_real_machine() -> None:
    fams = families(NetclassCollector.from_settings(Settings()))
    on_host = {e.name for e in os.scandir("/sys/class/net") if not e.is_file(follow_symlinks=False)}
    assert set(values(fams["node_network_up"])) == on_host
    assert set(values(fams["node_network_up"]).values()) <= {0, 1}
    assert "lo" not in values(fams["node_network_speed_bytes"])
