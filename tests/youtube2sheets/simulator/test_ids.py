"""Keyed hashes and the video id codec."""

from __future__ import annotations

import re

import pytest

from youtube2sheets.simulator._ids import ALPHABET, VideoIds, b64, digest, key_of, unb64


def test_the_key_depends_on_the_seed_only() -> None:
    assert key_of(42) == key_of(42)
    assert key_of(42) != key_of(43)


def test_digests_separate_their_parts() -> None:
    key = key_of(1)
    assert digest(key, "a", "bc") != digest(key, "ab", "c")


@pytest.mark.parametrize("value", [0, 1, 63, 64, 2**66 - 1, 123456789])
def test_b64_round_trips(value: int) -> None:
    assert unb64(b64(value, 11)) == value


def test_b64_uses_the_id_alphabet() -> None:
    assert set(b64(2**132 - 1, 22)) <= set(ALPHABET)
    assert len(ALPHABET) == 64


@pytest.mark.parametrize(("code", "index"), [(0, 0), (6, 4999), ((1 << 20) | 1_000_000, 999_999)])
def test_video_ids_decode_to_what_they_encode(code: int, index: int) -> None:
    ids = VideoIds(key_of(42))
    video_id = ids.encode(code, index)
    assert re.fullmatch(r"[A-Za-z0-9_-]{11}", video_id)
    assert ids.decode(video_id) == (code, index)


def test_a_changed_character_makes_an_unknown_id() -> None:
    ids = VideoIds(key_of(42))
    video_id = ids.encode(4, 17)
    changed = ("B" if video_id[5] == "A" else "A").join([video_id[:5], video_id[6:]])
    assert ids.decode(changed) is None


def test_another_seed_does_not_know_the_id() -> None:
    video_id = VideoIds(key_of(42)).encode(4, 17)
    assert VideoIds(key_of(43)).decode(video_id) is None


@pytest.mark.parametrize("video_id", ["", "short", "dQw4w9WgXcQx", "dQw4w9WgXc!"])
def test_malformed_ids_are_unknown(video_id: str) -> None:
    assert VideoIds(key_of(42)).decode(video_id) is None


def test_out_of_range_payloads_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        VideoIds(key_of(42)).encode(0, 1 << 20)
