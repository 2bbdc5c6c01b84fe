"""A real Prometheus filled with a known history: backfilled with promtool, as an operator would.

1. The recorded inputs (``job:http_requests:rate5m``, ``instance:node_cpu_utilisation:rate5m``, ...)
   are written as OpenMetrics and turned into blocks by ``promtool tsdb create-blocks-from openmetrics``.
2. Prometheus starts on them, with the committed config and rules.
3. The one capacity rule the planner reads over history, ``job:http_requests_per_instance_within_slo:rate5m``,
   is backfilled from those inputs with ``promtool tsdb create-blocks-from rules`` (taken from the
   committed `alerting/rules/capacity.rules.yml`), and Prometheus restarts on the new blocks.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.conftest import Process, binary, start_prometheus

REPO = Path(__file__).resolve().parents[2]

DAY = 86400
STEP = 60  # one sample a minute
WITHIN_SLO = "job:http_requests_per_instance_within_slo:rate5m"


@dataclass(frozen=True)
class Family:
    """A gauge series: ``value(d)`` at ``d`` days since the start of the history, None for no sample."""

    name: str
    labels: str
    value: Callable[[float], float | None]


def write_openmetrics(path: Path, families: list[Family], start: int, end: int) -> None:
    """Every family, one sample a `STEP` from ``start`` to ``end``, grouped by name as OpenMetrics wants."""
    with path.open("w") as out:
        for name in dict.fromkeys(f.name for f in families):
            out.write(f"# TYPE {name} gauge\n")
            for family in (f for f in families if f.name == name):
                for t in range(start, end + 1, STEP):
                    value = family.value((t - start) / DAY)
                    if value is not None:
                        out.write(f"{name}{family.labels} {value!r} {t}\n")
        out.write("# EOF\n")


def _promtool(*args: str) -> None:
    command = [binary("promtool"), "tsdb", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _within_slo_rules(path: Path) -> None:
    """The committed within-the-SLOs rule alone (promtool cannot backfill rules that read each other)."""
    committed = yaml.safe_load((REPO / "alerting" / "rules" / "capacity.rules.yml").read_text())
    rules = [r for g in committed["groups"] for r in g["rules"] if r.get("record") == WITHIN_SLO]
    assert len(rules) == 1
    path.write_text(yaml.safe_dump({"groups": [{"name": "backfill", "rules": rules}]}))


@dataclass
class History:
    """A running Prometheus on the history; ``end`` is its last sample."""

    url: str
    start: int
    end: int
    process: Process


def prometheus_with(workdir: Path, families: list[Family], start: int, end: int) -> Iterator[History]:
    """Backfill ``families`` and the within-the-SLOs rule over [start, end]; yield the running Prometheus."""
    source = workdir / "history.om"
    write_openmetrics(source, families, start, end)
    tsdb = workdir / "tsdb"
    _promtool("create-blocks-from", "openmetrics", str(source), str(tsdb))
    source.unlink()
    proc, url = start_prometheus(workdir, {})
    rules, blocks = workdir / "within-slo.rules.yml", workdir / "rule-blocks"
    _within_slo_rules(rules)
    try:
        _promtool(
            "create-blocks-from",
            "rules",
            f"--start={start}",
            f"--end={end}",
            f"--url={url}",
            f"--eval-interval={STEP}s",
            f"--output-dir={blocks}",
            str(rules),
        )
    finally:
        proc.stop()
    # What the first Prometheus recorded itself (its rules saw no backfilled rule yet) goes: the head.
    for head in ("wal", "chunks_head"):
        shutil.rmtree(tsdb / head, ignore_errors=True)
    for block in blocks.iterdir():
        shutil.move(str(block), tsdb / block.name)
    proc, url = start_prometheus(workdir, {})
    try:
        yield History(url, start, end, proc)
    finally:
        proc.stop()
