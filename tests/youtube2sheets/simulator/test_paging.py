"""Page tokens: opaque, signed, bound to their listing; pages and their next/prev tokens."""

from __future__ import annotations

import pytest

from youtube2sheets.simulator._ids import key_of
from youtube2sheets.simulator.paging import InvalidPageToken, PageTokens


@pytest.fixture
def tokens() -> PageTokens:
    return PageTokens(key_of(42))


def test_a_token_gives_back_its_offset(tokens: PageTokens) -> None:
    assert tokens.decode("s", tokens.encode("s", 150)) == 150


def test_a_token_does_not_show_the_offset(tokens: PageTokens) -> None:
    assert "50" not in tokens.encode("s", 50)


def test_a_token_belongs_to_its_listing(tokens: PageTokens) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode("other", tokens.encode("s", 50))


def test_a_token_of_another_seed_is_invalid(tokens: PageTokens) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode("s", PageTokens(key_of(43)).encode("s", 50))


@pytest.mark.parametrize(
    "token", ["", "CDIQAA", "not a token at all", "AAAAMgAAAAAAAAAA", "AAAAMgAAAAAAAAA="]
)
def test_made_up_tokens_are_invalid(tokens: PageTokens, token: str) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.decode("s", token)


def test_a_changed_token_is_invalid(tokens: PageTokens) -> None:
    token = tokens.encode("s", 50)
    changed = token[:3] + ("B" if token[3] == "A" else "A") + token[4:]
    with pytest.raises(InvalidPageToken):
        tokens.decode("s", changed)


def test_the_first_page_has_a_next_token_only(tokens: PageTokens) -> None:
    page = tokens.page("s", 0, 50, 237)
    assert (page.start, page.stop, page.prev_token) == (0, 50, None)
    assert page.next_token is not None and tokens.decode("s", page.next_token) == 50


def test_the_last_page_has_a_prev_token_only(tokens: PageTokens) -> None:
    page = tokens.page("s", 200, 50, 237)
    assert (page.stop, page.next_token) == (237, None)
    assert page.prev_token is not None and tokens.decode("s", page.prev_token) == 150


def test_an_exact_last_page_has_no_next_token(tokens: PageTokens) -> None:
    assert tokens.page("s", 0, 50, 50).next_token is None


def test_zero_results_per_page_has_no_next_token(tokens: PageTokens) -> None:
    page = tokens.page("s", 0, 0, 237)
    assert (page.start, page.stop, page.next_token) == (0, 0, None)


def test_an_offset_past_the_end_is_invalid(tokens: PageTokens) -> None:
    with pytest.raises(InvalidPageToken):
        tokens.page("s", 238, 50, 237)
