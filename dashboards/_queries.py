"""Every panel query of a dashboard with its variables filled in, as Prometheus will run it.

The tests send these to a real Prometheus (valid PromQL, and data on a live stack) and the stack's
self-test does the same against a running stack, so "No data" is caught before anyone opens Grafana.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Grafana's built-in variables, at the values a 1-hour dashboard with a 15 s scrape interval gets.
BUILTINS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s", "$__range_s": "3600"}


@dataclass(frozen=True)
class PanelQuery:
    """One query of one panel, variables substituted."""

    dashboard: str
    panel: str
    ref_id: str
    expr: str
    instant: bool


def panels(data: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard JSON model, those inside collapsed rows included (rows themselves not)."""
    for panel in data.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def defaults(data: Mapping[str, Any]) -> dict[str, str]:
    """The value each variable opens with: its ``current`` value; All (``.*``) for multi-valued ones."""
    out: dict[str, str] = {}
    for variable in data.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable.get("includeAll"):
            out[name] = variable.get("allValue") or ".*"
        elif isinstance(variable.get("current"), dict) and variable["current"].get("value"):
            out[name] = str(variable["current"]["value"])
    return out


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """``expr`` with ``$name``, ``${name}`` and Grafana's built-ins replaced.

    Example:
        >>> substitute('rate(x{job="$job"}[$__rate_interval])', {"job": "exporter"})
        'rate(x{job="exporter"}[1m])'
    """
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    for name, value in sorted(values.items(), key=lambda kv: -len(kv[0])):
        expr = re.sub(r"\$\{" + re.escape(name) + r"(?::\w+)?\}|\$" + re.escape(name) + r"\b", value, expr)
    return expr


def panel_queries(
    name: str, data: Mapping[str, Any], values: Mapping[str, str] | None = None
) -> list[PanelQuery]:
    """Every query of every panel of dashboard ``name``, with ``values`` over the variables' defaults."""
    filled = {**defaults(data), **(values or {})}
    out = []
    for panel in panels(data):
        for target in panel.get("targets", []):
            if "expr" in target:
                out.append(
                    PanelQuery(
                        name,
                        str(panel.get("title", "")),
                        str(target.get("refId", "")),
                        substitute(target["expr"], filled),
                        bool(target.get("instant")) and not target.get("range"),
                    )
                )
    return out
