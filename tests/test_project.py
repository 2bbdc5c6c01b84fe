"""The project's entry points stay true: the README's commands, CI, the generated collector table."""

from __future__ import annotations

import os
import re
import types
from pathlib import Path

import exporter
import exporter.collectors
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


def test_public_surfaces_are_sorted_and_exact() -> None:
    assert exporter.__all__ == ["__version__"]
    names = exporter.collectors.__all__
    assert names == sorted(names)
    public = {
        n
        for n, v in vars(exporter.collectors).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"
    }
    assert public == set(names)
