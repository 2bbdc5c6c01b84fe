"""The v3 methods' parameters: each ``parse`` checks a request's query and returns its ``answer``.

Splitting the two is what lets `api.serve` charge a bad request 1 unit before answering 400, and a
good one its full cost before the answer is computed (an unknown playlist costs its 1 unit too).
A parse function raises `ApiError` (400, naming the parameter); an answer may raise a 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import QueryParams

from youtube2sheets.simulator._errors import ApiError, invalid_parameter, missing_parameter
from youtube2sheets.simulator.catalogue import Channel
from youtube2sheets.simulator.paging import InvalidPageToken, Page
from youtube2sheets.simulator.resources import (
    channel_item,
    list_response,
    playlist_item,
    search_result,
    video_item,
)
from youtube2sheets.simulator.state import Simulator

Answer = Callable[[], dict[str, Any]]
Parse = Callable[[Simulator, QueryParams], Answer]

MAX_IDS = 50
MAX_RESULTS = 50
DEFAULT_RESULTS = 5
_WHOLE = re.compile(r"[0-9]{1,9}")


def parts(params: QueryParams, allowed: Sequence[str]) -> frozenset[str]:
    """``part``: a comma-separated list of the part names in ``allowed``."""
    names = [p.strip() for p in params.get("part", "").split(",") if p.strip()]
    if not names:
        raise missing_parameter("part")
    for name in names:
        if name not in allowed:
            raise invalid_parameter("part", f"{name!r} is not one of {', '.join(allowed)}")
    return frozenset(names)


def ids(params: QueryParams, name: str = "id") -> list[str]:
    """A comma-separated list of at most 50 ids, duplicates dropped (first one kept)."""
    listed = [i.strip() for i in params.get(name, "").split(",") if i.strip()]
    if not listed:
        raise missing_parameter(name)
    if len(listed) > MAX_IDS:
        raise invalid_parameter(name, f"at most {MAX_IDS} ids in one request, got {len(listed)}")
    return list(dict.fromkeys(listed))


def required(params: QueryParams, name: str) -> str:
    """A parameter that must be present and non-empty."""
    value = params.get(name, "")
    if not value:
        raise missing_parameter(name)
    return value


def max_results(params: QueryParams) -> int:
    """``maxResults``: a whole number from 0 to 50, 5 when absent."""
    raw = params.get("maxResults")
    if raw is None:
        return DEFAULT_RESULTS
    if not _WHOLE.fullmatch(raw) or int(raw) > MAX_RESULTS:
        raise invalid_parameter("maxResults", f"expected a whole number from 0 to {MAX_RESULTS}, got {raw!r}")
    return int(raw)


def _bad_token() -> ApiError:
    message = "The request specifies an invalid page token."
    return ApiError(400, "invalidPageToken", message, domain="youtube.parameter", parameter="pageToken")


def offset(sim: Simulator, params: QueryParams, scope: str) -> int:
    """The offset in ``pageToken`` (0 without one); 400 ``invalidPageToken`` for a bad token."""
    token = params.get("pageToken", "")
    if not token:
        return 0
    try:
        return sim.tokens.decode(scope, token)
    except InvalidPageToken:
        raise _bad_token() from None


def page(sim: Simulator, scope: str, start: int, per_page: int, total: int) -> Page:
    """The page (and its tokens) at ``start``; a token past the end is an invalid token."""
    try:
        return sim.tokens.page(scope, start, per_page, total)
    except InvalidPageToken:
        raise _bad_token() from None


def channels(sim: Simulator, params: QueryParams) -> Answer:
    """``channels.list?part=...&id=UC...,UC...``: the channels that exist, in the order asked."""
    wanted, asked = parts(params, ("id", "snippet", "contentDetails", "statistics")), ids(params)

    def answer() -> dict[str, Any]:
        found: dict[str, Channel] = {}  # aliases of one size channel give one item
        for channel in (sim.catalogue.channel(i) for i in asked):
            if channel is not None:
                found.setdefault(channel.id, channel)
        items = [channel_item(c, wanted) for c in found.values()]
        return list_response("youtube#channelListResponse", items)

    return answer


def playlist_items(sim: Simulator, params: QueryParams) -> Answer:
    """``playlistItems.list?part=...&playlistId=UU...&maxResults=N&pageToken=T``: newest first."""
    wanted = parts(params, ("id", "snippet", "contentDetails"))
    playlist_id, per_page = required(params, "playlistId"), max_results(params)
    scope = f"playlistItems:{playlist_id}"
    start = offset(sim, params, scope)

    def answer() -> dict[str, Any]:
        channel = sim.catalogue.uploads(playlist_id)
        if channel is None:
            message = "The playlist identified with the request's playlistId parameter cannot be found."
            raise ApiError(
                404, "playlistNotFound", message, domain="youtube.playlistItem", parameter="playlistId"
            )
        at = page(sim, scope, start, per_page, channel.videos)
        videos = sim.catalogue.page(channel, at.start, at.stop - at.start)
        items = [playlist_item(v, channel.uploads, wanted) for v in videos]
        return list_response("youtube#playlistItemListResponse", items, at)

    return answer


def videos(sim: Simulator, params: QueryParams) -> Answer:
    """``videos.list?part=...&id=a,b,...``: at most 50 ids; the videos that exist, in the order asked."""
    wanted, asked = parts(params, ("id", "snippet", "statistics", "contentDetails")), ids(params)

    def answer() -> dict[str, Any]:
        found = (sim.catalogue.video(i) for i in asked)
        items = [video_item(v, wanted) for v in found if v is not None]
        return list_response("youtube#videoListResponse", items)

    return answer


def search(sim: Simulator, params: QueryParams) -> Answer:
    """``search.list?part=snippet&channelId=UC...&q=...&type=video&order=date``: a channel's videos.

    Each word of ``q`` must appear in the title (case-insensitive); results are newest first for
    ``order=date`` and ``relevance`` alike (the only orders served). ``channelId`` is required here:
    the simulator searches within one channel. An unknown channel has no results. With ``q``, the
    titles are scanned (no hashing, yet a quarter second for a million videos); without ``q``, only
    the page is computed.
    """
    wanted, channel_id = parts(params, ("id", "snippet")), required(params, "channelId")
    searched = params.get("type", "video")
    if [t.strip() for t in searched.split(",")] != ["video"]:
        raise invalid_parameter("type", f"the simulator has videos only: expected 'video', got {searched!r}")
    order = params.get("order", "relevance")
    if order not in ("date", "relevance"):
        raise invalid_parameter("order", f"expected 'date' or 'relevance', got {order!r}")
    terms, per_page = params.get("q", "").casefold().split(), max_results(params)
    scope, response_kind = f"search:{channel_id}:{' '.join(terms)}", "youtube#searchListResponse"
    start = offset(sim, params, scope)

    def answer() -> dict[str, Any]:
        channel = sim.catalogue.channel(channel_id)
        if channel is None:
            return list_response(response_kind, [], page(sim, scope, start, per_page, 0), regionCode="US")
        found: Sequence[int] = range(channel.videos)
        if terms:
            titles = ((p, sim.catalogue.title_at(channel, p).casefold()) for p in found)
            found = [p for p, title in titles if all(t in title for t in terms)]
        at = page(sim, scope, start, per_page, len(found))
        videos = (sim.catalogue.video_at(channel, p) for p in found[at.start : at.stop])
        return list_response(response_kind, [search_result(v, wanted) for v in videos], at, regionCode="US")

    return answer


ENDPOINTS: tuple[tuple[str, str, Parse], ...] = (
    ("/youtube/v3/channels", "channels.list", channels),
    ("/youtube/v3/playlistItems", "playlistItems.list", playlist_items),
    ("/youtube/v3/videos", "videos.list", videos),
    ("/youtube/v3/search", "search.list", search),
)
"""``(path, API method, parse)`` of every endpoint."""
