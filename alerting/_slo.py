"""SLO rules from `slos.yml`: SLI error ratios for every window, budgets, and burn-rate alerts.

Per SLO ``s`` (label ``slo``), keeping ``job``:

- ``job:slo_sli_error:ratio_rate<w>`` for each window of the burn-rate table and the budget period:
  bad events / all events over ``w``;
- ``job:slo_objective:ratio`` and ``job:slo_error_budget_remaining:ratio`` (over the period);
- ``job:slo_burn_rate:ratio_rate<w>``: the error ratio in units of the budget (1 = on budget);
- one alert per burn-rate row: both windows above ``factor x (1 - objective)``.
"""

from __future__ import annotations

from ._config import SLO, SLOFile, duration_seconds
from ._model import PERCENT, Alert, Group, Record, label


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def alert_name(slo: SLO) -> str:
    """``AvailabilitySLOBudgetBurn`` for the SLO named ``availability``."""
    return f"{_camel(slo.name)}SLOBudgetBurn"


def windows(slos: SLOFile) -> list[str]:
    """Every window a rule needs, shortest first: the burn-rate table's and the period."""
    found = {w for row in slos.burn_rates for w in (row.long, row.short)} | {slos.period}
    return sorted(found, key=duration_seconds)


def _sli(slo: SLO, window: str) -> str:
    total = f"sum by (job) (rate({slo.total}[{window}]))"
    if slo.good is not None:
        return f"1 - sum by (job) (rate({slo.good}[{window}])) / {total}"
    return f"""
    (
        sum by (job) (rate({slo.errors}[{window}]))
      or
        0 * {total}
    )
    / {total}"""


def groups(slos: SLOFile) -> list[Group]:
    """`slo.rules.yml`: one recording group and one alert group per SLO."""
    out: list[Group] = []
    for slo in slos.slos:
        labels = {"slo": slo.name}
        selector = f'{{job="{slo.job}",slo="{slo.name}"}}'
        records = [Record(f"job:slo_sli_error:ratio_rate{w}", _sli(slo, w), labels) for w in windows(slos)]
        records += [
            Record("job:slo_objective:ratio", f"vector({slo.objective:g})", {**labels, "job": slo.job}),
            Record(
                "job:slo_error_budget_remaining:ratio",
                f"1 - job:slo_sli_error:ratio_rate{slos.period}{selector} / {slo.error_budget:g}",
                labels,
            ),
            *(
                Record(
                    f"job:slo_burn_rate:ratio_rate{w}",
                    f"job:slo_sli_error:ratio_rate{w}{selector} / {slo.error_budget:g}",
                    labels,
                )
                for w in windows(slos)
            ),
        ]
        alerts = []
        for row in slos.burn_rates:
            limit = f"({row.factor:g} * {slo.error_budget:g})"
            alerts.append(
                Alert(
                    alert_name(slo),
                    f"""
                    job:slo_sli_error:ratio_rate{row.long}{selector} > {limit}
                    and
                    job:slo_sli_error:ratio_rate{row.short}{selector} > {limit}""",
                    row.for_,
                    "critical"
                    if row.severity == "critical"
                    else "warning"
                    if row.severity == "warning"
                    else "info",
                    f"The {slo.name} SLO's error budget is burning too fast.",
                    f"{label('job')} has burnt its {slo.name} error budget ({slo.objective * 100:g}%: "
                    f"{slo.description.rstrip('.').lower()}) at {row.factor:g}x or more over the last "
                    f"{row.long} and {row.short}: {PERCENT} of the events are bad.",
                    "slos",
                    variables=("job",),
                    labels={
                        "slo": slo.name,
                        "burn_tier": row.tier,
                        "long_window": row.long,
                        "short_window": row.short,
                    },
                )
            )
        out += [Group(f"slo.{slo.name}.recording", records), Group(f"slo.{slo.name}.alerts", alerts)]
    return out
