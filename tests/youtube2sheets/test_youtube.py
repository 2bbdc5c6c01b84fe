"""The YouTube client: parsing, its calls to the in-process simulator, quota exhaustion end to end."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.youtube2sheets.conftest import (
    BIG,
    CATALOGUE,
    SMALL,
    Stack,
    in_process,
    metric,
    running_stack,
    scrape_until,
    value,
)
from youtube2sheets.errors import NotFound, QuotaError, UpstreamError
from youtube2sheets.youtube import duration_seconds, parse_video


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT4M13S", 253), ("PT1H2M", 3720), ("PT45S", 45), ("P1DT2H", 93600), ("P1W", 604800), ("P0D", 0)],
)
def test_durations_are_read_as_seconds(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "4:13", "PT4.5S", "pt4m"])
def test_a_malformed_duration_is_none(text: str) -> None:
    assert duration_seconds(text) is None


def item(**statistics: str) -> dict[str, object]:
    snippet = {"title": "t", "publishedAt": "2024-05-01T12:00:00Z", "channelId": "UC" + 22 * "a"}
    return {
        "id": "abcdefghijk",
        "snippet": snippet,
        "statistics": statistics,
        "contentDetails": {"duration": "PT1M"},
    }


def test_a_video_with_hidden_likes_has_none() -> None:
    video = parse_video(item(viewCount="12", commentCount="3"))
    assert (video.views, video.likes, video.comments, video.duration_seconds) == (12, None, 3, 60)


def test_a_video_without_a_snippet_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="snippet"):
        parse_video({"id": "abcdefghijk"})


def test_the_uploads_playlist_and_its_pages_list_every_video_newest_first(tmp_path: Path) -> None:
    async def run() -> tuple[str, list[list[str]]]:
        async with in_process(tmp_path) as parts:
            playlist = await parts.client.uploads_playlist(BIG.id)
            return playlist, [page async for page in parts.client.playlist_pages(playlist)]

    playlist, pages = asyncio.run(run())
    assert playlist == BIG.uploads
    assert [len(page) for page in pages] == [50, 50, 50, 50, 37]
    assert [video_id for page in pages for video_id in page] == [
        CATALOGUE.video_at(BIG, p).id for p in range(237)
    ]


def test_videos_come_with_their_statistics(tmp_path: Path) -> None:
    expected = [CATALOGUE.video_at(SMALL, p) for p in (0, 1)]

    async def run() -> list[tuple[object, ...]]:
        async with in_process(tmp_path) as parts:
            return [tuple(v) for v in await parts.client.videos([v.id for v in expected])]

    assert asyncio.run(run()) == [
        (v.id, SMALL.id, v.title, v.published_at, v.views, v.likes, v.comments, v.duration_seconds)
        for v in expected
    ]


def test_an_unknown_channel_is_not_found(tmp_path: Path) -> None:
    async def run() -> None:
        async with in_process(tmp_path) as parts:
            await parts.client.uploads_playlist("UC" + 22 * "x")

    with pytest.raises(NotFound) as caught:
        asyncio.run(run())
    assert caught.value.field == "channel_id"


def test_persistent_503s_end_as_an_upstream_error_after_the_retries(tmp_path: Path) -> None:
    async def run() -> float:
        async with in_process(tmp_path) as parts:
            await parts.admin.post("/admin/faults", json={"kind": "error", "status": 503})
            with pytest.raises(UpstreamError, match="gave up after 4 attempts"):
                await parts.client.uploads_playlist(BIG.id)
            return value(parts.metrics, "api_client_retries_total", {"reason": "status_5xx"})

    assert asyncio.run(run()) == 3


def test_the_local_quota_refuses_before_sending(tmp_path: Path) -> None:
    async def run() -> object:
        async with in_process(tmp_path, daily_quota=1) as parts:
            await parts.client.uploads_playlist(BIG.id)
            with pytest.raises(QuotaError):
                await parts.client.uploads_playlist(BIG.id)
            return (await parts.admin.get("/admin/quota")).json()["used"]

    assert asyncio.run(run()) == {"dev": 1}


def test_the_api_saying_quota_exceeded_spends_the_local_quota(tmp_path: Path) -> None:
    async def run() -> tuple[int, dt.datetime]:
        async with in_process(tmp_path) as parts:
            await parts.admin.put("/admin/quota", json={"daily_limit": 1, "used": {"dev": 1}})
            with pytest.raises(QuotaError) as caught:
                await parts.client.uploads_playlist(BIG.id)
            return parts.client.quota.remaining(), caught.value.resets_at

    remaining, resets_at = asyncio.run(run())
    assert remaining == 0
    assert resets_at > dt.datetime.now(dt.UTC)


# --- end to end: quota exhaustion needs a stack of its own (the rest of today is spent) -------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("quota")) as running:
        yield running


@pytest.fixture(scope="module")
def exhausted(stack: Stack) -> httpx.Response:
    """A sync that met the simulator's quota of 3 units (it needs 11)."""
    assert httpx.put(f"{stack.simulator}/admin/quota", json={"daily_limit": 3}).status_code == 200
    return httpx.post(f"{stack.service}/api/sync", json={"channel_id": BIG.id, "sheet": "q"}, timeout=60)


def test_an_exhausted_quota_is_a_503_saying_when_it_resets(exhausted: httpx.Response) -> None:
    assert exhausted.status_code == 503
    body = exhausted.json()
    assert body["error"] == "YouTube quota exhausted"
    assert dt.datetime.fromisoformat(body["resets_at"]) > dt.datetime.now(dt.UTC)


def test_an_exhausted_quota_writes_no_rows(stack: Stack, exhausted: httpx.Response) -> None:
    assert httpx.get(f"{stack.service}/api/sheets/q/rows").status_code == 404


def test_an_exhausted_quota_shows_in_the_metrics(stack: Stack, exhausted: httpx.Response) -> None:
    def shown(text: str) -> bool:
        remaining = metric(text, "api_quota_remaining_units", {"api": "youtube"})
        return remaining == 0 and metric(text, "sync_runs_total", {"result": "quota_exhausted"}) == 1

    scrape_until(f"{stack.service}/metrics", shown)


def test_after_exhaustion_syncs_are_refused_without_asking_the_api(
    stack: Stack, exhausted: httpx.Response
) -> None:
    used = httpx.get(f"{stack.simulator}/admin/quota").json()["used"]
    again = httpx.post(f"{stack.service}/api/sync", json={"channel_id": SMALL.id, "sheet": "q2"}, timeout=60)
    assert again.status_code == 503
    assert httpx.get(f"{stack.simulator}/admin/quota").json()["used"] == used
