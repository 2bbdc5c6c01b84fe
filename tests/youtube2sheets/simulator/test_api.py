"""The request pipeline: key, latency, injected faults, quota, and their metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, MutableMapping
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.youtube2sheets.simulator.conftest import FakeClock, RecordingSleep, api, sample, simulator
from youtube2sheets.simulator import Catalogue, SimulatorConfig, create_app
from youtube2sheets.simulator.api import hold
from youtube2sheets.simulator.quota import PACIFIC

Message = MutableMapping[str, Any]


def reason(response: Any) -> str:
    return str(response.json()["error"]["errors"][0]["reason"])


def channels(client: TestClient, key: str | None = "test-key") -> Any:
    return api(client, "channels", key=key, part="id", id=Catalogue(42).channels[0].id)


def search(client: TestClient, key: str = "test-key") -> Any:
    return api(client, "search", key=key, part="id", channelId=Catalogue(42).channels[0].id)


def add_fault(client: TestClient, **fault: Any) -> dict[str, Any]:
    response = client.post("/admin/faults", json=fault)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("key", [None, ""])
def test_a_request_without_a_key_is_forbidden(client: TestClient, key: str | None) -> None:
    response = channels(client, key=key)
    assert response.status_code == 403 and reason(response) == "forbidden"


def test_every_api_request_waits_the_latency(
    make_client: Callable[..., TestClient], sleep: RecordingSleep
) -> None:
    client = make_client(latency_median_ms=20.0)
    channels(client)
    client.get("/admin/quota")
    assert sleep.waits == [0.02]


def test_latency_changes_at_run_time(make_client: Callable[..., TestClient], sleep: RecordingSleep) -> None:
    client = make_client(latency_median_ms=20.0)
    client.put("/admin/latency", json={"median_ms": 50})
    channels(client)
    assert sleep.waits == [0.05]


def test_seeded_latency_is_reproducible(
    make_client: Callable[..., TestClient], sleep: RecordingSleep
) -> None:
    for _ in range(2):
        client = make_client(latency_median_ms=20.0, latency_sigma=0.5)
        for _ in range(5):
            channels(client)
    assert sleep.waits[:5] == sleep.waits[5:] and len(set(sleep.waits)) == 5


@pytest.mark.parametrize(
    ("status", "expected"), [(500, "backendError"), (503, "backendError"), (429, "rateLimitExceeded")]
)
def test_an_error_fault_answers_its_status_in_the_v3_shape(
    client: TestClient, status: int, expected: str
) -> None:
    add_fault(client, kind="error", status=status)
    response = channels(client)
    assert response.status_code == status and reason(response) == expected
    assert response.json()["error"]["code"] == status


def test_retry_after_adds_the_header(client: TestClient) -> None:
    add_fault(client, kind="error", status=429, retry_after=7)
    assert channels(client).headers["retry-after"] == "7"


def test_no_retry_after_no_header(client: TestClient) -> None:
    add_fault(client, kind="error", status=503)
    assert "retry-after" not in channels(client).headers


def test_a_counted_fault_stops_firing(client: TestClient) -> None:
    add_fault(client, kind="error", status=503, count=2)
    assert [channels(client).status_code for _ in range(3)] == [503, 503, 200]
    assert client.get("/admin/faults").json()["faults"][0]["fired"] == 2


def test_the_methods_filter_spares_other_methods(client: TestClient, catalogue: Catalogue) -> None:
    add_fault(client, kind="error", status=500, methods=["videos.list"])
    video_id = catalogue.video_at(catalogue.channels[0], 0).id
    assert channels(client).status_code == 200
    assert api(client, "videos", part="id", id=video_id).status_code == 500


def test_fault_rates_are_reproducible_with_the_seed(make_client: Callable[..., TestClient]) -> None:
    def run(seed: int) -> list[int]:
        client = make_client(seed=seed)
        add_fault(client, kind="error", status=503, rate=0.5)
        return [channels(client).status_code for _ in range(30)]

    first = run(5)
    assert run(5) == first and run(6) != first
    assert {200, 503} == set(first)


def test_a_timeout_holds_the_request_then_answers_504(make_client: Callable[..., TestClient]) -> None:
    client = make_client(sleep=asyncio.sleep)
    add_fault(client, kind="timeout", delay_ms=50)
    started = time.monotonic()
    response = channels(client)
    assert response.status_code == 504 and reason(response) == "deadlineExceeded"
    assert time.monotonic() - started >= 0.05


def test_a_timeout_holds_30_seconds_by_default(client: TestClient, sleep: RecordingSleep) -> None:
    add_fault(client, kind="timeout")
    assert channels(client).status_code == 504
    assert sleep.waits == [30.0]


def test_a_held_request_ends_when_the_client_disconnects() -> None:
    async def scenario() -> bool:
        messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
        messages.append({"type": "http.disconnect"})

        async def receive() -> Message:
            await asyncio.sleep(0.01)
            return messages.pop(0)

        return await asyncio.wait_for(hold(receive, 60.0, asyncio.sleep), timeout=10)

    assert asyncio.run(scenario()) is True


def test_a_disconnected_timeout_is_recorded_as_499() -> None:
    app = create_app(SimulatorConfig(latency_median_ms=0))
    app.state.simulator.faults.add({"kind": "timeout", "delay_ms": 60_000})
    sent: list[Message] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/youtube/v3/videos",
        "raw_path": b"/youtube/v3/videos",
        "root_path": "",
        "query_string": b"part=id&id=x&key=k",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        await asyncio.sleep(0.01)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))
    assert sent[0]["status"] == 499
    assert app.state.simulator.metrics.requests.labels("videos.list", "499").get() == 1


def test_costs_follow_the_v3_table(client: TestClient, catalogue: Catalogue) -> None:
    channel = catalogue.channels[0]
    api(client, "channels", part="id", id=channel.id)
    api(client, "playlistItems", part="id", playlistId=channel.uploads)
    api(client, "videos", part="id", id=catalogue.video_at(channel, 0).id)
    search(client)
    assert client.get("/admin/quota").json()["used"] == {"test-key": 103}


def test_the_quota_is_per_key(client: TestClient) -> None:
    channels(client, key="a")
    search(client, key="b")
    assert simulator(client).quota.used() == {"a": 1, "b": 100}


def test_at_the_limit_requests_get_quota_exceeded_and_cost_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(daily_quota=150)
    assert search(client).status_code == 200
    refused = search(client)
    assert refused.status_code == 403 and reason(refused) == "quotaExceeded"
    assert refused.json()["error"]["errors"][0]["domain"] == "youtube.quota"
    assert simulator(client).quota.used() == {"test-key": 100}
    assert channels(client).status_code == 200


def test_reaching_the_limit_exactly_is_allowed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(daily_quota=2)
    assert [channels(client).status_code for _ in range(3)] == [200, 200, 403]


def test_the_quota_resets_at_midnight_pacific(
    make_client: Callable[..., TestClient], clock: FakeClock
) -> None:
    clock.set(dt.datetime(2024, 5, 1, 23, 59, 59, tzinfo=PACIFIC))
    client = make_client(daily_quota=1)
    assert [channels(client).status_code for _ in range(2)] == [200, 403]
    clock.set(dt.datetime(2024, 5, 2, 0, 0, 1, tzinfo=PACIFIC))
    assert channels(client).status_code == 200
    assert client.get("/admin/quota").json()["resets_at"] == "2024-05-03T00:00:00-07:00"


def test_an_invalid_request_costs_one_unit(client: TestClient) -> None:
    assert api(client, "search", part="snippet").status_code == 400
    assert simulator(client).quota.used() == {"test-key": 1}


def test_an_unknown_playlist_costs_its_unit(client: TestClient) -> None:
    api(client, "playlistItems", part="id", playlistId="UUunknownunknownunknown0")
    assert simulator(client).quota.used() == {"test-key": 1}


def test_faulted_and_keyless_requests_cost_nothing(client: TestClient) -> None:
    channels(client, key=None)
    add_fault(client, kind="error", status=503)
    channels(client)
    assert simulator(client).quota.used() == {}


def test_faults_come_before_the_quota(make_client: Callable[..., TestClient]) -> None:
    client = make_client(daily_quota=0)
    add_fault(client, kind="error", status=503)
    assert channels(client).status_code == 503


def test_requests_units_and_faults_are_counted(client: TestClient) -> None:
    channels(client)
    search(client)
    add_fault(client, kind="error", status=503, count=1)
    channels(client)
    assert sample(client, "youtube_simulator_requests_total", method="channels.list", status="200") == 1
    assert sample(client, "youtube_simulator_requests_total", method="channels.list", status="503") == 1
    assert sample(client, "youtube_simulator_quota_units_used_total", method="search.list") == 100
    assert sample(client, "youtube_simulator_faults_fired_total", kind="error", status="503") == 1


def test_timeouts_are_counted_as_504_faults(client: TestClient) -> None:
    add_fault(client, kind="timeout", delay_ms=1)
    channels(client)
    assert sample(client, "youtube_simulator_faults_fired_total", kind="timeout", status="504") == 1


def test_unknown_query_parameters_are_ignored(client: TestClient) -> None:
    response = api(client, "channels", part="id", id=Catalogue(42).channels[0].id, prettyPrint="false")
    assert response.status_code == 200
