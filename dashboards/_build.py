"""The pieces every dashboard is made of, so each one gets the same variables, units and links.

A dashboard module builds a `Board` with rows of panels made by `timeseries` and `stat`; each panel
gets a unit, a description, the ``$datasource`` variable on the panel and on every query, and, where
it watches an alert, a link to that alert's runbook. Threshold colours come from
`alerting/thresholds.yml` and `alerting/slos.yml` through the `alerting` package, so a dashboard's
red line is the alert's threshold.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DashboardRangeMapOptions,
    DataSourceRef,
    GridPos,
    RangeMap,
    Threshold,
    ThresholdsMode,
    ValueMappingResult,
    VariableHide,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

from alerting import DASHBOARDS, runbook_anchor
from alerting._model import GRAFANA_BASE, RUNBOOK_BASE

# The provisioned Prometheus data source's fixed uid (provisioning/datasources/prometheus.yml); the
# `datasource` variable defaults to it, and every panel and query refers to the variable.
DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["youtube2sheets"]

GREEN, YELLOW, RED = "green", "yellow", "red"


def runbook_link(alert: str) -> gd.DashboardLink:
    """A panel link to an alert's runbook."""
    return (
        gd.DashboardLink(f"Runbook: {alert}")
        .url(f"{RUNBOOK_BASE}#{runbook_anchor(alert)}")
        .target_blank(True)
    )


def query(expr: str, legend: str = "__auto", *, instant: bool = False) -> prometheus.Dataquery:
    """A Prometheus query (``refId`` and data source are set by the panel)."""
    q = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    return q.instant() if instant else q.range()


def _thresholds(steps: Sequence[tuple[float, str]], base: str) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color=base), *(Threshold(value=v, color=c) for v, c in steps)])
    )


def _targets(panel: Any, queries: Sequence[prometheus.Dataquery]) -> None:
    for index, q in enumerate(queries):
        panel.with_target(q.ref_id(chr(ord("A") + index)))


def timeseries_panel(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    thresholds: Sequence[tuple[float, str]] = (),
    base: str = GREEN,
    minimum: float | None = None,
    maximum: float | None = None,
    stacked: bool = False,
    runbooks: Sequence[str] = (),
) -> timeseries.Panel:
    """A time series panel; ``thresholds`` (value, colour) are drawn as lines over ``base``.

    Args:
        title: the panel's title.
        description: what the panel shows and how to read it (Grafana shows it on hover).
        unit: a Grafana unit id (``percentunit``, ``s``, ``bytes``, ``reqps``, ``short``...).
        queries: the panel's queries, in legend order.
        thresholds: the alert thresholds the panel should show, with their colours.
        runbooks: alert names whose runbooks the panel links to.
    """
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            gc.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
        )
        .tooltip(
            gc.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING)
        )
    )
    if thresholds:
        panel.thresholds(_thresholds(thresholds, base)).thresholds_style(
            gc.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE)
        )
    if minimum is not None:
        panel.min(minimum)
    if maximum is not None:
        panel.max(maximum)
    if stacked:
        panel.stacking(gc.StackingConfig().mode(common.StackingMode.NORMAL))
    if runbooks:
        panel.links([runbook_link(name) for name in runbooks])
    _targets(panel, queries)
    return panel


def stat_panel(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    *,
    thresholds: Sequence[tuple[float, str]] = (),
    base: str = GREEN,
    runbooks: Sequence[str] = (),
    ranges: Sequence[tuple[float | None, float | None, str]] = (),
) -> stat.Panel:
    """A single-value panel coloured by ``thresholds`` (value, colour) over ``base``; ``ranges``
    (from, to, text) show a text for values in a range (None: unbounded), such as "never" for +Inf."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(gc.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(_thresholds(thresholds, base))
    )
    if ranges:
        panel.mappings(
            [
                RangeMap(DashboardRangeMapOptions(low, high, ValueMappingResult(text=text)))
                for low, high, text in ranges
            ]
        )
    if runbooks:
        panel.links([runbook_link(name) for name in runbooks])
    _targets(panel, queries)
    return panel


@dataclass(frozen=True)
class Variable:
    """A query variable: ``label_values(<metric>, <label>)``, optionally multi-valued with All = ``.*``."""

    name: str
    query: str
    default: str | None = None  # the value the dashboard opens with, if not the first one
    include_all: bool = False

    def builder(self) -> gd.QueryVariable:
        variable = (
            gd.QueryVariable(self.name)
            .label(self.name)
            .datasource(DATASOURCE)
            .query(self.query)
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
        )
        if self.include_all:
            variable.include_all(True).all_value(".*").multi(True)
        if self.default is not None:
            variable.current(VariableOption(text=self.default, value=self.default, selected=True))
        return variable


@dataclass
class Board:
    """A dashboard under construction: rows of panels, laid out 24 columns wide.

    Example:
        >>> b = Board("y2s-exporter", "Exporter health", "The exporter's own health.", [])
        >>> _ = b.row("Collectors").add(stat_panel("Up", "Is it up.", "short", [query("up")]))
        >>> b.json()["uid"]
        'y2s-exporter'
    """

    uid: str
    title: str
    description: str
    variables: Sequence[Variable]
    links: Sequence[tuple[str, str]] = ()  # (title, url) of extra dashboard links
    _panels: list[tuple[str | None, Any, int, int]] = field(default_factory=list)
    _row: str | None = None

    def row(self, title: str) -> Board:
        """Start a row: the panels added next go under it."""
        self._row = title
        self._panels.append((title, None, 24, 1))
        return self

    def add(self, panel: Any, width: int = 12, height: int = 8) -> Board:
        """Add a panel to the current row."""
        self._panels.append((None, panel, width, height))
        return self

    def json(self) -> dict[str, Any]:
        """The dashboard as Grafana's JSON model (a plain dict)."""
        if self.uid not in DASHBOARDS.values():
            raise ValueError(f"{self.uid}: add the uid to alerting's DASHBOARDS (the alerts link to it)")
        board = (
            gd.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags(TAGS)
            .editable()
            .refresh("30s")
            .time("now-1h", "now")
            .timezone("browser")
            .tooltip(DashboardCursorSync.CROSSHAIR)
            .with_variable(
                gd.DatasourceVariable("datasource")
                .label("Data source")
                .type("prometheus")
                .current(VariableOption(text="Prometheus", value=DATASOURCE_UID, selected=True))
            )
        )
        for variable in self.variables:
            board.with_variable(variable.builder())
        board.link(
            gd.DashboardLink("YouTube2Sheets")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(TAGS)
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        board.link(
            gd.DashboardLink("Runbooks").type(DashboardLinkType.LINK).url(RUNBOOK_BASE).target_blank(True)
        )
        for link_title, url in self.links:
            board.link(gd.DashboardLink(link_title).type(DashboardLinkType.LINK).url(url))
        next_id = 1
        for row_title, panel, width, height in self._panels:
            if panel is None:
                board.with_row(gd.Row(row_title or "").id(next_id))
            else:
                board.with_panel(panel.id(next_id).grid_pos(GridPos(h=height, w=width, x=0, y=0)))
            next_id += 1
        data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
        return data


def dumps(data: dict[str, Any]) -> str:
    """Deterministic JSON: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def grafana_url(uid: str) -> str:
    """Where a dashboard opens in the stack's Grafana."""
    return f"{GRAFANA_BASE}/d/{uid}/{uid}"


HIDE_VARIABLE = VariableHide.HIDE_VARIABLE  # for modules that need a hidden constant-like variable
