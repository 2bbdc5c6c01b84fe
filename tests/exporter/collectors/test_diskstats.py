"""The diskstats collector: /proc/diskstats parsing, units, field counts, device filters, udev labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.diskstats import (
    DEVICE_EXCLUDE,
    DiskstatsCollector,
    parse_diskstats,
    parse_udev_properties,
)
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
DISKSTATS = (FIXTURES / "proc" / "diskstats").read_text()
LINE_20 = " 259 0 nvme0n1 10 2 300 4000 5 6 700 8000 9 10000 11000 12 13 14 15000 16 17000\n"


def collect(text: str, **kwargs: object) -> dict[str, Family]:
    collector = DiskstatsCollector(source=lambda: text, **kwargs)  # type: ignore[arg-type]
    return {fam.name: fam for fam in collector.collect()}


def value(fams: dict[str, Family], name: str, device: str = "nvme0n1") -> float:
    return dict(fams[name].samples)[(device,)]


def devices(fams: dict[str, Family], name: str = "node_disk_reads_completed_total") -> list[str]:
    return [labels[0] for labels, _ in fams[name].samples]


def test_parse_reads_name_major_minor_and_counters() -> None:
    [disk] = parse_diskstats(LINE_20)
    assert (disk.device, disk.major, disk.minor) == ("nvme0n1", 259, 0)
    assert disk.stats == (10, 2, 300, 4000, 5, 6, 700, 8000, 9, 10000, 11000, 12, 13, 14, 15000, 16, 17000)


def test_parse_skips_lines_with_too_few_counters() -> None:
    assert parse_diskstats("   8 1 sda1 12 34 56 78\n") == []


def test_parse_keeps_old_kernel_lines_with_eleven_counters() -> None:
    [disk] = parse_diskstats("  11 0 sr0 23 0 1128 28 0 0 0 0 0 84 28\n")
    assert len(disk.stats) == 11


def test_sectors_are_512_bytes() -> None:
    fams = collect(LINE_20)
    assert value(fams, "node_disk_read_bytes_total") == 300 * 512
    assert value(fams, "node_disk_written_bytes_total") == 700 * 512


def test_milliseconds_become_seconds() -> None:
    fams = collect(LINE_20)
    assert value(fams, "node_disk_read_time_seconds_total") == 4.0
    assert value(fams, "node_disk_write_time_seconds_total") == 8.0
    assert value(fams, "node_disk_io_time_seconds_total") == 10.0
    assert value(fams, "node_disk_io_time_weighted_seconds_total") == 11.0
    assert value(fams, "node_disk_discard_time_seconds_total") == 15.0
    assert value(fams, "node_disk_flush_requests_time_seconds_total") == 17.0


def test_counts_are_raw_and_discarded_sectors_stay_sectors() -> None:
    fams = collect(LINE_20)
    assert value(fams, "node_disk_reads_completed_total") == 10
    assert value(fams, "node_disk_reads_merged_total") == 2
    assert value(fams, "node_disk_writes_completed_total") == 5
    assert value(fams, "node_disk_writes_merged_total") == 6
    assert value(fams, "node_disk_io_now") == 9
    assert value(fams, "node_disk_discards_completed_total") == 12
    assert value(fams, "node_disk_discards_merged_total") == 13
    assert value(fams, "node_disk_discarded_sectors_total") == 14
    assert value(fams, "node_disk_flush_requests_total") == 16


def test_kinds_io_now_is_a_gauge_the_rest_counters() -> None:
    fams = collect(LINE_20)
    assert fams["node_disk_io_now"].kind == "gauge"
    assert {f.kind for n, f in fams.items() if n not in ("node_disk_io_now", "node_disk_info")} == {"counter"}


def test_seventeen_counters_give_all_families() -> None:
    assert len(collect(LINE_20)) == 18  # 17 counters + node_disk_info


def test_fifteen_counters_have_discards_but_no_flushes() -> None:
    fams = collect(DISKSTATS)
    assert "zram0" in devices(fams, "node_disk_discards_completed_total")
    assert "zram0" not in devices(fams, "node_disk_flush_requests_total")


def test_eleven_counters_have_no_discards() -> None:
    fams = collect(DISKSTATS)
    assert "sr0" in devices(fams)
    assert "sr0" not in devices(fams, "node_disk_discards_completed_total")


def test_default_exclude_drops_partitions_and_loops() -> None:
    assert devices(collect(DISKSTATS)) == ["dm-0", "nvme0n1", "sda", "sr0", "zram0"]


def test_default_exclude_is_node_exporter_1_5() -> None:
    assert DEVICE_EXCLUDE == r"^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$"


def test_device_exclude_flag() -> None:
    assert devices(collect(DISKSTATS, device_exclude="^(loop|sr|zram)")) == [
        "dm-0",
        "nvme0n1",
        "nvme0n1p1",
        "nvme0n1p2",
        "sda",
        "sda1",
    ]


def test_device_include_overrides_default_exclude() -> None:
    assert devices(collect(DISKSTATS, device_include="^nvme")) == ["nvme0n1", "nvme0n1p1", "nvme0n1p2"]


def test_include_and_explicit_exclude_are_mutually_exclusive() -> None:
    with pytest.raises(ValueError, match="mutually exclusive"):
        DiskstatsCollector(source=str, device_exclude="^sd", device_include="^nvme")


def test_info_has_major_minor_and_empty_udev_labels_without_udev() -> None:
    fams = collect(LINE_20)
    assert fams["node_disk_info"].samples == [(("nvme0n1", "259", "0", "", "", "", "", ""), 1)]
    assert fams["node_disk_info"].labelnames == (
        "device",
        "major",
        "minor",
        "model",
        "path",
        "revision",
        "serial",
        "wwn",
    )


def test_parse_udev_properties_keeps_only_e_lines() -> None:
    text = "S:disk/by-id/x\nE:ID_MODEL=Disk\nE:ID_PATH=pci-0000:00:05.0\nG:systemd\n"
    assert parse_udev_properties(text) == {"ID_MODEL": "Disk", "ID_PATH": "pci-0000:00:05.0"}


def write_udev(tmp_path: Path) -> str:
    (tmp_path / "b259:0").write_text(
        "S:disk/by-id/nvme-x\n"
        "E:ID_PATH=pci-0000:01:00.0-nvme-1\nE:ID_WWN=eui.0025388b91b0ab12\nE:ID_MODEL=Samsung SSD 980\n"
        "E:ID_SERIAL=Samsung_SSD_980_S64\nE:ID_SERIAL_SHORT=S64\nE:SCSI_IDENT_SERIAL=ignored-in-1.5\n"
        "E:ID_REVISION=3B4QFXO7\nE:ID_FS_TYPE=LVM2_member\nE:ID_FS_USAGE=raid\nE:ID_FS_UUID=abc\n"
        "E:ID_FS_VERSION=LVM2 001\nE:DM_NAME=vg-root\nE:DM_UUID=LVM-1\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\n"
        "E:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=0\nE:ID_ATA_ROTATION_RATE_RPM=0\n"
    )
    return str(tmp_path)


def test_info_udev_labels_use_id_serial_short(tmp_path: Path) -> None:
    fams = collect(LINE_20, udev_dir=write_udev(tmp_path))
    assert fams["node_disk_info"].samples == [
        (
            (
                "nvme0n1",
                "259",
                "0",
                "Samsung SSD 980",
                "pci-0000:01:00.0-nvme-1",
                "3B4QFXO7",
                "S64",
                "eui.0025388b91b0ab12",
            ),
            1,
        )
    ]


def test_udev_filesystem_and_device_mapper_info(tmp_path: Path) -> None:
    fams = collect(LINE_20, udev_dir=write_udev(tmp_path))
    assert fams["node_disk_filesystem_info"].samples == [
        (("nvme0n1", "LVM2_member", "raid", "abc", "LVM2 001"), 1)
    ]
    assert fams["node_disk_device_mapper_info"].samples == [
        (("nvme0n1", "", "root", "vg-root", "LVM-1", "vg"), 1)
    ]


def test_udev_ata_metrics(tmp_path: Path) -> None:
    fams = collect(LINE_20, udev_dir=write_udev(tmp_path))
    assert value(fams, "node_disk_ata_write_cache") == 1
    assert value(fams, "node_disk_ata_write_cache_enabled") == 0
    assert value(fams, "node_disk_ata_rotation_rate_rpm") == 0


def test_missing_udev_file_leaves_labels_empty(tmp_path: Path) -> None:
    fams = collect(" 8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n", udev_dir=str(tmp_path))
    assert fams["node_disk_info"].samples == [(("sda", "8", "0", "", "", "", "", ""), 1)]
    assert "node_disk_filesystem_info" not in fams


def test_from_settings_reads_fixture_and_flags() -> None:
    settings = Settings(
        paths=Paths(procfs=str(FIXTURES / "proc"), rootfs=str(FIXTURES / "root")),
        flags={"diskstats.device-exclude": "^(loop|nvme|sd)"},
    )
    fams = {f.name: f for f in DiskstatsCollector.from_settings(settings).collect()}
    assert devices(fams) == ["dm-0", "sr0", "zram0"]
    assert value(fams, "node_disk_io_now", "dm-0") == 2


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect(DISKSTATS))
    assert names == sorted(names)


def test_real_machine() -> None:
    fams = {f.name: f for f in DiskstatsCollector.from_settings(Settings()).collect()}
    assert fams["node_disk_info"].samples, "at least one block device"
    for name in (
        "node_disk_reads_completed_total",
        "node_disk_read_bytes_total",
        "node_disk_io_time_seconds_total",
    ):
        assert all(v >= 0 for _, v in fams[name].samples)
    assert not any(d.startswith("loop") for d in devices(fams))
