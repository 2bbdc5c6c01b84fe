"""Keyed hashes and YouTube-shaped ids: the simulator's only source of "random" catalogue data.

Everything is derived from a key made from the seed, so the same seed gives the same ids and data
on every machine. Video ids are not looked up in a table: `VideoIds` encodes the channel and the
upload index in the 11 characters themselves (masked and authenticated with the key), so
``videos.list`` decodes an id back to its video without the simulator storing anything.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
"""The base64url alphabet: the characters of YouTube channel and video ids."""
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")

INDEX_BITS = 20  # upload index within a channel: up to 1,048,575 videos
CODE_BITS = 21  # which channel: a fixed slot, or (1 << 20) | size for a "size" channel
TAG_BITS = 66 - INDEX_BITS - CODE_BITS  # 25 bits authenticate an id: a made-up one is unknown


def key_of(seed: int) -> bytes:
    """The 32-byte hashing key for ``seed``.

    Example:
        >>> len(key_of(42)), key_of(42) == key_of(42), key_of(42) == key_of(43)
        (32, True, False)
    """
    return hashlib.sha256(f"youtube2sheets-simulator:{seed}".encode()).digest()


def digest(key: bytes, *parts: object, size: int = 16) -> bytes:
    """A keyed BLAKE2b digest of ``parts`` (joined unambiguously), ``size`` bytes long."""
    message = "\x1f".join(str(p) for p in parts).encode()
    return hashlib.blake2b(message, key=key, digest_size=size).digest()


def number(key: bytes, *parts: object) -> int:
    """A 128-bit integer derived from ``parts``: slice it for several independent values."""
    return int.from_bytes(digest(key, *parts), "big")


def b64(value: int, chars: int) -> str:
    """The low ``6 * chars`` bits of ``value`` as base64url characters, most significant first.

    Example:
        >>> b64(0, 3), b64(63, 2), b64(64, 2)
        ('AAA', 'A_', 'BA')
    """
    return "".join(ALPHABET[(value >> (6 * i)) & 63] for i in reversed(range(chars)))


def unb64(text: str) -> int:
    """The integer that `b64` encoded as ``text`` (every character must be base64url)."""
    value = 0
    for c in text:
        value = (value << 6) | _VALUE[c]
    return value


class VideoIds:
    """Encodes ``(channel code, upload index)`` as an 11-character video id, and back.

    The 66 bits are a 25-bit tag (a keyed hash of the payload) and the 41-bit payload XORed with a
    mask derived from the tag: ids look random, differ between seeds, and a changed character makes
    the tag fail, so `decode` answers None for ids the simulator never made.

    Args:
        key: from `key_of`.

    Example:
        >>> ids = VideoIds(key_of(42))
        >>> video_id = ids.encode(3, 17)
        >>> len(video_id), ids.decode(video_id), ids.decode("dQw4w9WgXcQ")
        (11, (3, 17), None)
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _tag(self, payload: int) -> int:
        return int.from_bytes(digest(self._key, "video-tag", payload, size=4), "big") >> (32 - TAG_BITS)

    def _mask(self, tag: int) -> int:
        return int.from_bytes(digest(self._key, "video-mask", tag, size=8), "big") >> (
            64 - INDEX_BITS - CODE_BITS
        )

    def encode(self, code: int, index: int) -> str:
        """The id of upload ``index`` (0 = the oldest) of the channel with ``code``."""
        if not (0 <= code < 1 << CODE_BITS and 0 <= index < 1 << INDEX_BITS):
            raise ValueError(f"channel code {code} or index {index} out of range")
        payload = (code << INDEX_BITS) | index
        tag = self._tag(payload)
        return b64((tag << (INDEX_BITS + CODE_BITS)) | (payload ^ self._mask(tag)), 11)

    def decode(self, video_id: str) -> tuple[int, int] | None:
        """``(channel code, index)`` of an id made by `encode` with this key, else None."""
        if not _VIDEO_ID.fullmatch(video_id):
            return None
        value = unb64(video_id)
        tag = value >> (INDEX_BITS + CODE_BITS)
        payload = (value & ((1 << (INDEX_BITS + CODE_BITS)) - 1)) ^ self._mask(tag)
        if not hmac.compare_digest(tag.to_bytes(4, "big"), self._tag(payload).to_bytes(4, "big")):
            return None
        return payload >> INDEX_BITS, payload & ((1 << INDEX_BITS) - 1)
