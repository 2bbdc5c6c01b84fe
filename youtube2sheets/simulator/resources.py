"""v3 resources as JSON: channels, videos, playlist items, search results, and list responses.

Shapes follow the real API, trimmed to the fields a client reads (no thumbnails or localizations);
counts are decimal strings, as the real API returns them. ``parts`` picks the top-level parts an
item carries, as the ``part`` parameter does; ``kind``, ``etag`` and ``id`` are always there. ETags
are hashes of the content: the same data has the same ETag.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Sequence
from typing import Any

from youtube2sheets.simulator.catalogue import Channel, Video
from youtube2sheets.simulator.paging import Page


def etag(content: object) -> str:
    """A stable ETag for JSON-able ``content`` (27 characters, like the real ones)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha1(text, usedforsecurity=False).digest()).decode()[:27]


def _item(kind: str, item_id: object, parts: dict[str, Any], wanted: Collection[str]) -> dict[str, Any]:
    body = {name: value for name, value in parts.items() if name in wanted}
    return {"kind": kind, "etag": etag([item_id, body]), "id": item_id, **body}


def channel_item(channel: Channel, parts: Collection[str]) -> dict[str, Any]:
    """A ``youtube#channel``: snippet, contentDetails (the uploads playlist), statistics."""
    snippet = {
        "title": channel.title,
        "description": f"A simulated channel with {channel.videos} videos.",
        "publishedAt": channel.published_at,
    }
    statistics = {
        "viewCount": str(channel.view_count),
        "subscriberCount": str(channel.subscriber_count),
        "hiddenSubscriberCount": False,
        "videoCount": str(channel.videos),
    }
    content = {"relatedPlaylists": {"likes": "", "uploads": channel.uploads}}
    body = {"snippet": snippet, "contentDetails": content, "statistics": statistics}
    return _item("youtube#channel", channel.id, body, parts)


def video_item(video: Video, parts: Collection[str]) -> dict[str, Any]:
    """A ``youtube#video``: snippet, statistics (strings), contentDetails (ISO 8601 duration)."""
    snippet = {
        "publishedAt": video.published_at,
        "channelId": video.channel_id,
        "title": video.title,
        "description": video.description,
        "channelTitle": video.channel_title,
        "categoryId": "28",
        "liveBroadcastContent": "none",
    }
    statistics = {
        "viewCount": str(video.views),
        "likeCount": str(video.likes),
        "favoriteCount": "0",
        "commentCount": str(video.comments),
    }
    content = {"duration": video.duration, "dimension": "2d", "definition": "hd", "caption": "false"}
    body = {"snippet": snippet, "statistics": statistics, "contentDetails": content}
    return _item("youtube#video", video.id, body, parts)


def playlist_item(video: Video, playlist_id: str, parts: Collection[str]) -> dict[str, Any]:
    """A ``youtube#playlistItem`` of an uploads playlist; its id encodes the playlist and the video."""
    item_id = base64.urlsafe_b64encode(f"{playlist_id}.{video.id}".encode()).decode().rstrip("=")
    snippet = {
        "publishedAt": video.published_at,
        "channelId": video.channel_id,
        "title": video.title,
        "description": video.description,
        "channelTitle": video.channel_title,
        "playlistId": playlist_id,
        "position": video.position,
        "resourceId": {"kind": "youtube#video", "videoId": video.id},
        "videoOwnerChannelTitle": video.channel_title,
        "videoOwnerChannelId": video.channel_id,
    }
    content = {"videoId": video.id, "videoPublishedAt": video.published_at}
    return _item("youtube#playlistItem", item_id, {"snippet": snippet, "contentDetails": content}, parts)


def search_result(video: Video, parts: Collection[str]) -> dict[str, Any]:
    """A ``youtube#searchResult`` for a video."""
    snippet = {
        "publishedAt": video.published_at,
        "channelId": video.channel_id,
        "title": video.title,
        "description": video.description,
        "channelTitle": video.channel_title,
        "liveBroadcastContent": "none",
        "publishTime": video.published_at,
    }
    result_id = {"kind": "youtube#video", "videoId": video.id}
    return _item("youtube#searchResult", result_id, {"snippet": snippet}, parts)


def list_response(
    kind: str, items: Sequence[dict[str, Any]], page: Page | None = None, **extra: Any
) -> dict[str, Any]:
    """A ``youtube#...ListResponse``: tokens and ``pageInfo`` from ``page`` (None: one page of ``items``).

    Example:
        >>> body = list_response("youtube#videoListResponse", [])
        >>> body["pageInfo"], body["items"]
        ({'totalResults': 0, 'resultsPerPage': 0}, [])
    """
    body: dict[str, Any] = {"kind": kind, "etag": etag([i["etag"] for i in items])}
    if page is not None and page.next_token is not None:
        body["nextPageToken"] = page.next_token
    if page is not None and page.prev_token is not None:
        body["prevPageToken"] = page.prev_token
    body.update(extra)
    total = len(items) if page is None else page.total
    per_page = len(items) if page is None else page.per_page
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    body["items"] = list(items)
    return body
