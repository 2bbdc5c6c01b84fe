"""Page tokens and pages: ``nextPageToken`` / ``prevPageToken`` as the v3 API hands them out.

A token is an offset signed with the seed's key and bound to the listing it came from (its
``scope``: the playlist, or the search's channel and terms), base64url-encoded. Clients must treat
it as opaque; a token that was altered, made up, or taken from another listing is refused
(`InvalidPageToken`), as the real API answers 400 ``invalidPageToken``.
"""

from __future__ import annotations

import base64
import hmac
import re
from dataclasses import dataclass

from youtube2sheets.simulator._ids import digest

_TOKEN = re.compile(r"[A-Za-z0-9_-]{16}")  # 12 bytes: a 4-byte offset and an 8-byte signature


class InvalidPageToken(ValueError):
    """The page token was not made by this simulator for this listing."""


@dataclass(frozen=True)
class Page:
    """One page of a listing: items ``start`` to ``stop`` (exclusive) of ``total``, and the tokens."""

    start: int
    stop: int
    total: int
    per_page: int
    next_token: str | None
    prev_token: str | None


class PageTokens:
    """Makes and checks page tokens for one key.

    Args:
        key: the signing key (from the seed: tokens stay valid across restarts with the same seed).

    Example:
        >>> tokens = PageTokens(b"k" * 32)
        >>> token = tokens.encode("playlistItems:UU1", 50)
        >>> tokens.decode("playlistItems:UU1", token)
        50
        >>> tokens.decode("playlistItems:UU2", token)
        Traceback (most recent call last):
        ...
        youtube2sheets.simulator.paging.InvalidPageToken: invalid page token
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _signature(self, scope: str, offset: int) -> bytes:
        return digest(self._key, "page-token", scope, offset, size=8)

    def encode(self, scope: str, offset: int) -> str:
        """The token for ``offset`` in the listing ``scope``."""
        raw = offset.to_bytes(4, "big") + self._signature(scope, offset)
        return base64.urlsafe_b64encode(raw).decode()

    def decode(self, scope: str, token: str) -> int:
        """The offset in ``token``; raises `InvalidPageToken` unless it was made for ``scope``."""
        if not _TOKEN.fullmatch(token):
            raise InvalidPageToken("invalid page token")
        raw = base64.urlsafe_b64decode(token)
        offset = int.from_bytes(raw[:4], "big")
        if not hmac.compare_digest(raw[4:], self._signature(scope, offset)):
            raise InvalidPageToken("invalid page token")
        return offset

    def page(self, scope: str, offset: int, per_page: int, total: int) -> Page:
        """The page at ``offset`` (from a decoded token, or 0) of ``per_page`` items among ``total``.

        ``nextPageToken`` is on every page but the last, ``prevPageToken`` on every page but the
        first. ``maxResults=0`` pages carry no next token: a client paging through would never end.
        """
        if offset > total:
            raise InvalidPageToken("invalid page token")
        stop = min(total, offset + per_page)
        more = per_page > 0 and stop < total
        return Page(
            start=offset,
            stop=stop,
            total=total,
            per_page=per_page,
            next_token=self.encode(scope, stop) if more else None,
            prev_token=self.encode(scope, max(0, offset - per_page)) if offset > 0 else None,
        )
