"""Alerting for the YouTube2Sheets stack: Prometheus config, rules, SLOs, Alertmanager, runbooks.

The folder is data, loaded unchanged by compose, the native runner and the tests. The rule files in
`rules/` and the target files are generated from `thresholds.yml`, `slos.yml` and the definitions
in this package by ``python -m alerting`` (``--check`` fails when a committed file is stale).
Dashboards and load-test gates import the thresholds and SLOs from here, so they stay in step.
"""

from ._capacity import RESOURCES as CAPACITY_RESOURCES
from ._config import (
    SLO,
    AlertingConfigError,
    BurnRate,
    SLOFile,
    Thresholds,
    duration_seconds,
    load_slos,
    load_thresholds,
)
from ._generate import alert_table, generated_files, rule_groups
from ._model import DASHBOARDS, Alert, Group, Record, runbook_anchor
from ._targets import JOBS, Job, stage_alertmanager, stage_prometheus

__all__ = [
    "CAPACITY_RESOURCES",
    "DASHBOARDS",
    "JOBS",
    "SLO",
    "Alert",
    "AlertingConfigError",
    "BurnRate",
    "Group",
    "Job",
    "Record",
    "SLOFile",
    "Thresholds",
    "alert_table",
    "duration_seconds",
    "generated_files",
    "load_slos",
    "load_thresholds",
    "rule_groups",
    "runbook_anchor",
    "stage_alertmanager",
    "stage_prometheus",
]
