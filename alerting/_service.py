"""Service rules: HTTP RED per route and job, and the internals (cache, DB, YouTube API and quota).

The recording rules cover every job that uses the instrumentation library (the service and the
simulator); the alerts watch the service. Ratios whose numerator may have no series yet (no 5xx so
far) fall back to ``0 * denominator``, so a healthy service records 0 rather than nothing.
"""

from __future__ import annotations

from ._config import Thresholds
from ._model import DURATION, PERCENT, Alert, Group, Record, label

SERVICE = 'job="youtube2sheets"'
QUANTILES = ("0.5", "0.95", "0.99")
P95_HTTP = "job:http_request_duration_seconds:histogram_quantile_rate5m"
P95_DB = "job_operation:db_query_duration_seconds:histogram_quantile_rate5m"


def _ratio(by: str, bad: str, total: str) -> str:
    """``sum(bad) / sum(total)`` by ``by``, 0 where there are events but no bad ones."""
    return f"""
    (
        sum by ({by}) ({bad})
      or
        0 * sum by ({by}) ({total})
    )
    / sum by ({by}) ({total})"""


def _http_records() -> list[Record]:
    out: list[Record] = []
    for level, by in (("job", "job"), ("job_route", "job, route")):
        out += [
            Record(f"{level}:http_requests:rate5m", f"sum by ({by}) (rate(http_requests_total[5m]))"),
            Record(
                f"{level}:http_request_errors:ratio_rate5m",
                _ratio(by, 'rate(http_requests_total{status=~"5.."}[5m])', "rate(http_requests_total[5m])"),
            ),
            *(
                Record(
                    f"{level}:http_request_duration_seconds:histogram_quantile_rate5m",
                    f"""
                    histogram_quantile({q},
                      sum by ({by}, le) (rate(http_request_duration_seconds_bucket[5m]))
                    )""",
                    labels={"quantile": q},
                )
                for q in QUANTILES
            ),
        ]
    return out


def _internal_records(quota_window: str) -> list[Record]:
    return [
        Record("job_cache:cache_requests:rate5m", "sum by (job, cache) (rate(cache_requests_total[5m]))"),
        Record(
            "job_cache:cache_hit:ratio_rate5m",
            _ratio(
                "job, cache", 'rate(cache_requests_total{result="hit"}[5m])', "rate(cache_requests_total[5m])"
            ),
        ),
        Record("job_operation:db_queries:rate5m", "sum by (job, operation) (rate(db_queries_total[5m]))"),
        Record(
            "job_operation:db_query_duration_seconds:mean_rate5m",
            """
            sum by (job, operation) (rate(db_query_duration_seconds_sum[5m]))
            / sum by (job, operation) (rate(db_query_duration_seconds_count[5m]))""",
        ),
        Record(
            "job_operation:db_query_duration_seconds:histogram_quantile_rate5m",
            """
            histogram_quantile(0.95,
              sum by (job, operation, le) (rate(db_query_duration_seconds_bucket[5m]))
            )""",
            labels={"quantile": "0.95"},
        ),
        Record(
            "job_api:api_client_requests:rate5m", "sum by (job, api) (rate(api_client_requests_total[5m]))"
        ),
        # Failed attempts: server errors and no answer at all (timeouts, refused). 4xx are the caller's.
        Record(
            "job_api:api_client_request_errors:ratio_rate5m",
            _ratio(
                "job, api",
                'rate(api_client_requests_total{status_class=~"5xx|error"}[5m])',
                "rate(api_client_requests_total[5m])",
            ),
        ),
        Record(
            "job_api:api_client_retries:ratio_rate5m",
            _ratio("job, api", "rate(api_client_retries_total[5m])", "rate(api_client_calls_total[5m])"),
        ),
        Record(
            "job_api:api_client_throttled:ratio_rate5m",
            _ratio(
                "job, api",
                "rate(api_client_throttled_total[5m])",
                "rate(api_client_rate_limit_acquires_total[5m])",
            ),
        ),
        Record(
            f"job_api:api_quota_units_used:rate{quota_window}",
            f"sum by (job, api) (rate(api_quota_units_used_total[{quota_window}]))",
        ),
        # When the quota runs out at the current burn rate, as a Unix time (+Inf when nothing burns).
        Record(
            "job_api:api_quota_exhaustion_timestamp_seconds:predicted",
            f"""
            time()
            + max by (job, api) (api_quota_remaining_units)
            / job_api:api_quota_units_used:rate{quota_window}""",
        ),
    ]


def groups(t: Thresholds) -> list[Group]:
    """`service.rules.yml`: RED recording rules for every job; alerts for the service."""
    err = t.ratio("service", "error_ratio")
    err_for = t.duration("service", "error_ratio_for")
    err_window = t.duration("service", "error_ratio_window")
    p95 = t.number("service", "latency_p95_seconds")
    p95_for = t.duration("service", "latency_for")
    collapse = t.ratio("service", "throughput_collapse_ratio")
    min_rps = t.number("service", "throughput_min_rps")
    collapse_for = t.duration("service", "throughput_for")
    restarts = t.number("service", "worker_restarts")
    restarts_for = t.duration("service", "worker_restarts_for")
    restarts_window = t.duration("service", "worker_restarts_window")
    baseline = t.duration("service", "throughput_baseline")
    rate = f"job:http_requests:rate5m{{{SERVICE}}}"
    alerts = [
        # Raw rates, not the 5m recording rule: the short window resolves soon after a fault ends.
        Alert(
            "ServiceHighErrorRatio",
            f"""
            sum by (job) (rate(http_requests_total{{{SERVICE},status=~"5.."}}[{err_window}]))
            / sum by (job) (rate(http_requests_total{{{SERVICE}}}[{err_window}]))
            > {err:g}""",
            err_for,
            "warning",
            "Service answers too many requests with server errors.",
            f"{PERCENT} of the requests to {label('job')} ended in a 5xx "
            f"over the last {err_window} (threshold {err * 100:g}%).",
            "service",
            variables=("job",),
        ),
        Alert(
            "ServiceHighLatency",
            f'{P95_HTTP}{{{SERVICE},quantile="0.95"}} > {p95:g}',
            p95_for,
            "warning",
            "Service p95 latency is above its target.",
            f"The 95th percentile of {label('job')}'s response time is {DURATION} (threshold {p95:g}s).",
            "service",
            variables=("job",),
        ),
        Alert(
            "ServiceThroughputCollapse",
            f"""
            {rate} < {collapse:g} * ({rate} offset {baseline})
            and
            ({rate} offset {baseline}) > {min_rps:g}""",
            collapse_for,
            "warning",
            "Service throughput has collapsed.",
            f'{label("job")} serves {{{{ $value | printf "%.1f" }}}} requests/s, less than '
            f"{collapse * 100:g}% of its rate {baseline} ago.",
            "service",
            variables=("job",),
        ),
        # A worker that died (and was replaced) leaves its pid in the last 15 minutes but not now.
        Alert(
            "ServiceWorkersRestarting",
            f"""
            count by (job) (last_over_time(process_worker_start_time_seconds{{{SERVICE}}}[{restarts_window}]))
            - count by (job) (process_worker_start_time_seconds{{{SERVICE}}})
            >= {restarts:g}""",
            restarts_for,
            "warning",
            "Service worker processes are restarting.",
            f"{{{{ $value }}}} worker process(es) of {label('job')} went away in the last {restarts_window}.",
            "service",
            variables=("job",),
        ),
    ]
    return [
        Group("service.recording", _http_records()),
        Group("service.alerts", alerts, interval=t.duration("service", "alerts_interval")),
    ]


def internal_groups(t: Thresholds) -> list[Group]:
    """`internals.rules.yml`: cache, DB, YouTube API and its quota."""
    hit = t.ratio("internals", "cache_hit_ratio")
    cache_rps = t.number("internals", "cache_min_rps")
    cache_for = t.duration("internals", "cache_for")
    db = t.number("internals", "db_query_p95_seconds")
    db_for = t.duration("internals", "db_for")
    api_err = t.ratio("internals", "api_error_ratio")
    api_err_for = t.duration("internals", "api_error_for")
    retry = t.ratio("internals", "api_retry_ratio")
    retry_for = t.duration("internals", "api_retry_for")
    throttled = t.ratio("internals", "api_throttled_ratio")
    throttled_for = t.duration("internals", "api_throttled_for")
    window = t.duration("internals", "quota_burn_window")
    predicted_for = t.duration("internals", "quota_exhaustion_for")
    exhausted_for = t.duration("internals", "quota_exhausted_for")
    job_api = ("job", "api")
    alerts = [
        Alert(
            "CacheHitRatioLow",
            f"""
            job_cache:cache_hit:ratio_rate5m{{{SERVICE}}} < {hit:g}
            and
            job_cache:cache_requests:rate5m{{{SERVICE}}} > {cache_rps:g}""",
            cache_for,
            "warning",
            "Cache hit ratio is low.",
            f"Only {PERCENT} of the lookups in the {label('cache')} cache of "
            f"{label('job')} are hits (threshold {hit * 100:g}%).",
            "internals",
            variables=("job",),
        ),
        Alert(
            "DatabaseQueriesSlow",
            f'{P95_DB}{{{SERVICE},quantile="0.95"}} > {db:g}',
            db_for,
            "warning",
            "Database queries are slow.",
            f"The 95th percentile of {label('operation')} queries in {label('job')} takes "
            f"{DURATION} (threshold {db * 1000:g}ms).",
            "internals",
            variables=("job",),
        ),
        Alert(
            "YouTubeApiErrorsHigh",
            f"job_api:api_client_request_errors:ratio_rate5m{{{SERVICE}}} > {api_err:g}",
            api_err_for,
            "warning",
            "YouTube API requests are failing.",
            f"{PERCENT} of {label('job')}'s requests to the "
            f"{label('api')} API got a 5xx or no answer (threshold {api_err * 100:g}%).",
            "internals",
            variables=("job",),
        ),
        Alert(
            "YouTubeApiRetriesElevated",
            f"job_api:api_client_retries:ratio_rate5m{{{SERVICE}}} > {retry:g}",
            retry_for,
            "warning",
            "YouTube API calls need many retries.",
            f"{label('job')} retries {PERCENT} of its {label('api')} API calls (threshold {retry * 100:g}%).",
            "internals",
            variables=("job",),
        ),
        Alert(
            "YouTubeApiThrottled",
            f"job_api:api_client_throttled:ratio_rate5m{{{SERVICE}}} > {throttled:g}",
            throttled_for,
            "warning",
            "YouTube API calls are waiting for the rate limiter.",
            f"{PERCENT} of {label('job')}'s {label('api')} API "
            f"calls waited for a rate-limiter token (threshold {throttled * 100:g}%).",
            "internals",
            variables=("job",),
        ),
        Alert(
            "YouTubeQuotaExhaustionPredicted",
            f"""
            job_api:api_quota_exhaustion_timestamp_seconds:predicted{{{SERVICE}}}
            < on (job, api) max by (job, api) (api_quota_reset_timestamp_seconds{{{SERVICE}}})
            and on (job, api)
            max by (job, api) (api_quota_remaining_units{{{SERVICE}}}) > 0""",
            predicted_for,
            "warning",
            "YouTube API quota will run out before it resets.",
            f"At the burn rate of the last {window}, {label('job')} runs out of {label('api')} "
            "quota at {{ $value | humanizeTimestamp }}, before its reset at midnight Pacific.",
            "internals",
            variables=job_api[:1],
        ),
        Alert(
            "YouTubeQuotaExhausted",
            f"max by (job, api) (api_quota_remaining_units{{{SERVICE}}}) <= 0",
            exhausted_for,
            "critical",
            "YouTube API quota is exhausted.",
            "{{ $labels.job }} has no {{ $labels.api }} quota left: syncs answer 503 until the quota "
            "resets at midnight Pacific.",
            "internals",
            variables=job_api[:1],
        ),
    ]
    return [Group("internals.recording", _internal_records(window)), Group("internals.alerts", alerts)]
