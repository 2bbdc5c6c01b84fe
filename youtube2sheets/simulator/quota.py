"""The simulator's own quota: units per API key per day, the day ending at midnight Pacific.

As the real API: ``channels.list``, ``playlistItems.list`` and ``videos.list`` cost 1 unit,
``search.list`` 100 (`exporter.instrumentation.YOUTUBE_COSTS`, the table the service charges by
too). A request whose cost would pass the daily limit is refused with 403 ``quotaExceeded`` and
costs nothing; reaching the limit exactly is allowed. The day is the calendar day in
America/Los_Angeles (23 hours long in March, 25 in November), read from an injectable clock.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from youtube2sheets.simulator._checks import known_fields, whole
from youtube2sheets.simulator._errors import InputError

PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
MAX_UNITS = 10**12  # bounds for admin input: any real quota fits


class Quota:
    """Units used per API key today; usage starts from zero when the Pacific day changes.

    Args:
        daily_limit: units a key may use a day (0 refuses every request).
        clock: Unix time in seconds; tests inject one they can move across midnight.

    Example:
        >>> quota = Quota(150, clock=lambda: 1714550400.0)  # 2024-05-01 01:00 Pacific
        >>> quota.charge("k", 100), quota.charge("k", 100), quota.used()
        (True, False, {'k': 100})
        >>> quota.resets_at().isoformat()
        '2024-05-02T00:00:00-07:00'
    """

    def __init__(self, daily_limit: int, clock: Callable[[], float]) -> None:
        self.daily_limit = whole(daily_limit, "daily_limit", 0, MAX_UNITS)
        self.clock = clock
        self._day = self.today()
        self._used: dict[str, int] = {}

    def today(self) -> dt.date:
        """The quota day: today's date in America/Los_Angeles."""
        return dt.datetime.fromtimestamp(self.clock(), PACIFIC).date()

    def _current(self) -> dict[str, int]:
        today = self.today()
        if today != self._day:
            self._day, self._used = today, {}
        return self._used

    def charge(self, key: str, units: int) -> bool:
        """Take ``units`` from ``key``'s quota; False (and nothing taken) if that would pass the limit."""
        used = self._current()
        if used.get(key, 0) + units > self.daily_limit:
            return False
        used[key] = used.get(key, 0) + units
        return True

    def used(self) -> dict[str, int]:
        """Units used today, by key (keys with no use today are absent)."""
        return dict(self._current())

    def resets_at(self) -> dt.datetime:
        """The next midnight in America/Los_Angeles, an aware datetime."""
        tomorrow = self.today() + dt.timedelta(days=1)
        return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=PACIFIC)

    def reset(self) -> None:
        """Forget today's usage (``DELETE /admin/quota``)."""
        self._current().clear()

    def update(self, body: Mapping[str, Any]) -> None:
        """Apply ``PUT /admin/quota``: ``daily_limit`` and/or ``used`` (sets the keys it names).

        Everything is checked before anything changes; raises `InputError` naming the field.
        """
        known_fields(body, ("daily_limit", "used"))
        if not body:
            raise InputError("body", "expected daily_limit and/or used")
        limit = whole(body["daily_limit"], "daily_limit", 0, MAX_UNITS) if "daily_limit" in body else None
        used: dict[str, int] = {}
        if "used" in body:
            if not isinstance(body["used"], dict):
                raise InputError("used", "expected an object of API key -> units")
            for key, units in body["used"].items():
                if not key:
                    raise InputError("used", "expected non-empty API keys")
                used[key] = whole(units, f"used.{key}", 0, MAX_UNITS)
        if limit is not None:
            self.daily_limit = limit
        self._current().update(used)

    def as_json(self) -> dict[str, Any]:
        """``GET /admin/quota``: ``{"daily_limit", "used", "resets_at"}``."""
        return {
            "daily_limit": self.daily_limit,
            "used": self.used(),
            "resets_at": self.resets_at().isoformat(),
        }
