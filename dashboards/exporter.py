"""Exporter health: is every collector working, how long scrapes take, what the exporter costs."""

from __future__ import annotations

from alerting import DASHBOARDS, load_thresholds

from ._build import RED, YELLOW, Board, Variable, query, stat_panel, timeseries_panel

SEL = 'job="$job",instance=~"$instance"'


def build() -> Board:
    """The Exporter health dashboard."""
    t = load_thresholds()
    slow = t.number("exporter", "scrape_duration_seconds")
    board = Board(
        DASHBOARDS["exporter"],
        "Exporter health",
        "The host exporter's own health: collector success and duration, scrape duration, and the "
        "exporter process's CPU, memory and file descriptors.",
        [
            Variable("job", "label_values(node_scrape_collector_success, job)", default="exporter"),
            Variable(
                "instance",
                'label_values(node_scrape_collector_success{job="$job"}, instance)',
                include_all=True,
            ),
        ],
    )
    board.row("Scrapes")
    board.add(
        stat_panel(
            "Targets up",
            "Scrape targets of this job that answered the last scrape (1 = up). Red when one is down: "
            "see the TargetDown runbook.",
            "short",
            [query(f"sum(up{{{SEL}}})", "up", instant=True)],
            thresholds=[(1, "green")],
            base=RED,
            runbooks=["TargetDown"],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Collectors failing",
            "Collectors whose last scrape failed or overran its deadline "
            "(node_scrape_collector_success == 0).",
            "short",
            [
                query(
                    f"count(node_scrape_collector_success{{{SEL}}} == 0) or vector(0)",
                    "failing",
                    instant=True,
                )
            ],
            thresholds=[(1, RED)],
            runbooks=["ExporterCollectorFailing"],
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Scrape duration",
            f"How long Prometheus takes to scrape the exporter (scrape_duration_seconds). The red line is "
            f"the ExporterScrapeSlow threshold ({slow:g} s).",
            "s",
            [query(f"scrape_duration_seconds{{{SEL}}}", "{{instance}}")],
            thresholds=[(slow, RED)],
            minimum=0,
            runbooks=["ExporterScrapeSlow"],
        ),
    )
    board.row("Collectors")
    board.add(
        timeseries_panel(
            "Collector success",
            "1 when the collector's last scrape succeeded, 0 when it raised or overran its deadline.",
            "bool",
            [query(f"node_scrape_collector_success{{{SEL}}}", "{{collector}}")],
            thresholds=[(0.5, "green")],
            base=RED,
            minimum=0,
            maximum=1,
            runbooks=["ExporterCollectorFailing"],
        ),
    )
    board.add(
        timeseries_panel(
            "Collector duration",
            "Seconds each collector took in the last scrape (node_scrape_collector_duration_seconds).",
            "s",
            [query(f"node_scrape_collector_duration_seconds{{{SEL}}}", "{{collector}}")],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Collector timeouts",
            "Scrapes per second in which a collector overran its deadline "
            "(rate of node_scrape_collector_timeouts_total).",
            "ops",
            [
                query(
                    f"rate(node_scrape_collector_timeouts_total{{{SEL}}}[$__rate_interval])", "{{collector}}"
                )
            ],
            thresholds=[(0.001, YELLOW)],
            minimum=0,
        ),
        width=24,
    )
    board.row("Exporter process")
    board.add(
        timeseries_panel(
            "CPU",
            "CPU seconds per second the exporter process uses (rate of process_cpu_seconds_total).",
            "percentunit",
            [query(f"rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval])", "{{instance}}")],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Memory",
            "Resident and virtual memory of the exporter process.",
            "bytes",
            [
                query(f"process_resident_memory_bytes{{{SEL}}}", "resident {{instance}}"),
                query(f"process_virtual_memory_bytes{{{SEL}}}", "virtual {{instance}}"),
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Open file descriptors",
            "File descriptors the exporter holds open, against its limit.",
            "short",
            [
                query(f"process_open_fds{{{SEL}}}", "open {{instance}}"),
                query(f"process_max_fds{{{SEL}}}", "max {{instance}}"),
            ],
            minimum=0,
        ),
        width=8,
    )
    return board
