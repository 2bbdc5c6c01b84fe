"""The whole /metrics text for a fixture host, against a committed golden file (node_exporter's e2e test).

The collectors read tests/exporter/fixtures/host through ``--path.procfs``/``--path.sysfs``-style
paths; only what cannot come from files is injected (the clock, the time zone, uname, statvfs).
Collector durations vary per run and are written as 0. Regenerate after an intended change with

    UPDATE_GOLDEN=1 scripts/test -k golden

and read the diff before committing it.
"""

from __future__ import annotations

import os
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from exporter._families import Family, render_openmetrics, render_text
from exporter.collectors import COLLECTORS, Settings
from exporter.collectors.filesystem import FilesystemCollector
from exporter.collectors.time import TimeCollector, read_clocksources
from exporter.collectors.uname import UnameCollector
from exporter.paths import Paths
from exporter.scrape import Scraper
from tests.conftest import binary

FIXTURES = Path(__file__).parent / "fixtures"
HOST = FIXTURES / "host"
GOLDEN = FIXTURES / "e2e-output.txt"
# node_exporter's checkmetrics.sh ignores these lint findings: the names are the kernel's own fields.
LINT_EXEMPT = ("node_entropy_", "node_memory_", "node_netstat_", "node_wifi_station_")


def fake_statvfs(path: str) -> SimpleNamespace:
    """Stable, different numbers per mount point; the NFS mount fails like a dead server does."""
    if path == "/srv/nfs":
        raise OSError(5, "Input/output error", path)
    seed = zlib.crc32(path.encode())
    blocks = 1_000_000 + seed % 9_000_000
    return SimpleNamespace(
        f_bsize=4096,
        f_blocks=blocks,
        f_bfree=blocks // 2,
        f_bavail=blocks // 3,
        f_files=65536 + seed % 1000,
        f_ffree=32768 + seed % 500,
    )


def golden_families() -> list[Family]:
    paths = Paths(procfs=str(HOST / "proc"), sysfs=str(HOST / "sys"), rootfs="/")
    settings = Settings(paths=paths)
    collectors = {name: spec.factory(settings) for name, spec in COLLECTORS.items() if spec.default_enabled}
    collectors["filesystem"] = FilesystemCollector.from_settings(settings, statvfs=fake_statvfs)
    collectors["time"] = TimeCollector(
        clock=lambda: 1_700_000_123.25,
        zone=lambda: ("CET", 3600),
        clocksources=lambda: read_clocksources(paths.sys("devices", "system", "clocksource")),
    )
    collectors["uname"] = UnameCollector(
        uname=lambda: os.uname_result(("Linux", "y2s-host", "6.1.0-13-amd64", "#1 SMP Debian", "x86_64")),
        domainname=lambda: "(none)",
    )
    scraper = Scraper(collectors, timeout=5)
    try:
        families = scraper.scrape()
    finally:
        scraper.close()
    for fam in families:
        if fam.name == "node_scrape_collector_duration_seconds":
            fam.samples = [(labels, 0) for labels, _ in fam.samples]
    return families


def test_metrics_text_matches_the_golden_file() -> None:
    text = render_text(golden_families())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "run UPDATE_GOLDEN=1 scripts/test -k golden and review the diff"


def test_golden_file_reports_every_default_collector_as_successful() -> None:
    lines = GOLDEN.read_text().splitlines()
    for name, spec in COLLECTORS.items():
        if spec.default_enabled:
            assert f'node_scrape_collector_success{{collector="{name}"}} 1' in lines


def test_golden_file_passes_promtool_check_metrics() -> None:
    result = subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=GOLDEN.read_text(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line and not line.startswith(LINT_EXEMPT)
    ]
    assert problems == []


@pytest.mark.parametrize("render", [render_text, render_openmetrics])
def test_rendering_is_deterministic(render: Callable[[list[Family]], str]) -> None:
    assert render(golden_families()) == render(golden_families())
