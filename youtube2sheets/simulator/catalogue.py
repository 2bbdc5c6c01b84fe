"""The simulated YouTube catalogue: channels and their videos, computed from the seed on demand.

Nothing is stored. A channel is a handful of hashed numbers (its id, title, the span of its upload
dates); video ``i`` of a channel is computed from one keyed hash of ``(channel, i)`` when asked for,
so a page of 50 from a 5000-video channel costs 50 hashes, and a video id decodes back to its
channel and index (see `VideoIds`). Channels:

- the fixed ones, ``Catalogue(seed).channels``, with ``SIZES`` videos each, ids hashed from the seed;
- any ``"UC" + "size<N>" + padding`` id (22 characters after ``UC``): a channel with exactly N videos
  (0..1,000,000), as made by `Catalogue.channel_id_for_size`. Another padding is an alias of the
  same channel: lookups answer the canonical id, as the real API answers a channel's own id.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from youtube2sheets.simulator._ids import VideoIds, b64, digest, key_of, number

SIZES = (3, 12, 50, 51, 237, 1000, 5000)
"""Video counts of the fixed channels, in the order of ``Catalogue.channels``."""
MAX_SIZE = 1_000_000
"""The largest ``size`` channel; a bigger N is an unknown channel."""

_SIZE_FLAG = 1 << 20  # channel code of size channel N: _SIZE_FLAG | N; fixed channels are 0..6
_CHANNEL_ID = re.compile(r"U[CU][A-Za-z0-9_-]{22}")
_SIZE_TAIL = re.compile(r"size(0|[1-9][0-9]*)([A-Za-z0-9_-]*)")
_DAY = 86_400
_FIRST = 1_325_376_000  # 2012-01-01T00:00:00Z: no channel starts uploading earlier
_LAST = 1_714_564_800  # 2024-05-01T12:00:00Z: no video is newer


def rfc3339(timestamp: int) -> str:
    """Unix seconds as the API writes times: ``2024-05-01T12:00:00Z``."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: int) -> str:
    """Seconds as an ISO 8601 duration, as ``contentDetails.duration``.

    Example:
        >>> iso_duration(253), iso_duration(3720), iso_duration(0)
        ('PT4M13S', 'PT1H2M', 'PT0S')
    """
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{v}{unit}" for v, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if v)
    return f"PT{text or '0S'}"


@dataclass(frozen=True)
class Channel:
    """A simulated channel; ``start`` and ``step`` place its uploads in time (video i near start + i*step)."""

    id: str
    code: int
    title: str
    videos: int
    published_at: str
    view_count: int
    subscriber_count: int
    start: int
    step: int

    @property
    def uploads(self) -> str:
        """The uploads playlist id: ``UU`` + the channel id's last 22 characters."""
        return "UU" + self.id[2:]


@dataclass(frozen=True)
class Video:
    """A simulated video; ``number`` counts uploads from 1 (the oldest), ``position`` from 0 (the newest)."""

    id: str
    channel_id: str
    channel_title: str
    number: int
    position: int
    title: str
    description: str
    published_at: str
    views: int
    likes: int
    comments: int
    duration_seconds: int

    @property
    def duration(self) -> str:
        """``contentDetails.duration``: ISO 8601, such as ``PT4M13S``."""
        return iso_duration(self.duration_seconds)


class Catalogue:
    """Every channel and video of one seed; each is computed when asked for.

    Use it to know ids without HTTP (tests, load-test users) and inside the simulator's endpoints.

    Args:
        seed: the same seed gives the same ids and data.

    Example:
        >>> catalogue = Catalogue(42)
        >>> [c.videos for c in catalogue.channels]
        [3, 12, 50, 51, 237, 1000, 5000]
        >>> channel = catalogue.channel(Catalogue.channel_id_for_size(42, 120))
        >>> channel.videos, catalogue.video_at(channel, 0).title
        (120, 'Video 120 of Sized channel 120')
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._key = key_of(seed)
        self._ids = VideoIds(self._key)
        self.channels = tuple(self._fixed(slot) for slot in range(len(SIZES)))
        self._by_id = {c.id: c for c in self.channels}

    @staticmethod
    def channel_id_for_size(seed: int, videos: int) -> str:
        """The canonical id of the channel with exactly ``videos`` uploads (0..`MAX_SIZE`) for ``seed``."""
        if not 0 <= videos <= MAX_SIZE:
            raise ValueError(f"videos must be 0..{MAX_SIZE}, got {videos}")
        head = f"size{videos}"
        padding = "-" + b64(number(key_of(seed), "size-padding", videos), 22)
        return "UC" + (head + padding)[:22]

    def _fixed(self, slot: int) -> Channel:
        for attempt in range(100):  # a hash that looks like a size id is redrawn (odds ~1e-8)
            tail = b64(int.from_bytes(digest(self._key, "channel", slot, attempt, size=17), "big"), 22)
            if _size_of(tail) is None:
                return self._channel(slot, "UC" + tail, f"Simulated channel {slot + 1}", SIZES[slot])
        raise AssertionError("unreachable: 100 channel ids in a row looked like size ids")

    def _channel(self, code: int, channel_id: str, title: str, videos: int) -> Channel:
        h = number(self._key, "channel-data", code)
        start = _FIRST + (h % 365) * _DAY
        last = _LAST - ((h >> 16) % 30) * _DAY
        return Channel(
            id=channel_id,
            code=code,
            title=title,
            videos=videos,
            published_at=rfc3339(start - (1 + (h >> 32) % 100) * _DAY),
            view_count=videos * (1_000 + (h >> 48) % 50_000),
            subscriber_count=10 + (h >> 80) % 1_000_000,
            start=start,
            step=(last - start) // max(videos, 1),
        )

    def _sized(self, videos: int) -> Channel:
        channel_id = self.channel_id_for_size(self.seed, videos)
        return self._channel(_SIZE_FLAG | videos, channel_id, f"Sized channel {videos}", videos)

    def channel(self, channel_id: str) -> Channel | None:
        """The channel with this id (an alias of a size channel answers the canonical one), else None."""
        if not _CHANNEL_ID.fullmatch(channel_id) or not channel_id.startswith("UC"):
            return None
        found = self._by_id.get(channel_id)
        if found is not None:
            return found
        size = _size_of(channel_id[2:])
        return None if size is None else self._sized(size)

    def uploads(self, playlist_id: str) -> Channel | None:
        """The channel whose uploads playlist is ``playlist_id`` (``UU...``), else None."""
        if not (playlist_id.startswith("UU") and _CHANNEL_ID.fullmatch(playlist_id)):
            return None
        return self.channel("UC" + playlist_id[2:])

    def video_at(self, channel: Channel, position: int) -> Video:
        """The video at ``position`` in the uploads playlist (0 = the newest); IndexError past the end."""
        if not 0 <= position < channel.videos:
            raise IndexError(f"position {position} outside 0..{channel.videos - 1}")
        index = channel.videos - 1 - position
        h = number(self._key, "video", channel.code, index)
        digits = 2 + (h >> 32) % 6  # views from 10 to 9,999,999
        low = 10 ** (digits - 1)
        views = low + (h >> 40) % (9 * low)
        likes = views * (1 + (h >> 64) % 60) // 1000
        spread = (h >> 88) % 1000
        return Video(
            id=self._ids.encode(channel.code, index),
            channel_id=channel.id,
            channel_title=channel.title,
            number=index + 1,
            position=position,
            title=self.title_at(channel, position),
            description=f"Upload {index + 1} of {channel.videos} on {channel.title}.",
            published_at=rfc3339(
                channel.start + index * channel.step + (h & 0xFFFFFFFF) % (channel.step // 2 + 1)
            ),
            views=views,
            likes=likes,
            comments=likes * (1 + (h >> 72) % 100) // 1000,
            duration_seconds=15 + spread * spread * 72 // 10_000,
        )

    @staticmethod
    def title_at(channel: Channel, position: int) -> str:
        """The title of the video at ``position``, without computing the rest (search scans titles)."""
        return f"Video {channel.videos - position} of {channel.title}"

    def page(self, channel: Channel, start: int, count: int) -> list[Video]:
        """Up to ``count`` videos from ``start`` in the uploads playlist (newest first)."""
        stop = min(channel.videos, start + max(count, 0))
        return [self.video_at(channel, p) for p in range(max(start, 0), stop)]

    def video(self, video_id: str) -> Video | None:
        """The video with this id, else None (malformed, unknown, or made with another seed)."""
        decoded = self._ids.decode(video_id)
        if decoded is None:
            return None
        code, index = decoded
        if code < len(self.channels):
            channel = self.channels[code]
        elif code & _SIZE_FLAG and (code ^ _SIZE_FLAG) <= MAX_SIZE:
            channel = self._sized(code ^ _SIZE_FLAG)
        else:
            return None
        return self.video_at(channel, channel.videos - 1 - index) if index < channel.videos else None


def _size_of(tail: str) -> int | None:
    """N for a ``size<N><padding>`` tail whose padding does not start with a digit, else None."""
    match = _SIZE_TAIL.fullmatch(tail)
    if match is None or match[2][:1].isdigit() or int(match[1]) > MAX_SIZE:
        return None
    return int(match[1])
