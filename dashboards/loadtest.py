"""Load test: the load generator's live metrics, its gates and verdict, beside the service's own view.

The load generator (job ``loadgen``, scraped every 5 s while a test runs) publishes what its users
sent and saw (`loadtest_*`); the request-rate, latency and error panels draw the service's own
numbers for the same traffic (job ``youtube2sheets``, dashed) on the same axes, so the gap between
client and server (queueing, the network, the generator itself) is visible. An annotation marks
each run's start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DynamicConfigValue,
    MatcherConfig,
    ValueMap,
    ValueMappingResult,
)

from alerting import DASHBOARDS, load_thresholds

from ._build import DATASOURCE, GREEN, RED, Board, Variable, query, stat_panel, timeseries_panel

SEL = 'job="$job",instance=~"$instance"'
RATE = "[$__rate_interval]"
# The service under load: alerting.JOBS' scrape job for it (every worker behind one target).
SERVICE = 'job="youtube2sheets"'
# Seed (../shared/DESIGN.md): throughput > 1000 req/s, the load-test gate's default
# (alerting/thresholds.yml, loadtest.min_rps).
THROUGHPUT_TARGET_RPS = load_thresholds().number("loadtest", "min_rps")
NEUTRAL = "blue"  # stat colour for values that are neither good nor bad on their own


@dataclass
class LoadTestBoard(Board):
    """A `Board` with annotation queries (``_build.Board`` has none)."""

    annotations: Sequence[gd.AnnotationQuery] = ()

    def json(self) -> dict[str, Any]:
        data = super().json()
        built = [a.build() for a in self.annotations]
        data["annotations"] = {"list": json.loads(json.dumps(built, cls=JSONEncoder))}
        return data


def run_starts() -> gd.AnnotationQuery:
    """Marks each run's start: the value of loadtest_run_start_timestamp_seconds is the time."""
    return (
        gd.AnnotationQuery()
        .name("Load test runs")
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color("purple")
        # Grafana reads a series value used as the time in milliseconds.
        .expr(f"loadtest_run_start_timestamp_seconds{{{SEL}}} * 1000")
        .use_value_for_time(True)
        .step("5s")
        .title_format("Load test started")
        .text_format("{{job}} {{instance}}")
        .tag_keys("job,instance")
    )


def pass_fail(panel: stat.Panel) -> stat.Panel:
    """Show 1 as PASS (green) and 0 as FAIL (red)."""
    return panel.mappings(
        [
            ValueMap(
                options={
                    "0": ValueMappingResult(text="FAIL", color=RED, index=0),
                    "1": ValueMappingResult(text="PASS", color=GREEN, index=1),
                }
            )
        ]
    )


def dashed(panel: timeseries.Panel, *names: str) -> timeseries.Panel:
    """Draw the series with these legends (the service's own) dashed.

    ``byNames`` rather than ``byRegexp``: its options are an object, as Grafana's JSON Schema wants.
    """
    return panel.with_override(
        MatcherConfig(id_val="byNames", options={"mode": "include", "names": list(names)}),
        [DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]})],
    )


def quantile(q: float, metric: str, selector: str, by: str = "le") -> str:
    return f"histogram_quantile({q:g}, sum by ({by}) (rate({metric}{{{selector}}}{RATE})))"


def _summary(board: Board) -> None:
    board.row("Run")
    board.add(
        pass_fail(
            stat_panel(
                "Verdict",
                "The run's verdict (loadtest_verdict): PASS when every gate passes over the whole "
                "run, FAIL as soon as one does not. CI gates releases on it.",
                "short",
                [query(f"min(loadtest_verdict{{{SEL}}})", "verdict", instant=True)],
                thresholds=[(1, GREEN)],
                base=RED,
            )
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Users",
            "Simulated users running now (loadtest_users), as the load shape sets them.",
            "short",
            [query(f"sum(loadtest_users{{{SEL}}})", "users", instant=True)],
            base=NEUTRAL,
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Workers",
            "Load-generator worker processes (loadtest_workers). One process can only make so much "
            "load; when the client's latency rises but the server's does not, add workers.",
            "short",
            [query(f"sum(loadtest_workers{{{SEL}}})", "workers", instant=True)],
            base=NEUTRAL,
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Run",
            "The load shape and the target host of the run (labels of loadtest_run_info).",
            "short",
            [query(f"loadtest_run_info{{{SEL}}}", "{{shape}} against {{host}}", instant=True)],
            base=NEUTRAL,
        )
        .text_mode(common.BigValueTextMode.NAME)
        .graph_mode(common.BigValueGraphMode.NONE),
        width=6,
    )
    board.add(
        stat_panel(
            "Running for",
            "Time since the run started (time() - loadtest_run_start_timestamp_seconds); the "
            "annotation marks the start on every time series panel.",
            "s",
            [query(f"time() - max(loadtest_run_start_timestamp_seconds{{{SEL}}})", "elapsed", instant=True)],
            base=NEUTRAL,
        ).graph_mode(common.BigValueGraphMode.NONE),
        width=6,
    )


def _gates(board: Board) -> None:
    board.row("Gates")
    board.add(
        pass_fail(
            stat_panel(
                "Gates",
                "Each threshold gate (loadtest_threshold_passed), over the whole run (scope run) and "
                "over the last window (scope window): PASS or FAIL.",
                "short",
                [query(f"loadtest_threshold_passed{{{SEL}}}", "{{threshold}} ({{scope}})", instant=True)],
                thresholds=[(1, GREEN)],
                base=RED,
            )
        ),
        width=12,
    )
    board.add(
        stat_panel(
            "Gates: measured vs limit",
            'Each gate\'s measured value over the whole run (loadtest_threshold_value{scope="run"}) '
            "beside its limit (loadtest_threshold_limit), in the gate's own unit (the threshold name "
            "says it: p95<2000 is milliseconds).",
            "short",
            [
                query(
                    f'loadtest_threshold_value{{{SEL},scope="run"}}', "{{threshold}} measured", instant=True
                ),
                query(f"loadtest_threshold_limit{{{SEL}}}", "{{threshold}} limit", instant=True),
            ],
            base=NEUTRAL,
        ).text_mode(common.BigValueTextMode.VALUE_AND_NAME),
        width=12,
    )
    board.add(
        timeseries_panel(
            "Gates: measured / limit over time",
            "Each gate's measured value over the last window divided by its limit "
            '(loadtest_threshold_value{scope="window"} / loadtest_threshold_limit). The red line is '
            "the limit: a `<` gate (p95<2000) fails above it, a `>` gate below it.",
            "percentunit",
            [
                query(
                    f'loadtest_threshold_value{{{SEL},scope="window"}}'
                    f" / on (job, instance, threshold) group_left loadtest_threshold_limit{{{SEL}}}",
                    "{{threshold}}",
                )
            ],
            thresholds=[(1, RED)],
            minimum=0,
        ),
        width=24,
    )


def _client_vs_server(board: Board, latency: float, error_ratio: float) -> None:
    board.row("Client vs server")
    requests = f"rate(loadtest_requests_total{{{SEL}}}{RATE})"
    server_requests = f"rate(http_requests_total{{{SERVICE}}}{RATE})"
    board.add(
        dashed(
            timeseries_panel(
                "Request rate",
                f"Requests per second the users sent, by request name (rate of loadtest_requests_total, "
                f"failures included) and in total, against what the service counted "
                f"(rate of http_requests_total, job youtube2sheets, dashed). The red line is the "
                f"{THROUGHPUT_TARGET_RPS:g} req/s throughput target.",
                "reqps",
                [
                    query(f"sum by (name) ({requests})", "client {{name}}"),
                    query(f"sum({requests})", "client total"),
                    query(f"sum({server_requests})", "server total"),
                ],
                thresholds=[(THROUGHPUT_TARGET_RPS, RED)],
                minimum=0,
            ),
            "server total",
        ),
    )
    bucket = "loadtest_request_duration_seconds_bucket"
    board.add(
        dashed(
            timeseries_panel(
                "Latency: client p50 / p95 / p99 vs server p95",
                f"Response time the users saw (loadtest_request_duration_seconds, all requests) at "
                f"p50, p95 and p99, and the service's own p95 (http_request_duration_seconds, job "
                f"youtube2sheets, dashed). Client above server is time spent outside the handler "
                f"(queueing, network, the generator). The red line is the {latency:g} s p95 target.",
                "s",
                [
                    query(quantile(0.5, bucket, SEL), "client p50"),
                    query(quantile(0.95, bucket, SEL), "client p95"),
                    query(quantile(0.99, bucket, SEL), "client p99"),
                    query(quantile(0.95, "http_request_duration_seconds_bucket", SERVICE), "server p95"),
                ],
                thresholds=[(latency, RED)],
                minimum=0,
                runbooks=["ServiceHighLatency"],
            ),
            "server p95",
        ),
    )
    failures = f"rate(loadtest_failures_total{{{SEL}}}{RATE})"
    server_errors = f'rate(http_requests_total{{{SERVICE},status=~"5.."}}{RATE})'
    board.add(
        dashed(
            timeseries_panel(
                "Error ratio: client vs server",
                f"Share of requests that failed for the users (loadtest_failures_total / "
                f"loadtest_requests_total: errors, timeouts, failed checks) and share the service "
                f"answered with a 5xx (http_requests_total, dashed). The red line is the "
                f"{error_ratio:.1%} target.",
                "percentunit",
                [
                    query(f"(sum({failures}) or 0 * sum({requests})) / sum({requests})", "client"),
                    query(
                        f"(sum({server_errors}) or 0 * sum({server_requests})) / sum({server_requests})",
                        "server 5xx",
                    ),
                ],
                thresholds=[(error_ratio, RED)],
                minimum=0,
                runbooks=["ServiceHighErrorRatio"],
            ),
            "server 5xx",
        ),
    )
    board.add(
        timeseries_panel(
            "Failures by name",
            "Failed requests per second by request name (rate of loadtest_failures_total). "
            "0 until the first failure.",
            "reqps",
            [query(f"sum by (name) ({failures}) or on() vector(0)", "{{name}}")],
            minimum=0,
            stacked=True,
        ),
    )
    board.add(
        timeseries_panel(
            "Latency p95 by name",
            "95th percentile response time per request name as the users saw it "
            "(loadtest_request_duration_seconds): which request is slow.",
            "s",
            [query(quantile(0.95, bucket, SEL, "name, le"), "{{name}}")],
            thresholds=[(latency, RED)],
            minimum=0,
        ),
    )
    board.add(
        dashed(
            timeseries_panel(
                "Users vs requests in flight",
                "Simulated users (loadtest_users) and the requests the service is handling at once "
                "(http_requests_in_flight, job youtube2sheets, dashed). In flight far below users "
                "means users wait between requests; close to it means the service is the bottleneck.",
                "short",
                [
                    query(f"sum(loadtest_users{{{SEL}}})", "users"),
                    query(f"sum(loadtest_workers{{{SEL}}})", "workers"),
                    query(f"sum(http_requests_in_flight{{{SERVICE}}})", "server in flight"),
                ],
                minimum=0,
            ),
            "server in flight",
        ),
    )


def build() -> Board:
    """The Load test dashboard."""
    t = load_thresholds()
    board = LoadTestBoard(
        DASHBOARDS["loadtest"],
        "Load test",
        "A load test as it runs: users, request rate, latency percentiles and failures as the load "
        "generator sees them, beside the service's own numbers; each threshold gate and the verdict.",
        [
            Variable("job", "label_values(loadtest_users, job)", default="loadgen"),
            Variable("instance", 'label_values(loadtest_users{job="$job"}, instance)', include_all=True),
        ],
        annotations=[run_starts()],
    )
    _summary(board)
    _gates(board)
    _client_vs_server(board, t.number("service", "latency_p95_seconds"), t.ratio("service", "error_ratio"))
    return board
