"""v3 resource shapes: parts, string counts, ETags, list responses."""

from __future__ import annotations

from youtube2sheets.simulator._ids import key_of
from youtube2sheets.simulator.catalogue import Catalogue
from youtube2sheets.simulator.paging import PageTokens
from youtube2sheets.simulator.resources import (
    channel_item,
    etag,
    list_response,
    playlist_item,
    search_result,
    video_item,
)

ALL = ("snippet", "contentDetails", "statistics")


def test_etags_are_stable_and_follow_the_content() -> None:
    assert etag({"a": 1, "b": 2}) == etag({"b": 2, "a": 1})
    assert etag({"a": 1}) != etag({"a": 2})
    assert len(etag([])) == 27


def test_a_channel_has_its_uploads_playlist_and_string_counts(catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    item = channel_item(channel, ALL)
    assert item["kind"] == "youtube#channel" and item["id"] == channel.id
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == channel.uploads
    assert item["statistics"]["videoCount"] == "237"
    assert {"title", "description", "publishedAt"} <= set(item["snippet"])
    assert all(isinstance(item["statistics"][k], str) for k in ("viewCount", "subscriberCount", "videoCount"))


def test_parts_pick_the_top_level_fields(catalogue: Catalogue) -> None:
    item = channel_item(catalogue.channels[0], {"statistics"})
    assert set(item) == {"kind", "etag", "id", "statistics"}


def test_a_video_has_string_statistics_and_an_iso_duration(catalogue: Catalogue) -> None:
    video = catalogue.video_at(catalogue.channels[1], 0)
    item = video_item(video, ALL)
    assert item["statistics"]["viewCount"] == str(video.views)
    assert item["statistics"]["likeCount"] == str(video.likes)
    assert item["statistics"]["commentCount"] == str(video.comments)
    assert item["contentDetails"]["duration"] == video.duration
    snippet = item["snippet"]
    assert (snippet["title"], snippet["channelId"], snippet["channelTitle"]) == (
        video.title,
        video.channel_id,
        video.channel_title,
    )


def test_a_playlist_item_points_at_its_video(catalogue: Catalogue) -> None:
    channel = catalogue.channels[1]
    video = catalogue.video_at(channel, 3)
    item = playlist_item(video, channel.uploads, ("snippet", "contentDetails"))
    assert item["snippet"]["resourceId"] == {"kind": "youtube#video", "videoId": video.id}
    assert item["snippet"]["position"] == 3 and item["snippet"]["playlistId"] == channel.uploads
    assert item["contentDetails"] == {"videoId": video.id, "videoPublishedAt": video.published_at}


def test_a_search_result_has_a_video_id(catalogue: Catalogue) -> None:
    video = catalogue.video_at(catalogue.channels[1], 0)
    item = search_result(video, ("snippet",))
    assert item["kind"] == "youtube#searchResult"
    assert item["id"] == {"kind": "youtube#video", "videoId": video.id}
    assert item["snippet"]["title"] == video.title


def test_a_list_response_carries_the_page_tokens_and_info() -> None:
    page = PageTokens(key_of(42)).page("s", 50, 50, 237)
    body = list_response("youtube#playlistItemListResponse", [], page)
    assert body["pageInfo"] == {"totalResults": 237, "resultsPerPage": 50}
    assert "nextPageToken" in body and "prevPageToken" in body
