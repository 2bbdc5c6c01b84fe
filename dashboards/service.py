"""Service: the RED method (rate, errors, duration) for YouTube2Sheets, its worker processes and syncs."""

from __future__ import annotations

from grafana_foundation_sdk.models import common

from alerting import DASHBOARDS, Thresholds, load_thresholds

from ._build import RED, YELLOW, Board, Variable, query, stat_panel, timeseries_panel

SEL = 'job="$job",instance=~"$instance"'
# Recording rules aggregate by job (no instance label): the panels that show what an alert sees select
# them by job alone, so they cover every instance of the job whatever $instance says.
JOB = 'job="$job"'
QUANTILES = (0.5, 0.95, 0.99)
STATUS_5XX = ',status=~"5.."'
STATUS_4XX_5XX = ',status=~"[45].."'


def rate(metric: str, extra: str = "") -> str:
    """``rate(metric{job, instance[, extra]}[$__rate_interval])``."""
    return f"rate({metric}{{{SEL}{extra}}}[$__rate_interval])"


def quantile(q: float, histogram: str, by: str = "") -> str:
    """``histogram_quantile`` over a histogram's bucket rates, optionally kept apart ``by`` labels."""
    labels = f"{by}, le" if by else "le"
    return f"histogram_quantile({q:g}, sum by ({labels}) ({rate(histogram + '_bucket')}))"


def error_ratio(by: str = "") -> str:
    """5xx responses per response; 0 (not nothing) while no 5xx has ever been counted."""
    group = f" by ({by})" if by else ""
    errors = f"sum{group} ({rate('http_requests_total', STATUS_5XX)})"
    total = f"sum{group} ({rate('http_requests_total')})"
    return f"({errors} or 0 * {total}) / {total}"


def worker_restarts(window: str) -> str:
    """Worker processes seen in the last ``window`` that are gone now, as ServiceWorkersRestarting counts."""
    return (
        f"count by (job) (last_over_time(process_worker_start_time_seconds{{{SEL}}}[{window}])) "
        f"- count by (job) (process_worker_start_time_seconds{{{SEL}}})"
    )


def overview(board: Board, t: Thresholds) -> None:
    window = t.duration("service", "worker_restarts_window")
    board.row("Overview")
    board.add(
        stat_panel(
            "Request rate",
            "Requests per second over the last 5 minutes, all instances of the job "
            "(job:http_requests:rate5m). ServiceThroughputCollapse fires when it falls to a fraction of "
            "what it was a while ago.",
            "reqps",
            [query(f"job:http_requests:rate5m{{{JOB}}}", "{{job}}", instant=True)],
            base="blue",
            runbooks=["ServiceThroughputCollapse"],
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Error ratio",
            "Share of requests answered with a 5xx over the last 5 minutes, all instances "
            "(job:http_request_errors:ratio_rate5m, what ServiceHighErrorRatio watches). Red at its "
            "threshold.",
            "percentunit",
            [query(f"job:http_request_errors:ratio_rate5m{{{JOB}}}", "{{job}}", instant=True)],
            thresholds=[(t.ratio("service", "error_ratio"), RED)],
            runbooks=["ServiceHighErrorRatio"],
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "p95 latency",
            "95th percentile response time over the last 5 minutes, all instances "
            '(job:http_request_duration_seconds:histogram_quantile_rate5m{quantile="0.95"}, what '
            "ServiceHighLatency watches). Red at its threshold.",
            "s",
            [
                query(
                    f'job:http_request_duration_seconds:histogram_quantile_rate5m{{{JOB},quantile="0.95"}}',
                    "{{job}}",
                    instant=True,
                )
            ],
            thresholds=[(t.number("service", "latency_p95_seconds"), RED)],
            runbooks=["ServiceHighLatency"],
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "In flight",
            "Requests being answered right now, all methods (sum of http_requests_in_flight).",
            "short",
            [query(f"sum(http_requests_in_flight{{{SEL}}})", "in flight", instant=True)],
            base="blue",
        ),
        width=4,
    )
    board.add(
        stat_panel(
            "Workers",
            "Worker processes reporting metrics (count of process_worker_start_time_seconds, one series "
            "per pid). Red at 0: nothing serves requests.",
            "short",
            [query(f"count(process_worker_start_time_seconds{{{SEL}}})", "workers", instant=True)],
            thresholds=[(1, "green")],
            base=RED,
        ),
        width=4,
    )
    board.add(
        stat_panel(
            f"Worker restarts ({window})",
            f"Worker processes seen in the last {window} that are gone now (pids of "
            "process_worker_start_time_seconds that disappeared), as ServiceWorkersRestarting counts "
            "them. Red at its threshold.",
            "short",
            [query(worker_restarts(window), "restarts", instant=True)],
            thresholds=[(t.number("service", "worker_restarts"), RED)],
            runbooks=["ServiceWorkersRestarting"],
        ),
        width=4,
    )


def requests(board: Board) -> None:
    board.row("Rate")
    board.add(
        timeseries_panel(
            "Requests by route",
            "Requests per second per route template (rate of http_requests_total by route; unmatched "
            "paths are `unmatched`). A sudden drop to a fraction of the usual rate is what "
            "ServiceThroughputCollapse catches.",
            "reqps",
            [query(f"sum by (route) ({rate('http_requests_total')})", "{{route}}")],
            minimum=0,
            stacked=True,
            runbooks=["ServiceThroughputCollapse"],
        ),
    )
    board.add(
        timeseries_panel(
            "Requests by status",
            "Requests per second per HTTP status code (rate of http_requests_total by status), stacked: "
            "the top of the stack is the total.",
            "reqps",
            [query(f"sum by (status) ({rate('http_requests_total')})", "{{status}}")],
            minimum=0,
            stacked=True,
        ),
    )


def errors(board: Board, t: Thresholds) -> None:
    limit = t.ratio("service", "error_ratio")
    board.row("Errors")
    board.add(
        timeseries_panel(
            "Error ratio",
            'Share of requests answered with a 5xx (http_requests_total{status=~"5.."} / all), over '
            "$__rate_interval and over 5 minutes as ServiceHighErrorRatio sees it "
            "(job:http_request_errors:ratio_rate5m, all instances). The red line is its threshold.",
            "percentunit",
            [
                query(error_ratio(), "5xx ratio"),
                query(f"job:http_request_errors:ratio_rate5m{{{JOB}}}", "5xx ratio, 5m (alert)"),
            ],
            thresholds=[(limit, RED)],
            minimum=0,
            runbooks=["ServiceHighErrorRatio"],
        ),
    )
    board.add(
        timeseries_panel(
            "Error ratio by route",
            "Share of each route's requests answered with a 5xx (http_requests_total by route). Tells "
            "which endpoint fails: syncs with 502/503 point at YouTube, every route at the service or "
            "its database. Red line: ServiceHighErrorRatio's threshold.",
            "percentunit",
            [query(error_ratio("route"), "{{route}}")],
            thresholds=[(limit, RED)],
            minimum=0,
            runbooks=["ServiceHighErrorRatio"],
        ),
    )
    board.add(
        timeseries_panel(
            "Errors by route and status",
            'Responses per second with a 4xx or 5xx status (http_requests_total{status=~"4..|5.."}) by '
            "route and status. 4xx are the callers' mistakes (400 bad input, 404 unknown, 409 conflict) "
            "and do not count against the error ratio; 502 and 503 are YouTube failing or its quota "
            "spent. 0 while there are none.",
            "reqps",
            [
                query(
                    f"sum by (route, status) ({rate('http_requests_total', STATUS_4XX_5XX)})"
                    " or on () vector(0)",
                    "{{route}} {{status}}",
                )
            ],
            minimum=0,
        ),
        width=24,
    )


def latency(board: Board, t: Thresholds) -> None:
    target = t.number("service", "latency_p95_seconds")
    board.row("Duration")
    board.add(
        timeseries_panel(
            "Latency",
            "Response time percentiles over all routes (histogram_quantile of "
            "http_request_duration_seconds_bucket). The red line is ServiceHighLatency's p95 threshold, "
            "also the latency SLO's: the histogram has a bucket at exactly that value.",
            "s",
            [query(quantile(q, "http_request_duration_seconds"), f"p{q * 100:g}") for q in QUANTILES],
            thresholds=[(target, RED)],
            minimum=0,
            runbooks=["ServiceHighLatency"],
        ),
    )
    board.add(
        timeseries_panel(
            "p95 latency by route",
            "95th percentile response time per route (http_request_duration_seconds_bucket by route). "
            "Syncs are slow by nature (they fetch from YouTube); reads should be far below the red line "
            "(ServiceHighLatency's threshold).",
            "s",
            [query(quantile(0.95, "http_request_duration_seconds", "route"), "{{route}}")],
            thresholds=[(target, RED)],
            minimum=0,
            runbooks=["ServiceHighLatency"],
        ),
    )


def saturation(board: Board) -> None:
    board.row("Saturation and responses")
    board.add(
        timeseries_panel(
            "In-flight requests",
            "Requests being answered at each scrape, by method (http_requests_in_flight). Growing while "
            "the request rate stays flat means requests queue: the workers are saturated.",
            "short",
            [query(f"sum by (method) (http_requests_in_flight{{{SEL}}})", "{{method}}")],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Response size",
            "Median and 95th percentile response body size per route (histogram_quantile of "
            "http_response_size_bytes_bucket). CSV exports are large by design.",
            "bytes",
            [
                query(quantile(q, "http_response_size_bytes", "route"), f"p{q * 100:g} {{{{route}}}}")
                for q in (0.5, 0.95)
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Response bytes",
            "Response body bytes sent per second per route (rate of http_response_size_bytes_sum), "
            "stacked: the top is the service's outgoing payload rate.",
            "Bps",
            [
                query(f"sum by (route) ({rate('http_response_size_bytes_sum')})", "{{route}}"),
            ],
            minimum=0,
            stacked=True,
        ),
        width=8,
    )


def workers(board: Board, t: Thresholds) -> None:
    window = t.duration("service", "worker_restarts_window")
    board.row("Worker processes")
    board.add(
        timeseries_panel(
            "Worker memory",
            "Resident memory of each worker process (process_worker_resident_memory_bytes, by pid). A "
            "worker that only ever grows leaks; a line that ends was a worker that went away.",
            "bytes",
            [query(f"process_worker_resident_memory_bytes{{{SEL}}}", "pid {{pid}}")],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Worker CPU",
            "CPU seconds per second each worker uses, user and system (rate of "
            "process_worker_cpu_seconds, by pid): 100 % is one whole CPU, the most one worker can use.",
            "percentunit",
            [query(rate("process_worker_cpu_seconds"), "pid {{pid}}")],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Worker open file descriptors",
            "File descriptors each worker has open (process_worker_open_fds, by pid): sockets, the "
            "database, metric files. A steady climb is a leak.",
            "short",
            [query(f"process_worker_open_fds{{{SEL}}}", "pid {{pid}}")],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        stat_panel(
            "Worker start times",
            "When each worker process started (process_worker_start_time_seconds, by pid). Workers that "
            "started long after the others replaced ones that died.",
            "dateTimeFromNow",
            [query(f"process_worker_start_time_seconds{{{SEL}}} * 1000", "pid {{pid}}", instant=True)],
            base="blue",
        )
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .graph_mode(common.BigValueGraphMode.NONE),
    )
    board.add(
        timeseries_panel(
            "Worker restarts",
            f"Worker processes seen in the last {window} that are gone now (pids of "
            "process_worker_start_time_seconds that disappeared), what ServiceWorkersRestarting watches; "
            "the red line is its threshold.",
            "short",
            [query(worker_restarts(window), "restarts")],
            thresholds=[(t.number("service", "worker_restarts"), RED)],
            minimum=0,
            runbooks=["ServiceWorkersRestarting"],
        ),
    )


def syncs(board: Board, t: Thresholds) -> None:
    board.row("Syncs")
    board.add(
        timeseries_panel(
            "Sync runs by result",
            "Syncs per second by result (rate of sync_runs_total): ok, not_found (unknown channel), "
            "conflict (the sheet belongs to another channel), quota_exhausted and upstream_error "
            "(YouTube), error (the service itself).",
            "ops",
            [query(f"sum by (result) ({rate('sync_runs_total')})", "{{result}}")],
            minimum=0,
            stacked=True,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Sync duration",
            "Sync run time percentiles, fetch and write (histogram_quantile of "
            "sync_duration_seconds_bucket). A sync answers POST /api/sync, so the yellow line is the "
            "response-time target it counts against (ServiceHighLatency's threshold).",
            "s",
            [query(quantile(q, "sync_duration_seconds"), f"p{q * 100:g}") for q in QUANTILES],
            thresholds=[(t.number("service", "latency_p95_seconds"), YELLOW)],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Rows written and videos fetched",
            "Sheet rows written per second by change (rate of sync_rows_upserted_total: inserted, "
            "updated) and videos fetched from YouTube per second (rate of sync_videos_fetched_total).",
            "ops",
            [
                query(f"sum by (change) ({rate('sync_rows_upserted_total')})", "rows {{change}}"),
                query(f"sum({rate('sync_videos_fetched_total')})", "videos fetched"),
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Instrumented function calls",
            "Calls per second of the functions the service wraps with `observed`, by result (rate of "
            "function_calls_total), and their exceptions by type (rate of function_errors_total; 0 "
            "while none was raised).",
            "ops",
            [
                query(
                    f"sum by (function, result) ({rate('function_calls_total')})", "{{function}} {{result}}"
                ),
                query(
                    f"sum by (function, exception) ({rate('function_errors_total')}) or on () vector(0)",
                    "{{function}} raised {{exception}}",
                ),
            ],
            minimum=0,
        ),
    )
    board.add(
        timeseries_panel(
            "Instrumented function duration",
            "95th percentile duration of each `observed` function (histogram_quantile of "
            "function_call_duration_seconds_bucket by function).",
            "s",
            [query(quantile(0.95, "function_call_duration_seconds", "function"), "p95 {{function}}")],
            minimum=0,
        ),
    )


def build() -> Board:
    """The Service dashboard."""
    t = load_thresholds()
    board = Board(
        DASHBOARDS["service"],
        "Service",
        "YouTube2Sheets by the RED method: request rate by route and status, 5xx error ratio and "
        "response time against their alert thresholds, in-flight requests and response sizes, the "
        "worker processes, and the sync runs.",
        [
            # http_requests_in_flight exists from the first scrape (one series per method), before any
            # request has been answered; http_requests_total appears only with the first request.
            Variable("job", "label_values(http_requests_in_flight, job)", default="youtube2sheets"),
            Variable(
                "instance", 'label_values(http_requests_in_flight{job="$job"}, instance)', include_all=True
            ),
        ],
    )
    overview(board, t)
    requests(board)
    errors(board, t)
    latency(board, t)
    saturation(board)
    workers(board, t)
    syncs(board, t)
    return board
