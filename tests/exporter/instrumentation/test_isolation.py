"""Services import the instrumentation without the host exporter: no psutil, server or collectors."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("psutil", "exporter.server", "exporter.cli", "exporter.collectors", "exporter.scrape")


def test_importing_the_library_pulls_in_none_of_the_host_exporter() -> None:
    code = (
        "import sys, exporter, exporter.instrumentation;"
        f"print(sorted(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
