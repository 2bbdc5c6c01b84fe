"""Capacity: the headroom figures of ``python -m capacity``, from the capacity recording rules.

Every panel reads a series of `alerting/rules/capacity.rules.yml` over its window (7 d), so it shows
what a report over the same window says (a test compares the two on the same Prometheus). The report
can also take its capacity from a stress test's breaking point and fit an exponential trend; the
dashboard always shows the history-based capacity and the linear trend (``predict_linear``).
"""

from __future__ import annotations

from alerting import CAPACITY_RESOURCES, DASHBOARDS, Thresholds, load_thresholds

from ._build import GREEN, RED, YELLOW, Board, Variable, query, stat_panel, timeseries_panel

JOB = 'job="$job"'
NEVER = 10 * 365 * 86400.0  # a date further away than this reads "never" (the rules record +Inf)
TITLES = {"cpu": "CPU", "memory": "Memory", "disk": "Disk space", "network": "Network"}


def _headroom(board: Board, t: Thresholds) -> None:
    window = t.duration("capacity", "window")
    share = t.ratio("capacity", "target_utilisation")
    latency, errors = t.number("service", "latency_p95_seconds"), t.ratio("service", "error_ratio")
    slo = f"p95 < {latency:g} s and errors < {errors:.1%}"
    board.row(f"Headroom over {window}")
    board.add(
        stat_panel(
            "Capacity per instance",
            f"The highest request rate per instance recorded over the last {window} while {slo} "
            f"(job:http_requests_capacity_per_instance:max_over_time{window}): a measured lower bound. "
            f"A stress test's breaking point (python -m capacity --summary) is the better figure.",
            "reqps",
            [query(f"job:http_requests_capacity_per_instance:max_over_time{window}{{{JOB}}}", instant=True)],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Capacity",
            f"Capacity per instance times the job's scrape targets now "
            f"(job:http_requests_capacity:max_over_time{window}).",
            "reqps",
            [query(f"job:http_requests_capacity:max_over_time{window}{{{JOB}}}", instant=True)],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Request rate now",
            "Requests per second over the last 5 minutes, all instances (job:http_requests:rate5m).",
            "reqps",
            [query(f"job:http_requests:rate5m{{{JOB}}}", instant=True)],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            f"Headroom to {share:.0%} of capacity",
            f"{share:.0%} of capacity minus the request rate now (job:http_requests_headroom:rate5m): "
            f"the planning level keeps {1 - share:.0%} in reserve. Red below 0: over the level; scale out.",
            "reqps",
            [query(f"job:http_requests_headroom:rate5m{{{JOB}}}", instant=True)],
            thresholds=[(0, GREEN)],
            base=RED,
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Forecast one window ahead",
            f"The request rate {window} from now on the least-squares line through the last {window} "
            f"(job:http_requests:predict_linear{window}).",
            "reqps",
            [query(f"job:http_requests:predict_linear{window}{{{JOB}}}", instant=True)],
        ),
        width=6,
    )
    reached = f"job:http_requests_target_utilisation_reached_timestamp_seconds:predict_linear{window}"
    board.add(
        stat_panel(
            f"Reaches {share:.0%} of capacity in",
            f"When the linear trend of the last {window} reaches {share:.0%} of capacity ({reached}): "
            f"'already' when it has, 'never' when the trend is flat or falling below it.",
            "s",
            [query(f"{reached}{{{JOB}}} - time()", instant=True)],
            thresholds=[(7 * 86400, YELLOW), (30 * 86400, GREEN)],
            base=RED,
            ranges=[(None, 0, "already"), (NEVER, None, "never on this trend")],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "YouTube quota use",
            "Quota units a day at the last hour's rate (job_api:api_quota_units_used_per_day:rate1h), "
            "against the daily limit (api_quota_limit_units).",
            "short",
            [
                query(
                    f"job_api:api_quota_units_used_per_day:rate1h{{{JOB}}}", "{{api}} units/day", instant=True
                ),
                query(f"max by (api) (api_quota_limit_units{{{JOB}}})", "{{api}} limit", instant=True),
            ],
        ),
        width=6,
    )
    quota = f"job_api:api_quota_daily_limit_reached_timestamp_seconds:predict_linear{window}"
    board.add(
        stat_panel(
            "Quota use reaches the daily limit in",
            f"When the linear trend of daily quota use over the last {window} reaches the daily limit "
            f"({quota}): the day syncs start failing with 503 before the reset.",
            "s",
            [query(f"{quota}{{{JOB}}} - time()", "{{api}}", instant=True)],
            thresholds=[(7 * 86400, YELLOW), (30 * 86400, GREEN)],
            base=RED,
            ranges=[(None, 0, "already"), (NEVER, None, "never on this trend")],
        ),
        width=6,
    )
    board.row("Trend")
    board.add(
        timeseries_panel(
            "Request rate against capacity",
            f"The request rate (job:http_requests:rate5m), capacity and the {share:.0%} planning level "
            f"(from job:http_requests_capacity:max_over_time{window}), and the forecast one window ahead.",
            "reqps",
            [
                query(f"job:http_requests:rate5m{{{JOB}}}", "request rate"),
                query(f"job:http_requests_capacity:max_over_time{window}{{{JOB}}}", "capacity"),
                query(
                    f"{share:g} * job:http_requests_capacity:max_over_time{window}{{{JOB}}}",
                    f"{share:.0%} of capacity",
                ),
                query(f"job:http_requests:predict_linear{window}{{{JOB}}}", f"forecast {window} ahead"),
            ],
            minimum=0,
        ),
        width=16,
    )
    board.add(
        timeseries_panel(
            "Request rate per instance within the SLOs",
            f"The per-instance request rate at the times {slo} "
            f"(job:http_requests_per_instance_within_slo:rate5m); gaps are times outside the SLOs. "
            f"Its highest value over {window} is the capacity per instance.",
            "reqps",
            [query(f"job:http_requests_per_instance_within_slo:rate5m{{{JOB}}}", "per instance")],
            minimum=0,
        ),
        width=8,
    )


def _utilisation(board: Board, t: Thresholds) -> None:
    window = t.duration("capacity", "window")
    board.row(f"Utilisation over {window}")
    for name, series in CAPACITY_RESOURCES.items():
        target = t.ratio("capacity", f"{name}_utilisation")
        level, metric, _ = series.split(":")
        selector = '{instance=~"$instance"}'
        board.add(
            stat_panel(
                f"{TITLES[name]} p95 over {window}",
                f"Mean, 95th percentile and peak of {series} over the last {window}, per instance "
                f"({level}:{metric}:avg_over_time{window}, ...:quantile_over_time{window}, "
                f"...:max_over_time{window}), "
                f"against the planning target of {target:.0%} (capacity.{name}_utilisation).",
                "percentunit",
                [
                    query(
                        f"{level}:{metric}:quantile_over_time{window}{selector}",
                        "{{instance}} p95",
                        instant=True,
                    ),
                    query(
                        f"{level}:{metric}:avg_over_time{window}{selector}", "{{instance}} mean", instant=True
                    ),
                    query(
                        f"{level}:{metric}:max_over_time{window}{selector}", "{{instance}} peak", instant=True
                    ),
                ],
                thresholds=[(target, RED)],
            ).decimals(1),
            width=6,
        )


def build() -> Board:
    """The Capacity dashboard."""
    t = load_thresholds()
    board = Board(
        DASHBOARDS["capacity"],
        "YouTube2Sheets capacity",
        "Capacity, headroom, trend, utilisation and quota runway over the capacity window: the "
        "figures of python -m capacity, from the capacity recording rules.",
        [
            Variable("job", "label_values(job:http_requests:rate5m, job)", default="youtube2sheets"),
            Variable(
                "instance", "label_values(instance:node_cpu_utilisation:rate5m, instance)", include_all=True
            ),
        ],
    )
    _headroom(board, t)
    _utilisation(board, t)
    return board
