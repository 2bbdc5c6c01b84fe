"""One real Prometheus with seven days of known history, shared by the capacity tests.

The history (one sample a minute, d = days since its start, 7 d in all, ending a minute ago):

- job youtube2sheets: 100 + 40 d req/s; one instance (app-1) until day 6.5, two from then on, each
  with two worker processes; p95 0.5 s and no errors (always within the SLOs); YouTube quota use
  6000 + 500 d units a day of 10 000.
- job nohistory: 50 req/s with p95 3 s (never within the SLOs), one instance.
- host a: CPU 40 %, disk 50 %, network 20 %; memory 30 %, recorded only from day 5 on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.capacity.history import DAY, STEP, Family, History, prometheus_with

APP = 'job="youtube2sheets"'


def families() -> list[Family]:
    up2 = Family("up", f'{{{APP},instance="app-2:8000"}}', lambda d: 1.0 if d >= 6.5 else None)
    return [
        Family("job:http_requests:rate5m", f"{{{APP}}}", lambda d: 100 + 40 * d),
        Family("up", f'{{{APP},instance="app-1:8000"}}', lambda d: 1.0),
        up2,
        *(
            Family(
                "process_worker_start_time_seconds",
                f'{{{APP},instance="app-{i}:8000",pid="{pid}"}}',
                (lambda d: 1.0) if i == 1 else (lambda d: 1.0 if d >= 6.5 else None),
            )
            for i in (1, 2)
            for pid in (10 * i, 10 * i + 1)
        ),
        Family(
            "job:http_request_duration_seconds:histogram_quantile_rate5m",
            f'{{{APP},quantile="0.95"}}',
            lambda d: 0.5,
        ),
        Family("job:http_request_errors:ratio_rate5m", f"{{{APP}}}", lambda d: 0.0),
        Family(
            "job_api:api_quota_units_used:rate1h",
            f'{{{APP},api="youtube"}}',
            lambda d: (6000 + 500 * d) / DAY,
        ),
        Family("api_quota_limit_units", f'{{{APP},instance="app-1:8000",api="youtube"}}', lambda d: 10000.0),
        Family("job:http_requests:rate5m", '{job="nohistory"}', lambda d: 50.0),
        Family("up", '{job="nohistory",instance="x:8000"}', lambda d: 1.0),
        Family(
            "job:http_request_duration_seconds:histogram_quantile_rate5m",
            '{job="nohistory",quantile="0.95"}',
            lambda d: 3.0,
        ),
        Family("job:http_request_errors:ratio_rate5m", '{job="nohistory"}', lambda d: 0.0),
        Family("instance:node_cpu_utilisation:rate5m", '{job="exporter",instance="a"}', lambda d: 0.4),
        Family(
            "instance:node_memory_utilisation:ratio",
            '{job="exporter",instance="a"}',
            lambda d: 0.3 if d >= 5 else None,
        ),
        Family(
            "instance:node_filesystem_utilisation:ratio",
            '{job="exporter",instance="a",mountpoint="/"}',
            lambda d: 0.5,
        ),
        Family("instance:node_network_utilisation:rate5m", '{job="exporter",instance="a"}', lambda d: 0.2),
    ]


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    end = int(time.time()) // STEP * STEP - STEP
    yield from prometheus_with(tmp_path_factory.mktemp("capacity-history"), families(), end - 7 * DAY, end)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "report"
    path.mkdir()
    return path
