"""Every generated file under `alerting/`, as text, and the README's alert table."""

from __future__ import annotations

from ._capacity import groups as capacity_groups
from ._config import SLOS_FILE, THRESHOLDS_FILE, AlertingConfigError, load_slos, load_thresholds
from ._exporter import groups as exporter_groups
from ._exporter import meta_groups
from ._host import groups as host_groups
from ._model import Alert, Group, render, runbook_anchor
from ._service import groups as service_groups
from ._service import internal_groups
from ._slo import groups as slo_groups
from ._targets import compose_files, native_files

_THRESHOLDS = "alerting/thresholds.yml and alerting/_*.py"
# thresholds.yml entries read by others, not by rules: the load-test gates, the capacity planner's targets
NOT_RULES = (
    "loadtest.",
    *(f"capacity.{r}_utilisation" for r in ("cpu", "memory", "disk", "network")),
    "capacity.efficiency_drop",
)


def rule_groups() -> dict[str, list[Group]]:
    """Rule file name (under `rules/`) -> its groups, from the committed thresholds and SLOs."""
    thresholds = load_thresholds(THRESHOLDS_FILE)
    files = {
        "host.rules.yml": host_groups(thresholds),
        "exporter.rules.yml": exporter_groups(thresholds),
        "service.rules.yml": service_groups(thresholds),
        "internals.rules.yml": internal_groups(thresholds),
        "slo.rules.yml": slo_groups(load_slos(SLOS_FILE)),
        "meta.rules.yml": meta_groups(),
        "capacity.rules.yml": capacity_groups(thresholds),
    }
    unused = [name for name in thresholds.unused() if not name.startswith(NOT_RULES)]
    if unused:
        raise AlertingConfigError(f"{THRESHOLDS_FILE}: {unused[0]}: no rule uses this threshold")
    return files


def generated_files() -> dict[str, str]:
    """Path relative to `alerting/` -> content, for every file ``python -m alerting`` writes."""
    out: dict[str, str] = {}
    for name, groups in rule_groups().items():
        source = "alerting/slos.yml" if name == "slo.rules.yml" else _THRESHOLDS
        out[f"rules/{name}"] = render(groups, source)
    out.update(native_files())
    out.update(compose_files())
    return out


def alert_table() -> str:
    """The README's table: one row per alert name, with its severities and runbook."""
    rows: dict[str, tuple[set[str], str]] = {}
    for groups in rule_groups().values():
        for group in groups:
            for rule in group.rules:
                if isinstance(rule, Alert):
                    severities, _ = rows.setdefault(rule.name, (set(), rule.summary))
                    severities.add(rule.severity)
    order = {"critical": 0, "warning": 1, "info": 2}
    lines = ["| alert | what it means | severity | runbook |", "|---|---|---|---|"]
    for name, (severities, summary) in rows.items():
        sev = ", ".join(sorted(severities, key=order.__getitem__))
        lines.append(
            f"| `{name}` | {summary} | {sev} | [runbook](alerting/runbooks.md#{runbook_anchor(name)}) |"
        )
    return "\n".join(lines) + "\n"
