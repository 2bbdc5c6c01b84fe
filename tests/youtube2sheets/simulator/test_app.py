"""The app: health, metrics, JSON 404s, and one MetricSet per app."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from tests.youtube2sheets.simulator.conftest import api, sample
from youtube2sheets.simulator import Catalogue


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_metrics_have_http_and_simulator_families(client: TestClient) -> None:
    api(client, "channels", part="id", id=Catalogue(42).channels[0].id)
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/youtube/v3/channels",status="200"} 1.0' in text
    assert 'youtube_simulator_requests_total{method="channels.list",status="200"} 1.0' in text
    assert 'youtube_simulator_quota_units_used_total{method="channels.list"} 1.0' in text
    assert "process_cpu_seconds_total" in text


def test_metrics_speak_openmetrics_when_asked(client: TestClient) -> None:
    response = client.get("/metrics", headers={"accept": "application/openmetrics-text;version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_the_metrics_endpoint_is_not_measured(client: TestClient) -> None:
    client.get("/metrics")
    assert sample(client, "http_requests_total", method="GET", route="/metrics", status="200") == 0


def test_two_apps_do_not_share_metrics(make_client: Callable[..., TestClient]) -> None:
    first, second = make_client(), make_client()
    first.get("/healthz")
    assert sample(first, "http_requests_total", method="GET", route="/healthz", status="200") == 1
    assert sample(second, "http_requests_total", method="GET", route="/healthz", status="200") == 0


def test_an_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.json() == {
        "error": "no such endpoint: GET /nowhere",
        "field": "path",
    }


def test_an_unknown_api_method_is_a_v3_404(client: TestClient) -> None:
    response = client.get("/youtube/v3/comments", params={"key": "k"})
    assert response.status_code == 404 and response.json()["error"]["errors"][0]["reason"] == "notFound"


def test_a_post_to_the_api_is_a_v3_405(client: TestClient) -> None:
    response = client.post("/youtube/v3/videos")
    assert response.status_code == 405 and response.json()["error"]["code"] == 405


def test_the_same_seed_serves_the_same_ids_and_data(make_client: Callable[..., TestClient]) -> None:
    def first_page(seed: int) -> list[dict[str, object]]:
        client = make_client(seed=seed)
        uploads = client.get("/admin/channels").json()["channels"][4]["uploads"]
        items = api(client, "playlistItems", part="snippet,contentDetails", playlistId=uploads, maxResults=50)
        ids = ",".join(i["contentDetails"]["videoId"] for i in items.json()["items"])
        videos: list[dict[str, object]] = api(
            client, "videos", part="snippet,statistics,contentDetails", id=ids
        ).json()["items"]
        return videos

    same = first_page(42)
    assert first_page(42) == same and len(same) == 50
    assert {v["id"] for v in first_page(43)}.isdisjoint(v["id"] for v in same)
