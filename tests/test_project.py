"""The project's entry points stay true: the README's commands, CI, the generated collector table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import alerting
import exporter
import exporter.collectors
import exporter.instrumentation
from exporter.collectors import markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["./scripts/up", "./scripts/test"]
    assert README.index("```sh") < README.index("\n## ")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test" in ci.split()


def test_entry_points_exist_and_are_executable() -> None:
    for name in ("up", "test", "check", "generate", "bench"):
        path = ROOT / "scripts" / name
        assert os.access(path, os.X_OK), path
        assert f"./scripts/{name}" in (ROOT / "Makefile").read_text()


def test_readme_collector_table_is_generated_from_the_registry() -> None:
    block = re.search(r"<!-- collectors:start -->\n(.*?)<!-- collectors:end -->", README, re.S)
    assert block is not None
    assert block.group(1) == markdown_table(), "stale: run ./scripts/generate"


def test_readme_alert_table_is_generated_from_the_rules() -> None:
    block = re.search(r"<!-- alerts:start -->\n(.*?)<!-- alerts:end -->", README, re.S)
    assert block is not None
    assert block.group(1) == alerting.alert_table(), "stale: run ./scripts/generate"


def _public(module: types.ModuleType) -> set[str]:
    return {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }


@pytest.mark.parametrize("module", [exporter.collectors, exporter.instrumentation, alerting])
def test_public_surfaces_are_exact(module: types.ModuleType) -> None:
    # ruff's RUF022 keeps each __all__ sorted (constants, classes, functions); this keeps it exact.
    names = module.__all__
    assert len(names) == len(set(names))
    assert _public(module) == set(names)


def test_the_top_level_re_exports_the_instrumentation_library() -> None:
    assert set(exporter.__all__) == {*exporter.instrumentation.__all__, "__version__"}
    for name in exporter.instrumentation.__all__:
        assert getattr(exporter, name) is getattr(exporter.instrumentation, name), name


def test_the_host_exporter_does_not_load_the_instrumentation_library() -> None:
    code = "import sys, exporter.cli; print('exporter.instrumentation' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
