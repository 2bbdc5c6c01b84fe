"""Exporter and scrape rules (targets down, collectors failing, slow scrapes) and the Watchdog."""

from __future__ import annotations

from ._config import Thresholds
from ._model import DURATION, Alert, Group, label

EXPORTER = 'job="exporter"'


def groups(t: Thresholds) -> list[Group]:
    """`exporter.rules.yml`."""
    down_for = t.duration("exporter", "target_down_for")
    failing_for = t.duration("exporter", "collector_failing_for")
    slow = t.number("exporter", "scrape_duration_seconds")
    slow_for = t.duration("exporter", "scrape_slow_for")
    alerts = [
        # The load generator is only up while a load test runs.
        Alert(
            "TargetDown",
            'up{job!="loadgen"} == 0',
            down_for,
            "warning",
            "Scrape target is down.",
            f"Prometheus has not been able to scrape {label('job')} at {label('instance')} for {down_for}.",
            "exporter",
        ),
        Alert(
            "ExporterCollectorFailing",
            f"node_scrape_collector_success{{{EXPORTER}}} == 0",
            failing_for,
            "warning",
            "Exporter collector is failing.",
            f"The {label('collector')} collector of the exporter on {label('instance')} has "
            f"failed or overrun its deadline on every scrape for {failing_for}; its metrics are missing.",
            "exporter",
        ),
        Alert(
            "ExporterScrapeSlow",
            f"scrape_duration_seconds{{{EXPORTER}}} > {slow:g}",
            slow_for,
            "warning",
            "Exporter scrapes are slow.",
            f"Scraping the exporter on {label('instance')} takes {DURATION} "
            f"(threshold {slow:g}s) for {slow_for}.",
            "exporter",
        ),
    ]
    return [Group("exporter.alerts", alerts)]


def meta_groups() -> list[Group]:
    """`meta.rules.yml`: the dead man's switch."""
    watchdog = Alert(
        "Watchdog",
        "vector(1)",
        "0m",
        "info",
        "Always firing: proves that alerts reach Alertmanager and its receivers.",
        "This alert always fires (value {{ $value }}). If its notifications stop arriving, the "
        "alerting pipeline (Prometheus, Alertmanager or the receiver) is broken.",
        "exporter",
        variables=(),
    )
    return [Group("meta.alerts", [watchdog])]
