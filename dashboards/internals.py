"""Internals: the service's video cache, its database and its YouTube API client (rate limit, retries, quota).

Every panel that an alert watches plots the alert's own recording rule (summed over the job's
instances, as the alert sees it) with the alert's threshold as a red line and a link to its runbook;
the other panels read the raw families with ``instance=~"$instance"``.
"""

from __future__ import annotations

from alerting import DASHBOARDS, Thresholds, load_thresholds

from ._build import GREEN, RED, Board, Variable, query, stat_panel, timeseries_panel

SEL = 'job="$job",instance=~"$instance"'
JOB = 'job="$job"'  # recording rules keep job only: they sum over the instances
RATE = "[$__rate_interval]"

# The quota resets at most a day ahead, so a predicted exhaustion further away than this is as good
# as never (no quota used in the last hour predicts +Inf); capping it keeps the runway panel readable.
RUNWAY_CAP_SECONDS = 2 * 86400


def rate(metric: str, by: str, selector: str = SEL) -> str:
    """``sum by (<by>) (rate(<metric>{<selector>}[$__rate_interval]))``."""
    return f"sum by ({by}) (rate({metric}{{{selector}}}{RATE}))"


def or_zero(expr: str) -> str:
    """A count of bad things that exists only once one happened: 0 until then, not an empty panel.

    ``on()`` makes the 0 stand in only while ``expr`` has no series at all; a plain ``or vector(0)``
    would add an unlabelled 0 beside every labelled series of a ``sum by (...)``.
    """
    return f"{expr} or on() vector(0)"


def _cache(board: Board, t: Thresholds) -> None:
    hit, min_rps = t.ratio("internals", "cache_hit_ratio"), t.number("internals", "cache_min_rps")
    cache_for = t.duration("internals", "cache_for")
    board.row("Video cache")
    board.add(
        timeseries_panel(
            "Cache hit ratio",
            f"Share of lookups answered from the cache over 5 minutes, per cache "
            f"(job_cache:cache_hit:ratio_rate5m, from cache_requests_total). Below the red line "
            f"({hit:.0%}) for {cache_for} while the cache serves more than {min_rps:g} "
            f"lookup/s, CacheHitRatioLow fires. Summed over the job's instances.",
            "percentunit",
            [query(f"job_cache:cache_hit:ratio_rate5m{{{JOB}}}", "{{cache}}")],
            thresholds=[(hit, RED)],
            minimum=0,
            maximum=1,
            runbooks=["CacheHitRatioLow"],
        ),
    )
    board.add(
        timeseries_panel(
            "Cache lookups by result",
            "Lookups per second, hits and misses (rate of cache_requests_total). A hit ratio means "
            "little when there are few lookups: CacheHitRatioLow ignores caches below "
            f"{min_rps:g} lookup/s.",
            "ops",
            [query(rate("cache_requests_total", "cache, result"), "{{cache}} {{result}}")],
            minimum=0,
            stacked=True,
        ),
    )
    board.add(
        timeseries_panel(
            "Cache entries vs capacity",
            "Entries held (cache_entries) against the most the cache holds (cache_capacity_entries), "
            "summed over the workers. Entries at capacity with capacity evictions means the cache is "
            "too small for the working set.",
            "short",
            [
                query(f"sum by (cache) (cache_entries{{{SEL}}})", "entries {{cache}}"),
                query(f"sum by (cache) (cache_capacity_entries{{{SEL}}})", "capacity {{cache}}"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Cache evictions by reason",
            "Entries dropped per second (rate of cache_evictions_total): `expired` when the TTL ran "
            "out, `capacity` when the LRU made room. Steady capacity evictions lower the hit ratio.",
            "ops",
            [query(or_zero(rate("cache_evictions_total", "cache, reason")), "{{cache}} {{reason}}")],
            minimum=0,
            stacked=True,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Cache load time",
            "How long the backing call takes that fills the cache on a miss "
            "(cache_load_duration_seconds), p95 and mean over the rate interval. Misses wait this "
            "long; concurrent misses of one key share one load.",
            "s",
            [
                query(
                    f"histogram_quantile(0.95, {rate('cache_load_duration_seconds_bucket', 'cache, le')})",
                    "p95 {{cache}}",
                ),
                query(
                    f"{rate('cache_load_duration_seconds_sum', 'cache')}"
                    f" / {rate('cache_load_duration_seconds_count', 'cache')}",
                    "mean {{cache}}",
                ),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Cache load errors",
            "Backing calls per second that raised (rate of cache_load_errors_total; their total is "
            "the rate of cache_load_duration_seconds_count). The lookup fails and nothing is cached.",
            "ops",
            [query(or_zero(rate("cache_load_errors_total", "cache")), "{{cache}}")],
            minimum=0,
        ),
        width=6,
    )


def _database(board: Board, t: Thresholds) -> None:
    slow, db_for = t.number("internals", "db_query_p95_seconds"), t.duration("internals", "db_for")
    board.row("Database")
    board.add(
        timeseries_panel(
            "Query time p95 by operation",
            f"95th percentile of query time over 5 minutes per operation "
            f"(job_operation:db_query_duration_seconds:histogram_quantile_rate5m, from "
            f"db_query_duration_seconds). Above the red line ({slow * 1000:g} ms) for "
            f"{db_for}, "
            f"DatabaseQueriesSlow fires. Operations without queries show no line.",
            "s",
            [
                query(
                    "job_operation:db_query_duration_seconds:histogram_quantile_rate5m"
                    f'{{{JOB},quantile="0.95"}}',
                    "p95 {{operation}}",
                )
            ],
            thresholds=[(slow, RED)],
            minimum=0,
            runbooks=["DatabaseQueriesSlow"],
        ),
    )
    board.add(
        timeseries_panel(
            "Query time mean by operation",
            f"Mean query time over 5 minutes per operation "
            f"(job_operation:db_query_duration_seconds:mean_rate5m). A mean near the p95 means every "
            f"query is slow (a lock, a busy disk); a low mean under a high p95 means a few slow ones. "
            f"The red line is the {slow * 1000:g} ms target.",
            "s",
            [query(f"job_operation:db_query_duration_seconds:mean_rate5m{{{JOB}}}", "mean {{operation}}")],
            thresholds=[(slow, RED)],
            minimum=0,
            runbooks=["DatabaseQueriesSlow"],
        ),
    )
    board.add(
        timeseries_panel(
            "Queries by operation",
            "Queries per second by operation (rate of db_queries_total; failed ones included). "
            "`other` is transaction control and schema statements.",
            "ops",
            [query(rate("db_queries_total", "operation"), "{{operation}}")],
            minimum=0,
            stacked=True,
        ),
    )
    board.add(
        timeseries_panel(
            "Query errors by operation",
            "Queries per second that raised an error (rate of db_query_errors_total), by operation. "
            "Any steady line here is a bug or a locked or full database: see the service's log.",
            "ops",
            [query(or_zero(rate("db_query_errors_total", "operation")), "{{operation}}")],
            minimum=0,
        ),
    )


def _api(board: Board, t: Thresholds) -> None:
    api_err, retry = t.ratio("internals", "api_error_ratio"), t.ratio("internals", "api_retry_ratio")
    throttled = t.ratio("internals", "api_throttled_ratio")
    api_error_for, api_retry_for = (
        t.duration("internals", "api_error_for"),
        t.duration("internals", "api_retry_for"),
    )
    api_throttled_for = t.duration("internals", "api_throttled_for")
    board.row("YouTube API")
    board.add(
        timeseries_panel(
            "Calls by method",
            "API calls per second that ended, by method (rate of api_client_calls_total); "
            "one call is one or more attempts (retries).",
            "ops",
            [query(rate("api_client_calls_total", "api, method"), "{{api}} {{method}}")],
            minimum=0,
            stacked=True,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Attempts by status class",
            "Requests sent per second by answer (rate of api_client_requests_total): 2xx, 4xx "
            "(429 rate limits, 403 quota), 5xx, and `error` for no answer (timeout, refused).",
            "ops",
            [query(rate("api_client_requests_total", "status_class"), "{{status_class}}")],
            minimum=0,
            stacked=True,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Attempt error ratio",
            f"Share of attempts over 5 minutes that got a 5xx or no answer "
            f"(job_api:api_client_request_errors:ratio_rate5m). Above the red line ({api_err:.0%}) "
            f"for {api_error_for}, YouTubeApiErrorsHigh fires. 429s are retried and show as "
            f"retries.",
            "percentunit",
            [query(f"job_api:api_client_request_errors:ratio_rate5m{{{JOB}}}", "{{api}}")],
            thresholds=[(api_err, RED)],
            minimum=0,
            runbooks=["YouTubeApiErrorsHigh"],
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Attempt latency by method",
            "95th percentile of the time per attempt over the rate interval, by method "
            "(api_client_request_duration_seconds): the simulator's or YouTube's latency as the "
            "client sees it, rate-limiter waits excluded.",
            "s",
            [
                query(
                    "histogram_quantile(0.95, "
                    f"{rate('api_client_request_duration_seconds_bucket', 'api, method, le')})",
                    "p95 {{method}}",
                )
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Retry ratio",
            f"Retries per call over 5 minutes (job_api:api_client_retries:ratio_rate5m). Above the "
            f"red line ({retry:.0%}) for {api_retry_for}, YouTubeApiRetriesElevated fires.",
            "percentunit",
            [query(f"job_api:api_client_retries:ratio_rate5m{{{JOB}}}", "{{api}}")],
            thresholds=[(retry, RED)],
            minimum=0,
            runbooks=["YouTubeApiRetriesElevated"],
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Retries by reason",
            "Retries per second by reason (rate of api_client_retries_total): the status that was "
            "retried (status_429, status_5xx, status_4xx) or the exception (timeout, connection). "
            "0 until the first retry.",
            "ops",
            [query(or_zero(rate("api_client_retries_total", "reason")), "{{reason}}")],
            minimum=0,
            stacked=True,
            runbooks=["YouTubeApiRetriesElevated"],
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Calls given up",
            "Calls per second that failed for good: out of retries (api_client_retries_exhausted_total, "
            "the service answers 502), refused by the rate limiter's timeout "
            "(api_client_rate_limit_timeouts_total), refused by the local quota "
            "(api_quota_exhausted_total, answers 503). 0 until the first one.",
            "ops",
            [
                query(
                    or_zero(rate("api_client_retries_exhausted_total", "method")),
                    "retries exhausted {{method}}",
                ),
                query(or_zero(rate("api_client_rate_limit_timeouts_total", "api")), "rate-limit timeouts"),
                query(or_zero(rate("api_quota_exhausted_total", "api")), "quota refused"),
            ],
            minimum=0,
        ),
        width=8,
    )
    board.add(
        timeseries_panel(
            "Throttled ratio",
            f"Share of rate-limiter tokens over 5 minutes that had to wait "
            f"(job_api:api_client_throttled:ratio_rate5m, from api_client_throttled_total and "
            f"api_client_rate_limit_acquires_total). Above the red line ({throttled:.0%}) for "
            f"{api_throttled_for}, YouTubeApiThrottled fires.",
            "percentunit",
            [query(f"job_api:api_client_throttled:ratio_rate5m{{{JOB}}}", "{{api}}")],
            thresholds=[(throttled, RED)],
            minimum=0,
            runbooks=["YouTubeApiThrottled"],
        ),
        width=8,
    )
    acquires = rate("api_client_rate_limit_acquires_total", "api")
    board.add(
        timeseries_panel(
            "Rate-limiter wait",
            "Mean wait per token (rate of api_client_throttle_wait_seconds_total over the rate of "
            "api_client_rate_limit_acquires_total): how much latency the limiter adds to an "
            "average attempt. 0 while no token has waited.",
            "s",
            [
                query(
                    f"({rate('api_client_throttle_wait_seconds_total', 'api')} or 0 * {acquires})"
                    f" / {acquires}",
                    "mean wait {{api}}",
                )
            ],
            minimum=0,
        ),
        width=8,
    )


def _quota(board: Board, t: Thresholds) -> None:
    quota_burn_window = t.duration("internals", "quota_burn_window")
    quota_exhaustion_for = t.duration("internals", "quota_exhaustion_for")
    board.row("YouTube quota")
    board.add(
        timeseries_panel(
            "Quota used by method",
            "Quota units charged per hour, by method (3600 x rate of api_quota_units_used_total; "
            "search.list costs 100, most others 1), and units given back for requests that were "
            "never sent (api_quota_units_refunded_total) as `refunded`.",
            "short",
            [
                query(f"3600 * {rate('api_quota_units_used_total', 'api, method')}", "{{method}}"),
                query(f"3600 * {or_zero(rate('api_quota_units_refunded_total', 'api'))}", "refunded"),
            ],
            minimum=0,
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Quota charges and refusals",
            "Quota charges asked for per second, by method (rate of api_quota_charges_total, refused "
            "or not), and those refused because they would pass the daily limit "
            "(api_quota_exhausted_total): refused requests are never sent and the sync answers 503.",
            "ops",
            [
                query(rate("api_quota_charges_total", "api, method"), "{{method}}"),
                query(or_zero(rate("api_quota_exhausted_total", "api")), "refused"),
            ],
            minimum=0,
            runbooks=["YouTubeQuotaExhausted"],
        ),
        width=6,
    )
    board.add(
        timeseries_panel(
            "Quota remaining vs limit",
            "Units left today (api_quota_remaining_units, shared by every worker) against the daily "
            "limit (api_quota_limit_units). At 0 (the red line), YouTubeQuotaExhausted fires and "
            "syncs answer 503 until the reset.",
            "short",
            [
                query(f"max by (api) (api_quota_remaining_units{{{SEL}}})", "remaining {{api}}"),
                query(f"max by (api) (api_quota_limit_units{{{SEL}}})", "limit {{api}}"),
            ],
            thresholds=[(0, RED)],
            minimum=0,
            runbooks=["YouTubeQuotaExhausted"],
        ),
        width=6,
    )
    board.add(
        stat_panel(
            "Quota left",
            "Units left today (api_quota_remaining_units). Red at 0: YouTubeQuotaExhausted.",
            "short",
            [query(f"max by (api) (api_quota_remaining_units{{{SEL}}})", "{{api}}", instant=True)],
            thresholds=[(1, GREEN)],
            base=RED,
            runbooks=["YouTubeQuotaExhausted"],
        ),
        width=6,
    )
    reset = f'max by (job, api) (api_quota_reset_timestamp_seconds{{{JOB},instance=~"$instance"}})'
    predicted = f"job_api:api_quota_exhaustion_timestamp_seconds:predicted{{{JOB}}}"
    board.add(
        timeseries_panel(
            "Quota runway: predicted exhaustion vs next reset",
            f"Time from now until the quota runs out at the burn rate of the last "
            f"{quota_burn_window} "
            "(job_api:api_quota_exhaustion_timestamp_seconds:predicted), and until it resets at "
            "midnight Pacific (api_quota_reset_timestamp_seconds). When `runs out in` is below "
            f"`resets in` for {quota_exhaustion_for}, YouTubeQuotaExhaustionPredicted fires. "
            f"`runs out in` is capped at {RUNWAY_CAP_SECONDS // 86400} days: no quota used in the "
            f"last {quota_burn_window} means never.",
            "s",
            [
                query(f"clamp_max({predicted} - time(), {RUNWAY_CAP_SECONDS})", "runs out in ({{api}})"),
                query(f"{reset} - time()", "resets in ({{api}})"),
            ],
            minimum=0,
            runbooks=["YouTubeQuotaExhaustionPredicted"],
        ),
        width=18,
    )
    board.add(
        stat_panel(
            "Runs out before the reset",
            "1 (red) when the quota, at the recent burn rate, runs out before it resets "
            "(predicted exhaustion < api_quota_reset_timestamp_seconds): what "
            "YouTubeQuotaExhaustionPredicted watches.",
            "bool",
            [query(f"{predicted} < bool on (job, api) {reset}", "{{api}}", instant=True)],
            thresholds=[(1, RED)],
            runbooks=["YouTubeQuotaExhaustionPredicted"],
        ),
        width=6,
    )


def build() -> Board:
    """The Internals dashboard."""
    t = load_thresholds()
    slow = t.number("internals", "db_query_p95_seconds")
    board = Board(
        DASHBOARDS["internals"],
        "Internals",
        f"Inside the service: the video cache (hit ratio, entries, evictions, load time), the "
        f"database (query time by operation against the {slow * 1000:g} ms target, queries, errors), "
        f"and the YouTube API client (calls, attempts, errors, retries, throttling, quota).",
        [
            Variable("job", "label_values(cache_requests_total, job)", default="youtube2sheets"),
            Variable(
                "instance",
                'label_values(cache_requests_total{job="$job"}, instance)',
                include_all=True,
            ),
        ],
    )
    _cache(board, t)
    _database(board, t)
    _api(board, t)
    _quota(board, t)
    return board
