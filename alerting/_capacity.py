"""Capacity rules: the headroom figures of ``python -m capacity``, recorded for the Capacity dashboard.

Every figure reads the recorded series of the other groups over the window of ``capacity.window``
(7 d), so the dashboard and the report (which sends the same PromQL for the same window) agree:

- capacity per instance: the highest per-instance request rate recorded at a time when p95 and the
  error ratio met their SLO thresholds (``job:http_requests_per_instance_within_slo:rate5m``);
  capacity of the job: that times the instances now; headroom: ``target_utilisation`` of it minus
  the rate now;
- the linear trend (``predict_linear``): the rate one window ahead, and when the fitted line reaches
  ``target_utilisation`` of capacity (now if it already has, ``+Inf`` if it never does);
- the YouTube quota: units a day at the last hour's rate, and when that trend reaches the daily limit;
- utilisation of CPU, memory, disk and network per instance: mean, p95 and peak over the window.
"""

from __future__ import annotations

from ._config import Thresholds, duration_seconds
from ._model import Group, Record

DAY = 86400
RESOURCES = {  # resource -> the per-instance utilisation series (host.rules.yml)
    "cpu": "instance:node_cpu_utilisation:rate5m",
    "memory": "instance:node_memory_utilisation:ratio",
    "disk": "instance:node_filesystem_utilisation:ratio",
    "network": "instance:node_network_utilisation:rate5m",
}
RATE = "job:http_requests:rate5m"
P95 = 'job:http_request_duration_seconds:histogram_quantile_rate5m{quantile="0.95"}'
ERRORS = "job:http_request_errors:ratio_rate5m"
QUOTA_RATE = "job_api:api_quota_units_used:rate1h"
QUOTA_LIMIT = "max by (job, api) (api_quota_limit_units)"
INSTANCES = "count by (job) (up)"


def within_slo(t: Thresholds) -> str:
    """The per-instance request rate, where (and when) p95 and the error ratio met their SLOs."""
    latency = t.number("service", "latency_p95_seconds")
    errors = t.ratio("service", "error_ratio")
    return f"""
    {RATE} / on (job) {INSTANCES}
    and on (job) ({P95} < {latency:g})
    and on (job) ({ERRORS} < {errors:g})"""


def _reached(level: str, series: str, window: str) -> str:
    """When the linear fit of ``series`` over ``window`` reaches ``level``: time() if it already has,
    +Inf if it never will (a flat or falling trend below the level)."""
    fitted = f"predict_linear({series}[{window}], 0)"
    return f"""
    time()
    + (
        ({level} - {fitted} > 0)
        / clamp_min(deriv({series}[{window}]), 0)
      or on (job)
        0 * ({fitted} >= {level})
    )"""


def _reached_by(level: str, series: str, window: str, by: str) -> str:
    """`_reached` for series keyed by more than ``job`` (``on (job, api)``)."""
    return _reached(level, series, window).replace("or on (job)", f"or on ({by})")


def groups(t: Thresholds) -> list[Group]:
    """`capacity.rules.yml`: the headroom figures, evaluated with the other groups."""
    window = t.duration("capacity", "window")
    target = t.ratio("capacity", "target_utilisation")
    per_instance = f"job:http_requests_capacity_per_instance:max_over_time{window}"
    capacity = f"job:http_requests_capacity:max_over_time{window}"
    level = f"{target:g} * {capacity}"
    records = [
        Record("job:http_requests_per_instance_within_slo:rate5m", within_slo(t)),
        Record(per_instance, f"max_over_time(job:http_requests_per_instance_within_slo:rate5m[{window}])"),
        Record(capacity, f"{per_instance} * on (job) {INSTANCES}"),
        Record("job:http_requests_headroom:rate5m", f"{level} - {RATE}"),
        Record(
            f"job:http_requests:predict_linear{window}",
            f"predict_linear({RATE}[{window}], {duration_seconds(window):.0f})",
        ),
        Record(
            f"job:http_requests_target_utilisation_reached_timestamp_seconds:predict_linear{window}",
            _reached(level, RATE, window),
        ),
        Record("job_api:api_quota_units_used_per_day:rate1h", f"{QUOTA_RATE} * {DAY}"),
        Record(
            f"job_api:api_quota_daily_limit_reached_timestamp_seconds:predict_linear{window}",
            _reached_by(f"{QUOTA_LIMIT} / {DAY}", QUOTA_RATE, window, "job, api"),
        ),
    ]
    for series in RESOURCES.values():
        level_name, metric, _ = series.split(":")
        records += [
            Record(f"{level_name}:{metric}:avg_over_time{window}", f"avg_over_time({series}[{window}])"),
            Record(
                f"{level_name}:{metric}:quantile_over_time{window}",
                f"quantile_over_time(0.95, {series}[{window}])",
                labels={"quantile": "0.95"},
            ),
            Record(f"{level_name}:{metric}:max_over_time{window}", f"max_over_time({series}[{window}])"),
        ]
    return [Group("capacity.recording", records)]
