"""Grafana dashboards for the YouTube2Sheets stack, built with grafana-foundation-sdk 0.0.21.

One module per dashboard, each with ``build() -> Board``; ``python -m dashboards`` writes
`dashboards/json/<name>.json` (sorted keys, 2-space indent, trailing newline) and ``--check`` fails
when a committed file is stale. Grafana loads them through `dashboards/provisioning/`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ._build import DATASOURCE_UID, Board, dumps

HERE = Path(__file__).resolve().parent
JSON_DIR = HERE / "json"
# name -> module; the JSON file is json/<name>.json and the uid is alerting.DASHBOARDS[name].
NAMES = ("host", "service", "internals", "slos", "loadtest", "exporter", "capacity")


def board(name: str) -> Board:
    """The `Board` of one dashboard module."""
    module = importlib.import_module(f"dashboards.{name}")
    built: Board = module.build()
    return built


def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard's JSON model, by name."""
    return {name: board(name).json() for name in NAMES}


def generated_files() -> dict[str, str]:
    """Path relative to `dashboards/` -> content, for every file ``python -m dashboards`` writes."""
    return {f"json/{name}.json": dumps(data) for name, data in dashboards().items()}


__all__ = ["DATASOURCE_UID", "JSON_DIR", "NAMES", "Board", "board", "dashboards", "dumps", "generated_files"]
