"""SLOs: one row per objective of `alerting/slos.yml`, generated from the file.

Each row shows the SLI (share of good events) over short and long windows against the objective,
the error budget left over the budget period, and one burn-rate panel per row of the burn-rate table:
its long and short windows against the row's factor, which is what the burn-rate alert compares.
Everything reads the SLO recording rules (`alerting/rules/slo.rules.yml`), which keep ``job`` only;
the per-instance panel computes the SLI from the SLO's own selectors with ``instance=~"$instance"``.
"""

from __future__ import annotations

from alerting import DASHBOARDS, SLO, SLOFile, load_slos
from alerting._config import duration_seconds
from alerting._slo import alert_name, windows

from ._build import GREEN, RED, Board, Variable, query, stat_panel, timeseries_panel

# The SLI windows the dashboard shows, when the rules record them (the budget period is always added).
SLI_WINDOWS = ("5m", "1h", "1d")


def sli_windows(slos: SLOFile) -> list[str]:
    """The recorded windows among `SLI_WINDOWS`, and the budget period, shortest first."""
    recorded = windows(slos)
    shown = {w for w in SLI_WINDOWS if w in recorded} | {slos.period}
    return sorted(shown, key=duration_seconds)


def _selector(slo: SLO) -> str:
    return f'{{job="$job",slo="{slo.name}"}}'


def sli(slo: SLO, window: str) -> str:
    """The SLI (good / all events) over ``window``, from the recorded error ratio."""
    return f"1 - job:slo_sli_error:ratio_rate{window}{_selector(slo)}"


def with_instance(selector: str) -> str:
    """A counter selector of `slos.yml` narrowed to ``instance=~"$instance"``."""
    if selector.endswith("}"):
        return selector[:-1] + ',instance=~"$instance"}'
    return selector + '{instance=~"$instance"}'


def instance_sli(slo: SLO) -> str:
    """The SLI per instance over the dashboard's time range, from the SLO's own selectors."""
    total = f"sum by (instance) (rate({with_instance(slo.total)}[$__range]))"
    if slo.good is not None:
        return f"sum by (instance) (rate({with_instance(slo.good)}[$__range])) / {total}"
    errors = slo.errors or ""  # load_slos checks that exactly one of errors and good is given
    bad = f"(sum by (instance) (rate({with_instance(errors)}[$__range])) or 0 * {total})"
    return f"1 - {bad} / {total}"


def _percent(objective: float) -> str:
    return f"{objective * 100:g}%"


def _overview(board: Board, slos: SLOFile) -> None:
    board.row("Overview")
    names = "|".join(alert_name(slo) for slo in slos.slos)
    board.add(
        stat_panel(
            "Error budget remaining",
            f"Share of each SLO's error budget left over the last {slos.period} "
            f"(job:slo_error_budget_remaining:ratio: 1 - error ratio / (1 - objective)). "
            f"Below 0 the objective is missed for the period.",
            "percentunit",
            [query('job:slo_error_budget_remaining:ratio{job="$job"}', "{{slo}}", instant=True)],
            thresholds=[(0, GREEN)],
            base=RED,
        ).decimals(1),
        width=12,
    )
    board.add(
        stat_panel(
            "SLO burn alerts firing",
            'Burn-rate alerts of this job firing now (ALERTS{alertstate="firing"}), of every tier; '
            "the rows below show which windows are burning.",
            "short",
            [
                query(
                    f'count(ALERTS{{alertname=~"{names}",alertstate="firing",job="$job"}}) or on() vector(0)',
                    "firing",
                    instant=True,
                )
            ],
            thresholds=[(1, RED)],
            runbooks=[alert_name(slo) for slo in slos.slos],
        ),
        width=12,
    )


def _row(board: Board, slos: SLOFile, slo: SLO) -> None:
    alert = alert_name(slo)
    name = slo.name.replace("_", " ").capitalize()
    objective = slo.objective
    shown = sli_windows(slos)
    board.row(f"{name}: {slo.description.rstrip('.')} (objective {_percent(objective)})")
    board.add(
        stat_panel(
            f"{name} SLI",
            f"Share of good events ({slo.description.rstrip('.').lower()}) over the last "
            f"{', '.join(shown)} (1 - job:slo_sli_error:ratio_rate<window>). Green at or above the "
            f"objective, {_percent(objective)}.",
            "percentunit",
            [query(sli(slo, w), w, instant=True) for w in shown],
            thresholds=[(objective, GREEN)],
            base=RED,
            runbooks=[alert],
        ).decimals(3),
        width=8,
    )
    board.add(
        stat_panel(
            f"{name} error budget remaining",
            f"Share of the error budget ({_percent(slo.error_budget)} of the events over "
            f"{slos.period}) not yet spent (job:slo_error_budget_remaining:ratio). 100% = no bad "
            f"events; 0 = the objective is exactly met; below 0 it is missed.",
            "percentunit",
            [query(f"job:slo_error_budget_remaining:ratio{_selector(slo)}", slos.period, instant=True)],
            thresholds=[(0, GREEN)],
            base=RED,
            runbooks=[alert],
        ).decimals(1),
        width=4,
    )
    board.add(
        stat_panel(
            f"{name} SLI by instance",
            f"The SLI per instance over the dashboard's time range, computed from the SLO's own "
            f'counters ({slo.total.split("{")[0]}) with instance=~"$instance": which instance '
            f"spends the budget.",
            "percentunit",
            [query(instance_sli(slo), "{{instance}}", instant=True)],
            thresholds=[(objective, GREEN)],
            base=RED,
        ).decimals(3),
        width=4,
    )
    board.add(
        timeseries_panel(
            f"{name} error budget remaining over time",
            f"job:slo_error_budget_remaining:ratio: the budget left over the trailing {slos.period}. "
            f"A steady fall means a steady burn; the red line is 0 (budget spent).",
            "percentunit",
            [query(f"job:slo_error_budget_remaining:ratio{_selector(slo)}", "remaining")],
            thresholds=[(0, RED)],
            maximum=1,
            runbooks=[alert],
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            f"{name} SLI over time",
            f"The SLI over each window ({', '.join(shown)}; 1 - job:slo_sli_error:ratio_rate<window>) "
            f"against the objective (job:slo_objective:ratio, the red line at {_percent(objective)}). "
            f"Short windows react first; the {slos.period} line is what the budget counts.",
            "percentunit",
            [
                *(query(sli(slo, w), w) for w in shown),
                query(f"job:slo_objective:ratio{_selector(slo)}", "objective"),
            ],
            thresholds=[(objective, RED)],
            maximum=1,
            runbooks=[alert],
        ),
        width=24,
    )
    width = max(24 // len(slos.burn_rates), 6)
    for row in slos.burn_rates:
        severity = "page" if row.severity == "critical" else "ticket"
        board.add(
            timeseries_panel(
                f"{name} burn rate {row.long} / {row.short} ({row.tier}: {row.factor:g}x)",
                f"How fast the budget burns over {row.long} and {row.short} "
                f"(job:slo_burn_rate:ratio_rate<window> = error ratio / {slo.error_budget:g}; 1 = the "
                f"budget lasts exactly {slos.period}). When both lines are above the red line "
                f"({row.factor:g}x) for {row.for_}, {alert} fires ({row.severity}, burn_tier "
                f"{row.tier}: {severity}).",
                "short",
                [
                    query(f"job:slo_burn_rate:ratio_rate{row.long}{_selector(slo)}", row.long),
                    query(f"job:slo_burn_rate:ratio_rate{row.short}{_selector(slo)}", row.short),
                ],
                thresholds=[(row.factor, RED)],
                minimum=0,
                runbooks=[alert],
            ),
            width=width,
        )


def build() -> Board:
    """The SLOs dashboard, one row per SLO of `alerting/slos.yml`."""
    slos = load_slos()
    board = Board(
        DASHBOARDS["slos"],
        "SLOs",
        "Service level objectives from alerting/slos.yml: each SLI against its objective, the error "
        f"budget left over {slos.period}, and the multi-window burn rates the burn-rate alerts watch.",
        [
            Variable("job", "label_values(job:slo_objective:ratio, job)", default="youtube2sheets"),
            Variable("instance", 'label_values(up{job="$job"}, instance)', include_all=True),
        ],
    )
    _overview(board, slos)
    for slo in slos.slos:
        _row(board, slos, slo)
    return board
