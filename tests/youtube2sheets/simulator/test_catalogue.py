"""The catalogue: fixed and size channels, videos computed on demand, deterministic from the seed."""

from __future__ import annotations

import re

import pytest

from youtube2sheets.simulator.catalogue import MAX_SIZE, SIZES, Catalogue, iso_duration, rfc3339

CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def test_the_fixed_channels_have_the_listed_sizes(catalogue: Catalogue) -> None:
    assert [c.videos for c in catalogue.channels] == [3, 12, 50, 51, 237, 1000, 5000]
    assert SIZES == (3, 12, 50, 51, 237, 1000, 5000)


def test_channel_ids_are_valid_and_distinct(catalogue: Catalogue) -> None:
    ids = [c.id for c in catalogue.channels]
    assert all(CHANNEL_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_the_uploads_playlist_is_uu_and_the_same_tail(catalogue: Catalogue) -> None:
    channel = catalogue.channels[0]
    assert channel.uploads == "UU" + channel.id[2:]
    assert catalogue.uploads(channel.uploads) == channel


def test_the_same_seed_gives_the_same_channels_and_videos() -> None:
    first, second = Catalogue(7), Catalogue(7)
    assert first.channels == second.channels
    assert first.page(first.channels[4], 0, 50) == second.page(second.channels[4], 0, 50)


def test_another_seed_gives_other_ids() -> None:
    first, second = Catalogue(7), Catalogue(8)
    assert {c.id for c in first.channels}.isdisjoint(c.id for c in second.channels)
    one, other = first.video_at(first.channels[0], 0), second.video_at(second.channels[0], 0)
    assert one.id != other.id


def test_a_size_id_is_a_channel_with_that_many_videos(catalogue: Catalogue) -> None:
    channel_id = Catalogue.channel_id_for_size(42, 120)
    channel = catalogue.channel(channel_id)
    assert CHANNEL_ID.fullmatch(channel_id)
    assert channel_id.startswith("UCsize120")
    assert channel is not None and channel.videos == 120 and channel.id == channel_id


def test_size_ids_differ_between_seeds_but_mean_the_same_size() -> None:
    other = Catalogue.channel_id_for_size(43, 120)
    assert other != Catalogue.channel_id_for_size(42, 120)
    channel = Catalogue(42).channel(other)
    assert channel is not None and channel.videos == 120


def test_another_padding_is_an_alias_answering_the_canonical_id(catalogue: Catalogue) -> None:
    channel = catalogue.channel("UCsize7" + "_" * 17)
    assert channel is not None
    assert channel.videos == 7 and channel.id == Catalogue.channel_id_for_size(42, 7)


@pytest.mark.parametrize(
    "tail", ["size" + "0" * 18, "size07" + "_" * 16, "size" + "_" * 18, "sizE12" + "_" * 16]
)
def test_size_ids_need_a_plain_number(catalogue: Catalogue, tail: str) -> None:
    assert catalogue.channel("UC" + tail) is None


def test_sizes_past_the_maximum_are_unknown(catalogue: Catalogue) -> None:
    assert catalogue.channel("UCsize1000001" + "_" * 11) is None
    with pytest.raises(ValueError, match="videos must be"):
        Catalogue.channel_id_for_size(42, MAX_SIZE + 1)


def test_a_size_channel_may_be_empty(catalogue: Catalogue) -> None:
    channel = catalogue.channel(Catalogue.channel_id_for_size(42, 0))
    assert channel is not None and catalogue.page(channel, 0, 50) == []


@pytest.mark.parametrize(
    "channel_id",
    ["UCnotachannelofthisseed0", "UCnotachannelofthisseed00", "UC123", "XXsize3_________________", ""],
)
def test_other_ids_are_unknown(catalogue: Catalogue, channel_id: str) -> None:
    assert catalogue.channel(channel_id) is None


def test_a_playlist_id_must_be_an_uploads_id(catalogue: Catalogue) -> None:
    assert catalogue.uploads(catalogue.channels[0].id) is None
    assert catalogue.uploads("PL" + catalogue.channels[0].id[2:]) is None


def test_uploads_are_newest_first(catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    videos = catalogue.page(channel, 0, channel.videos)
    dates = [v.published_at for v in videos]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert [v.position for v in videos] == list(range(237))
    assert [v.number for v in videos] == list(range(237, 0, -1))


def test_videos_have_titles_counts_and_durations(catalogue: Catalogue) -> None:
    channel = catalogue.channels[4]
    video = catalogue.video_at(channel, 220)
    assert video.title == f"Video 17 of {channel.title}"
    assert VIDEO_ID.fullmatch(video.id) and RFC3339.fullmatch(video.published_at)
    assert video.views >= 10 and 0 <= video.comments <= video.likes <= video.views
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", video.duration)
    assert video.channel_id == channel.id and video.channel_title == channel.title


def test_a_video_id_finds_its_video(catalogue: Catalogue) -> None:
    channel = catalogue.channel(Catalogue.channel_id_for_size(42, 120))
    assert channel is not None
    video = catalogue.video_at(channel, 5)
    assert catalogue.video(video.id) == video


def test_another_seeds_video_is_unknown(catalogue: Catalogue) -> None:
    other = Catalogue(43)
    assert catalogue.video(other.video_at(other.channels[0], 0).id) is None


def test_the_largest_size_channel_is_computed_without_building_it(catalogue: Catalogue) -> None:
    channel = catalogue.channel(Catalogue.channel_id_for_size(42, MAX_SIZE))
    assert channel is not None
    oldest = catalogue.video_at(channel, MAX_SIZE - 1)
    assert oldest.number == 1 and catalogue.video(oldest.id) == oldest


def test_positions_past_the_end_raise(catalogue: Catalogue) -> None:
    with pytest.raises(IndexError):
        catalogue.video_at(catalogue.channels[0], 3)


def test_a_page_stops_at_the_end(catalogue: Catalogue) -> None:
    assert len(catalogue.page(catalogue.channels[4], 200, 50)) == 37


@pytest.mark.parametrize(
    ("seconds", "text"), [(253, "PT4M13S"), (3720, "PT1H2M"), (45, "PT45S"), (3600, "PT1H")]
)
def test_iso_durations(seconds: int, text: str) -> None:
    assert iso_duration(seconds) == text


def test_times_are_rfc3339_utc() -> None:
    assert rfc3339(1_714_564_800) == "2024-05-01T12:00:00Z"
