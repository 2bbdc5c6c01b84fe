"""The four v3 endpoints over HTTP: shapes, paging, ordering and parameter errors."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.youtube2sheets.simulator.conftest import api
from youtube2sheets.simulator import Catalogue

PLAYLIST_PARTS = "snippet,contentDetails"
VIDEO_PARTS = "snippet,statistics,contentDetails"


def reason(response: Any) -> str:
    return str(response.json()["error"]["errors"][0]["reason"])


def all_pages(client: TestClient, method: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a listing, following nextPageToken (bounded)."""
    pages, token = [], None
    for _ in range(1000):
        response = api(client, method, pageToken=token, **params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            return pages
    raise AssertionError("more than 1000 pages")


def test_channels_list_has_the_v3_shape(client: TestClient, catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    body = api(client, "channels", part="snippet,contentDetails,statistics", id=channel.id).json()
    assert body["kind"] == "youtube#channelListResponse" and "etag" in body
    assert body["pageInfo"] == {"totalResults": 1, "resultsPerPage": 1}
    (item,) = body["items"]
    assert item["id"] == channel.id and item["snippet"]["title"] == channel.title
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == channel.uploads
    assert item["statistics"]["videoCount"] == "237"


def test_unknown_channels_have_no_item(client: TestClient, catalogue: Catalogue) -> None:
    ids = f"UCunknownunknownunknown0,{catalogue.channels[0].id}"
    items = api(client, "channels", part="id", id=ids).json()["items"]
    assert [i["id"] for i in items] == [catalogue.channels[0].id]


def test_a_size_channel_is_listed_with_its_size(client: TestClient) -> None:
    channel_id = Catalogue.channel_id_for_size(42, 120)
    (item,) = api(client, "channels", part="statistics", id=channel_id).json()["items"]
    assert item["statistics"]["videoCount"] == "120"


def test_paging_237_videos_by_50_gives_each_once_newest_first(
    client: TestClient, catalogue: Catalogue
) -> None:
    channel = catalogue.channels[4]
    pages = all_pages(client, "playlistItems", part=PLAYLIST_PARTS, playlistId=channel.uploads, maxResults=50)
    items = [item for page in pages for item in page["items"]]
    ids = [i["contentDetails"]["videoId"] for i in items]
    assert [len(p["items"]) for p in pages] == [50, 50, 50, 50, 37]
    assert ids == [v.id for v in catalogue.page(channel, 0, 237)] and len(set(ids)) == 237
    dates = [i["contentDetails"]["videoPublishedAt"] for i in items]
    assert dates == sorted(dates, reverse=True)
    assert [i["snippet"]["position"] for i in items] == list(range(237))


def test_page_tokens_are_on_every_page_but_the_last_and_prev_after_the_first(
    client: TestClient, catalogue: Catalogue
) -> None:
    playlist = catalogue.channels[4].uploads
    pages = all_pages(client, "playlistItems", part="id", playlistId=playlist, maxResults=50)
    assert ["nextPageToken" in p for p in pages] == [True, True, True, True, False]
    assert ["prevPageToken" in p for p in pages] == [False, True, True, True, True]
    assert all(p["pageInfo"] == {"totalResults": 237, "resultsPerPage": 50} for p in pages)


def test_prev_page_token_goes_back_a_page(client: TestClient, catalogue: Catalogue) -> None:
    playlist = catalogue.channels[4].uploads
    first = api(client, "playlistItems", part="id", playlistId=playlist, maxResults=10).json()
    second = api(
        client,
        "playlistItems",
        part="id",
        playlistId=playlist,
        maxResults=10,
        pageToken=first["nextPageToken"],
    )
    back = api(
        client,
        "playlistItems",
        part="id",
        playlistId=playlist,
        maxResults=10,
        pageToken=second.json()["prevPageToken"],
    )
    assert back.json()["items"] == first["items"]


def test_max_results_defaults_to_5(client: TestClient, catalogue: Catalogue) -> None:
    body = api(client, "playlistItems", part="id", playlistId=catalogue.channels[4].uploads).json()
    assert len(body["items"]) == 5


def test_max_results_zero_gives_no_items_and_no_next_token(client: TestClient, catalogue: Catalogue) -> None:
    body = api(
        client, "playlistItems", part="id", playlistId=catalogue.channels[4].uploads, maxResults=0
    ).json()
    assert body["items"] == [] and "nextPageToken" not in body and body["pageInfo"]["totalResults"] == 237


@pytest.mark.parametrize("value", ["51", "-1", "ten", "5.0", ""])
def test_bad_max_results_is_an_invalid_parameter(
    client: TestClient, catalogue: Catalogue, value: str
) -> None:
    response = api(
        client, "playlistItems", part="id", playlistId=catalogue.channels[4].uploads, maxResults=value
    )
    assert response.status_code == 400 and reason(response) == "invalidParameter"
    assert "maxResults" in response.json()["error"]["message"]


@pytest.mark.parametrize("token", ["garbage", "AAAAMgAAAAAAAAAA"])
def test_a_bad_page_token_is_invalid_page_token(client: TestClient, catalogue: Catalogue, token: str) -> None:
    response = api(
        client, "playlistItems", part="id", playlistId=catalogue.channels[4].uploads, pageToken=token
    )
    assert response.status_code == 400 and reason(response) == "invalidPageToken"


def test_a_token_from_another_playlist_is_invalid(client: TestClient, catalogue: Catalogue) -> None:
    first = api(client, "playlistItems", part="id", playlistId=catalogue.channels[4].uploads).json()
    other = api(
        client,
        "playlistItems",
        part="id",
        playlistId=catalogue.channels[5].uploads,
        pageToken=first["nextPageToken"],
    )
    assert other.status_code == 400 and reason(other) == "invalidPageToken"


def test_an_unknown_playlist_is_playlist_not_found(client: TestClient) -> None:
    response = api(client, "playlistItems", part="id", playlistId="UUunknownunknownunknown0")
    assert response.status_code == 404 and reason(response) == "playlistNotFound"


@pytest.mark.parametrize(
    ("method", "params", "parameter"),
    [
        ("channels", {"id": "UCx"}, "part"),
        ("channels", {"part": "snippet"}, "id"),
        ("playlistItems", {"part": "snippet"}, "playlistId"),
        ("videos", {"part": "snippet"}, "id"),
        ("videos", {"part": "snippet", "id": ","}, "id"),
        ("search", {"part": "snippet"}, "channelId"),
    ],
)
def test_missing_parameters_are_named(
    client: TestClient, method: str, params: dict[str, str], parameter: str
) -> None:
    response = api(client, method, **params)
    assert response.status_code == 400 and reason(response) == "missingRequiredParameter"
    assert response.json()["error"]["errors"][0]["location"] == parameter


def test_an_unknown_part_is_an_invalid_parameter(client: TestClient) -> None:
    response = api(client, "videos", part="snippet,player", id="x")
    assert response.status_code == 400 and reason(response) == "invalidParameter"
    assert "'player'" in response.json()["error"]["message"]


def test_videos_come_in_the_order_asked_without_the_missing(client: TestClient, catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    wanted = [catalogue.video_at(channel, p).id for p in (10, 0, 236)]
    asked = [wanted[0], "doesnotexst", wanted[1], wanted[2], wanted[0]]
    body = api(client, "videos", part=VIDEO_PARTS, id=",".join(asked)).json()
    assert body["kind"] == "youtube#videoListResponse"
    assert [i["id"] for i in body["items"]] == wanted


def test_a_video_has_the_v3_fields(client: TestClient, catalogue: Catalogue) -> None:
    video = catalogue.video_at(catalogue.channels[0], 0)
    (item,) = api(client, "videos", part=VIDEO_PARTS, id=video.id).json()["items"]
    assert (
        item["snippet"]["publishedAt"] == video.published_at
        and item["snippet"]["channelId"] == video.channel_id
    )
    assert item["statistics"]["viewCount"] == str(video.views)
    assert item["contentDetails"]["duration"] == video.duration


def test_more_than_50_video_ids_is_a_400(client: TestClient, catalogue: Catalogue) -> None:
    ids = [v.id for v in catalogue.page(catalogue.channels[5], 0, 51)]
    response = api(client, "videos", part="id", id=",".join(ids))
    assert response.status_code == 400 and reason(response) == "invalidParameter"
    assert api(client, "videos", part="id", id=",".join(ids[:50])).status_code == 200


def test_search_finds_a_channels_videos_by_title_newest_first(
    client: TestClient, catalogue: Catalogue
) -> None:
    channel = catalogue.channels[4]
    body = api(
        client,
        "search",
        part="snippet",
        channelId=channel.id,
        q="video 17",
        type="video",
        order="date",
        maxResults=25,
    ).json()
    titles = [i["snippet"]["title"] for i in body["items"]]
    assert body["kind"] == "youtube#searchListResponse"
    assert [t.split()[1] for t in titles] == [
        "217",
        "179",
        "178",
        "177",
        "176",
        "175",
        "174",
        "173",
        "172",
        "171",
        "170",
        "117",
        "17",
    ]
    assert all(i["id"]["kind"] == "youtube#video" for i in body["items"])


def test_search_pages_like_playlist_items(client: TestClient, catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    pages = all_pages(client, "search", part="id", channelId=channel.id, maxResults=50)
    ids = [i["id"]["videoId"] for p in pages for i in p["items"]]
    assert ids == [v.id for v in catalogue.page(channel, 0, 237)]


def test_search_of_an_unknown_channel_is_empty(client: TestClient) -> None:
    body = api(client, "search", part="snippet", channelId="UCunknownunknownunknown0").json()
    assert body["items"] == [] and body["pageInfo"]["totalResults"] == 0


@pytest.mark.parametrize(("parameter", "value"), [("order", "viewCount"), ("type", "channel")])
def test_search_refuses_what_it_does_not_simulate(
    client: TestClient, catalogue: Catalogue, parameter: str, value: str
) -> None:
    response = api(client, "search", part="snippet", channelId=catalogue.channels[0].id, **{parameter: value})
    assert response.status_code == 400 and response.json()["error"]["errors"][0]["location"] == parameter
