"""`YouTubeClient`: the YouTube Data API v3 calls of a sync, under one shared quota, rate limit, retries.

Every request goes through ``exporter.instrumentation.ApiCaller.call_async``: the quota is charged in
the `FileLedger` that every worker shares (``state/quota.json``), a `TokenBucket` paces the worker, a
`RetryPolicy` retries 429/5xx/timeouts with jittered backoff, and ``api_client_*``/``api_quota_*``
measure all of it. Failures become the service's errors: `QuotaError` (ours or the API's
``quotaExceeded``, which also marks today's quota spent with `QuotaTracker.exhaust`), `NotFound`, and
`UpstreamError` for everything else.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from exporter.instrumentation import (
    DEFAULT_METRICS,
    ApiCaller,
    FileLedger,
    MetricSet,
    QuotaExhausted,
    QuotaTracker,
    RateLimitTimeout,
    RetriesExhausted,
    RetryPolicy,
    TokenBucket,
)
from youtube2sheets.config import Settings
from youtube2sheets.db import Video
from youtube2sheets.errors import NotFound, QuotaError, UpstreamError

RATE_PER_SECOND, BURST = 100.0, 100  # per worker: well under what the API tolerates, above a sync's need
MAX_PAGES = 1000  # 50,000 videos: more than YouTube lists in an uploads playlist
BATCH = 50  # videos.list takes at most 50 ids
_DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})


def duration_seconds(text: str) -> int | None:
    """Seconds in an ISO 8601 duration as YouTube writes them (``PT4M13S``), or None if malformed.

    Example:
        >>> duration_seconds("PT4M13S"), duration_seconds("PT1H2M"), duration_seconds("P1DT1S")
        (253, 3720, 86401)
        >>> duration_seconds("4 minutes") is None, duration_seconds("P0D")
        (True, 0)
    """
    match = _DURATION.fullmatch(text) if text not in ("P", "PT") else None
    if match is None:
        return None
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds


def _count(statistics: Mapping[str, Any], name: str) -> int | None:
    value = statistics.get(name)
    return int(value) if isinstance(value, str) and value.isdigit() else None


def parse_video(item: Mapping[str, Any]) -> Video:
    """A `Video` from one ``videos.list`` item; `UpstreamError` if the item lacks what a row needs."""
    try:
        snippet, statistics = item["snippet"], item.get("statistics", {})
        duration = item.get("contentDetails", {}).get("duration", "")
        return Video(
            str(item["id"]),
            str(snippet["channelId"]),
            str(snippet["title"]),
            str(snippet["publishedAt"]),
            _count(statistics, "viewCount"),
            _count(statistics, "likeCount"),
            _count(statistics, "commentCount"),
            duration_seconds(str(duration)),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise UpstreamError(f"YouTube videos.list: an item lacks {exc}") from None


def _reason(body: Any) -> tuple[str, str]:
    """The v3 error's first ``reason`` and its ``message`` (empty when the body has none)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors") or [{}]
    first = errors[0] if isinstance(errors[0], dict) else {}
    return str(first.get("reason", "")), str(error.get("message", ""))


class YouTubeClient:
    """The calls a sync makes, each measured and charged; one per worker, closed at shutdown.

    Args:
        settings: the API's URL and key, the daily quota, the ledger's place.
        metrics: where ``api_client_*`` and ``api_quota_*`` go.
        transport: an httpx transport instead of the network (tests: the simulator in-process).
        retry: the retry policy (tests pass one that does not sleep).

    Example (the simulator running on 127.0.0.1:8001)::

        client = YouTubeClient(Settings())
        playlist = await client.uploads_playlist("UC" + 22 * "a")
        async for ids in client.playlist_pages(playlist): ...
        await client.aclose()
    """

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: MetricSet = DEFAULT_METRICS,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        ledger = FileLedger(settings.quota_ledger)
        self.quota = QuotaTracker("youtube", daily_limit=settings.daily_quota, ledger=ledger, metrics=metrics)
        self.caller = ApiCaller(
            "youtube",
            limiter=TokenBucket(RATE_PER_SECOND, BURST),
            retry=retry or RetryPolicy(max_attempts=4, base=0.2, cap=5.0, max_retry_after=30),
            quota=self.quota,
            acquire_timeout=30.0,
            metrics=metrics,
        )
        self.key = settings.api_key
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        self.http = httpx.AsyncClient(
            base_url=settings.youtube_url + "/",
            timeout=httpx.Timeout(10.0, connect=3.0),
            limits=limits,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def get(self, method: str, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One API call's JSON body; raises `QuotaError`, `NotFound` (404) or `UpstreamError`."""
        query = {**params, "key": self.key}
        try:
            response = await self.caller.call_async(method, lambda: self.http.get(path, params=query))
        except QuotaExhausted as exc:
            raise QuotaError(exc.resets_at) from None
        except (RetriesExhausted, RateLimitTimeout) as exc:
            raise UpstreamError(f"YouTube {method}: {exc}") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"YouTube {method}: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict):
            return body
        reason, message = _reason(body)
        if response.status_code == 403 and reason in _QUOTA_REASONS:
            self.quota.exhaust()  # the API's count is ahead of ours (another client uses the key)
            raise QuotaError(self.quota.resets_at())
        if response.status_code == 404:
            raise NotFound(f"YouTube {method}: {message or 'not found'}", field="channel_id")
        detail = f"{response.status_code} {reason}: {message}" if reason else str(response.status_code)
        raise UpstreamError(f"YouTube {method} answered {detail}")

    async def uploads_playlist(self, channel_id: str) -> str:
        """The channel's uploads playlist id; `NotFound` for a channel the API does not know."""
        body = await self.get("channels.list", "channels", {"part": "contentDetails", "id": channel_id})
        items = body.get("items") or []
        if not items:
            raise NotFound(f"channel {channel_id} not found on YouTube", field="channel_id")
        try:
            return str(items[0]["contentDetails"]["relatedPlaylists"]["uploads"])
        except (KeyError, TypeError, IndexError):
            raise UpstreamError("YouTube channels.list: no uploads playlist in the answer") from None

    async def playlist_pages(self, playlist_id: str) -> AsyncIterator[list[str]]:
        """The playlist's video ids, one page (up to 50) at a time, in playlist order."""
        params = {"part": "contentDetails", "playlistId": playlist_id, "maxResults": str(BATCH)}
        for _ in range(MAX_PAGES):
            body = await self.get("playlistItems.list", "playlistItems", params)
            try:
                yield [str(item["contentDetails"]["videoId"]) for item in body.get("items") or []]
            except (KeyError, TypeError):
                raise UpstreamError("YouTube playlistItems.list: an item has no videoId") from None
            token = body.get("nextPageToken")
            if not token:
                return
            params = {**params, "pageToken": str(token)}
        raise UpstreamError(f"YouTube playlistItems.list: more than {MAX_PAGES} pages")

    async def videos(self, video_ids: Sequence[str]) -> list[Video]:
        """The videos (at most 50 ids) that still exist, with their statistics and durations."""
        if not 0 < len(video_ids) <= BATCH:
            raise ValueError(f"videos.list takes 1..{BATCH} ids, got {len(video_ids)}")
        params = {"part": "snippet,statistics,contentDetails", "id": ",".join(video_ids)}
        body = await self.get("videos.list", "videos", params)
        return [parse_video(item) for item in body.get("items") or []]
