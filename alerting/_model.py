"""Alert and recording rules as data, and their rendering to Prometheus rule files.

Every alert follows the monitoring-mixins schema by construction: a CamelCase name, ``severity``
critical|warning|info, a static summary ending with a period, a templated description, a
``runbook_url`` to the anchor of its name in `alerting/runbooks.md`, a ``dashboard_url``, and a ``for``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

Severity = Literal["critical", "warning", "info"]

# Where the runbooks are read and the dashboards are open. Grafana answers on localhost:3000 in both
# the compose and the native stack; change these two when publishing the repository elsewhere.
RUNBOOK_BASE = "https://github.com/youtube2sheets/youtube2sheets-perf/blob/main/alerting/runbooks.md"
GRAFANA_BASE = "http://localhost:3000"

# Dashboard uids (stable: links and bookmarks use them) and the variables each alert fills in.
DASHBOARDS: dict[str, str] = {
    "host": "y2s-host",
    "service": "y2s-service",
    "internals": "y2s-internals",
    "slos": "y2s-slos",
    "loadtest": "y2s-loadtest",
    "exporter": "y2s-exporter",
    "capacity": "y2s-capacity",
}

# Template pieces for descriptions.
PERCENT = "{{ $value | humanizePercentage }}"
DURATION = "{{ $value | humanizeDuration }}"


def label(name: str) -> str:
    """The template of a label's value: ``{{ $labels.name }}``."""
    return "{{ $labels." + name + " }}"


_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]+$")
_RECORD = re.compile(r"^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$")


def runbook_anchor(alert: str) -> str:
    """The runbook's anchor for an alert: GitHub's heading slug of ``## AlertName``.

    Example:
        >>> runbook_anchor("NodeCPUHighUsage")
        'nodecpuhighusage'
    """
    return alert.lower()


def dashboard_url(dashboard: str, variables: Sequence[str]) -> str:
    """A Grafana link to a dashboard with its variables filled from the alert's labels."""
    uid = DASHBOARDS[dashboard]
    query = "&".join(f"var-{name}={{{{ $labels.{name} }}}}" for name in variables)
    return f"{GRAFANA_BASE}/d/{uid}/{uid}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Alert:
    """One alerting rule.

    Args:
        name: CamelCase; alerts that differ only by severity share it (and their runbook).
        expr: PromQL; multi-line expressions keep their layout.
        for_: how long ``expr`` must hold, a Prometheus duration (``0m`` for events).
        severity: critical pages, warning tickets, info goes nowhere.
        summary: static, ends with a period.
        description: templated with ``$labels`` and ``$value``.
        dashboard: a key of ``DASHBOARDS``; ``variables`` are the labels passed to it.
        labels: extra static labels.
    """

    name: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    description: str
    dashboard: str
    variables: Sequence[str] = ("job", "instance")
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _CAMEL.match(self.name):
            raise ValueError(f"{self.name}: alert names are CamelCase")
        if not self.summary.endswith(".") or "{{" in self.summary:
            raise ValueError(f"{self.name}: the summary is static and ends with a period")
        if "{{" not in self.description:
            raise ValueError(f"{self.name}: the description is templated")
        if self.dashboard not in DASHBOARDS:
            raise ValueError(f"{self.name}: unknown dashboard {self.dashboard!r}")

    def rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        return {
            "alert": self.name,
            "expr": _expr(self.expr),
            "for": self.for_,
            "labels": {"severity": self.severity, **self.labels},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{RUNBOOK_BASE}#{runbook_anchor(self.name)}",
                "dashboard_url": dashboard_url(self.dashboard, self.variables),
            },
        }


@dataclass(frozen=True)
class Record:
    """One recording rule: ``level:metric:operations``, keeping ``job``."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _RECORD.match(self.record):
            raise ValueError(f"{self.record}: recording rules are named level:metric:operations")

    def rule(self) -> dict[str, Any]:
        """The rule as Prometheus reads it."""
        out: dict[str, Any] = {"record": self.record, "expr": _expr(self.expr)}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class Group:
    """A rule group: evaluated together, in order."""

    name: str
    rules: Sequence[Alert | Record]
    interval: str | None = None  # overrides the global evaluation_interval


def _expr(text: str) -> str:
    text = textwrap.dedent(text).strip()
    return text + "\n" if "\n" in text else text


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line PromQL, so the rule files read like hand-written ones."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _group(group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {"name": group.name, "rules": [r.rule() for r in group.rules]}
    if group.interval:
        out["interval"] = group.interval
    return out


def render(groups: Sequence[Group], source: str) -> str:
    """A rule file: deterministic (sorted keys, 2-space indent, trailing newline)."""
    document = {"groups": [_group(g) for g in groups]}
    header = f"# Generated by `python -m alerting` from {source}: do not edit; edit those and regenerate.\n"
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=True, indent=2, width=110, allow_unicode=True)
    return header + body
