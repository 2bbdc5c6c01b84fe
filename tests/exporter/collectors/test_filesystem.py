"""The filesystem collector: mount table parsing, exclusions, rootfs stripping, statvfs failures."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from exporter._families import Family
from exporter.collectors._registry import Settings
from exporter.collectors.filesystem import (
    FS_TYPES_EXCLUDE,
    MOUNT_POINTS_EXCLUDE,
    FilesystemCollector,
    Mount,
    parse_mounts,
    unescape_octal,
)
from exporter.paths import Paths

FIXTURES = Path(__file__).parent.parent / "fixtures" / "host"
MOUNTS = (FIXTURES / "proc" / "1" / "mounts").read_text()


def fake_stat(bsize: int = 4096, blocks: int = 1000, bfree: int = 600, bavail: int = 500) -> SimpleNamespace:
    return SimpleNamespace(
        f_bsize=bsize, f_blocks=blocks, f_bfree=bfree, f_bavail=bavail, f_files=100, f_ffree=40
    )


def fake_statvfs(fail: set[str] | None = None) -> tuple[Callable[[str], SimpleNamespace], list[str]]:
    calls: list[str] = []

    def statvfs(path: str) -> SimpleNamespace:
        calls.append(path)
        if fail and path in fail:
            raise OSError(5, "Input/output error", path)
        return fake_stat()

    return statvfs, calls


def collect(mounts: str, **kwargs: object) -> dict[str, Family]:
    kwargs.setdefault("statvfs", fake_statvfs()[0])
    collector = FilesystemCollector(mounts=lambda: mounts, **kwargs)  # type: ignore[arg-type]
    return {fam.name: fam for fam in collector.collect()}


def samples(fam: Family) -> dict[tuple[str, ...], float]:
    return dict(fam.samples)


def test_parse_mounts_reads_device_mountpoint_fstype_options() -> None:
    assert parse_mounts("/dev/sda1 /boot ext4 rw,relatime 0 0\n") == [
        Mount("/dev/sda1", "/boot", "ext4", "rw,relatime")
    ]


def test_parse_mounts_decodes_octal_escapes_in_mountpoint() -> None:
    [mount] = parse_mounts("/dev/sdb1 /mnt/a\\040b\\011c\\134d ext4 rw 0 0\n")
    assert mount.mountpoint == "/mnt/a b\tc\\d"


def test_unescape_octal_leaves_plain_text_alone() -> None:
    assert unescape_octal("/mnt/plain") == "/mnt/plain"


def test_parse_mounts_skips_blank_lines() -> None:
    assert len(parse_mounts("\nproc /proc proc rw 0 0\n\n")) == 1


def test_parse_mounts_rejects_short_lines() -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_mounts("/dev/sda1 /boot\n")


def test_fixture_mounts_after_default_exclusions() -> None:
    fams = collect(MOUNTS)
    assert [labels[2] for labels in samples(fams["node_filesystem_device_error"])] == [
        "/boot/efi",
        "/",
        "/var/snap/lxd/common/shmounts",
        "/mnt/backup disk",
        "/srv/nfs",
        "/run",
        "/run/user/1000",
    ]


def test_labels_are_device_fstype_mountpoint() -> None:
    fams = collect("/dev/sda1 /data xfs rw 0 0\n")
    assert fams["node_filesystem_size_bytes"].labelnames == ("device", "fstype", "mountpoint")
    assert samples(fams["node_filesystem_size_bytes"]) == {("/dev/sda1", "xfs", "/data"): 4096 * 1000}


def test_sizes_are_blocks_times_bsize_and_inodes_are_counts() -> None:
    fams = collect("/dev/sda1 /data xfs rw 0 0\n")
    key = ("/dev/sda1", "xfs", "/data")
    assert samples(fams["node_filesystem_free_bytes"])[key] == 600 * 4096
    assert samples(fams["node_filesystem_avail_bytes"])[key] == 500 * 4096
    assert samples(fams["node_filesystem_files"])[key] == 100
    assert samples(fams["node_filesystem_files_free"])[key] == 40
    assert samples(fams["node_filesystem_device_error"])[key] == 0


def test_readonly_comes_from_ro_option() -> None:
    fams = collect("/dev/a /ro xfs ro,relatime 0 0\n/dev/b /rw xfs rw,errors=remount-ro 0 0\n")
    assert samples(fams["node_filesystem_readonly"]) == {
        ("/dev/a", "xfs", "/ro"): 1,
        ("/dev/b", "xfs", "/rw"): 0,
    }


def test_statvfs_failure_sets_device_error_and_omits_everything_else() -> None:
    statvfs, _ = fake_statvfs(fail={"/srv/nfs"})
    fams = collect("srv:/x /srv/nfs nfs4 ro 0 0\n/dev/a /data xfs rw 0 0\n", statvfs=statvfs)
    nfs = ("srv:/x", "nfs4", "/srv/nfs")
    assert samples(fams["node_filesystem_device_error"])[nfs] == 1
    for name in ("size_bytes", "free_bytes", "avail_bytes", "files", "files_free", "readonly"):
        assert nfs not in samples(fams[f"node_filesystem_{name}"])
        assert ("/dev/a", "xfs", "/data") in samples(fams[f"node_filesystem_{name}"])


def test_mount_points_exclude_flag() -> None:
    fams = collect("/dev/a /data xfs rw 0 0\n/dev/b /scratch xfs rw 0 0\n", mount_points_exclude="^/scratch")
    assert [k[2] for k in samples(fams["node_filesystem_size_bytes"])] == ["/data"]


def test_fs_types_exclude_flag() -> None:
    fams = collect("/dev/a /data xfs rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n", fs_types_exclude="^tmpfs$")
    assert [k[2] for k in samples(fams["node_filesystem_size_bytes"])] == ["/data"]


def test_empty_exclusions_keep_everything() -> None:
    fams = collect(MOUNTS, mount_points_exclude="", fs_types_exclude="")
    assert len(samples(fams["node_filesystem_device_error"])) == 17  # 18 lines, one exact duplicate


def test_default_mount_point_exclusion_is_upstream_1_5() -> None:
    fams = collect(
        "tmpfs /run tmpfs rw 0 0\nramfs /run/credentials/x ramfs ro 0 0\nudev /dev devtmpfs rw 0 0\n"
    )
    assert [k[2] for k in samples(fams["node_filesystem_size_bytes"])] == ["/run"]
    assert MOUNT_POINTS_EXCLUDE.startswith("^/(dev|proc|run/credentials/.+|sys|")
    assert "squashfs" in FS_TYPES_EXCLUDE


def test_same_labels_reported_once_first_wins() -> None:
    fams = collect("tmpfs /t tmpfs rw 0 0\ntmpfs /t tmpfs ro 0 0\n")
    assert samples(fams["node_filesystem_readonly"]) == {("tmpfs", "tmpfs", "/t"): 0}


def test_same_mountpoint_different_device_reported_twice() -> None:
    fams = collect("tmpfs /t tmpfs rw 0 0\nother /t tmpfs rw 0 0\n")
    assert len(samples(fams["node_filesystem_size_bytes"])) == 2


def test_duplicates_are_statted_once() -> None:
    statvfs, calls = fake_statvfs()
    collect("tmpfs /t tmpfs rw 0 0\ntmpfs /t tmpfs rw 0 0\n", statvfs=statvfs)
    assert calls == ["/t"]


def test_rootfs_prefix_stripped_from_label_and_added_for_statvfs() -> None:
    statvfs, calls = fake_statvfs()
    fams = collect(
        "/dev/a /host/root xfs rw 0 0\n/dev/b /host/root/data xfs rw 0 0\n",
        statvfs=statvfs,
        paths=Paths(rootfs="/host/root"),
    )
    assert [k[2] for k in samples(fams["node_filesystem_size_bytes"])] == ["/", "/data"]
    assert calls == ["/host/root/", "/host/root/data"]


def test_exclusion_matches_the_stripped_mountpoint() -> None:
    fams = collect(
        "proc /host/root/proc proc rw 0 0\nudev /host/root/dev devtmpfs rw 0 0\n",
        paths=Paths(rootfs="/host/root"),
    )
    assert samples(fams["node_filesystem_size_bytes"]) == {}


def test_from_settings_reads_fixture_mounts_and_takes_a_fake_statvfs() -> None:
    statvfs, _ = fake_statvfs(fail={"/srv/nfs"})
    settings = Settings(paths=Paths(procfs=str(FIXTURES / "proc")))
    collector = FilesystemCollector.from_settings(settings, statvfs=statvfs)
    fams = {fam.name: fam for fam in collector.collect()}
    assert (
        samples(fams["node_filesystem_device_error"])[("nfs.example:/export/data", "nfs4", "/srv/nfs")] == 1
    )


def test_from_settings_reads_flags() -> None:
    settings = Settings(
        paths=Paths(procfs=str(FIXTURES / "proc")),
        flags={
            "filesystem.mount-points-exclude": "^/(boot|srv|var|mnt|run)",
            "filesystem.fs-types-exclude": "",
        },
    )
    collector = FilesystemCollector.from_settings(settings, statvfs=fake_statvfs()[0])
    fams = {fam.name: fam for fam in collector.collect()}
    assert sorted(k[2] for k in samples(fams["node_filesystem_device_error"])) == [
        "/",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/proc",
        "/snap/core20/2105",
        "/sys",
        "/sys/fs/cgroup",
        "/sys/kernel/security",
    ]


def test_families_are_yielded_in_name_order() -> None:
    names = list(collect("/dev/a /data xfs rw 0 0\n"))
    assert names == sorted(names)


def test_real_machine() -> None:
    collector = FilesystemCollector.from_settings(Settings())
    fams = {fam.name: fam for fam in collector.collect()}
    root = [k for k in samples(fams["node_filesystem_device_error"]) if k[2] == "/"]
    assert root, "the root filesystem is reported"
    size = samples(fams["node_filesystem_size_bytes"])[root[0]]
    st = os.statvfs("/")
    assert size == st.f_blocks * st.f_bsize
    assert 0 <= samples(fams["node_filesystem_avail_bytes"])[root[0]] <= size
    assert samples(fams["node_filesystem_device_error"])[root[0]] == 0
