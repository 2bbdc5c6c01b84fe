"""Daily API quota accounting, shared by every process that uses the same API key.

The YouTube Data API v3 gives a project 10,000 units a day, charges each request by method
(``search.list`` costs 100, most ``*.list`` calls 1), charges failed requests too, and resets at
midnight Pacific Time (DST-aware: the day is 23 hours long in March and 25 in November).
`QuotaTracker` checks and charges each request before it is sent, so a service stops at its limit
instead of collecting 403 ``quotaExceeded`` errors for the rest of the day.

A quota belongs to the API key, not to the process: every worker that uses the key must charge the
same ledger. `MemoryLedger` serves one process; `FileLedger` serves all processes on one host.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
import re
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import NamedTuple, Protocol

from exporter.instrumentation._core import OTHER, Counter, GaugeChild
from exporter.instrumentation._errors import QuotaExhausted, QuotaLedgerError
from exporter.instrumentation._metricset import DEFAULT_METRICS, MetricSet

YOUTUBE_COSTS: Mapping[str, int] = MappingProxyType(
    {"search.list": 100, "videos.list": 1, "channels.list": 1, "playlistItems.list": 1}
)
"""YouTube Data API v3 quota costs, in units, of the methods YouTube2Sheets calls."""
_ISO_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


def _apply(stored: tuple[str | None, int], day: str, units: int, limit: int | None) -> tuple[bool, str, int]:
    """The ledger rule: ``(granted, day, used)`` after adding ``units`` for ``day`` to ``stored``.

    A later day starts from 0. A charge dated before the stored day (a process whose clock lags at
    midnight) counts against the stored day, so that skewed clocks cannot reset the quota twice; a
    refund (negative ``units``) for a day that is over changes nothing. Usage never goes below 0.
    """
    stored_day, used = stored
    if stored_day is None or day > stored_day:
        stored_day, used = day, 0
    elif day < stored_day and units < 0:
        return True, stored_day, used
    if units > 0 and limit is not None and used + units > limit:
        return False, stored_day, used
    return True, stored_day, max(0, used + units)


class Ledger(Protocol):
    """Where a quota's units are kept; ``update`` must be atomic across everyone sharing it.

    ``update(day, units, limit)`` adds ``units`` (negative for a refund) for ``day`` (an ISO date)
    unless that passes ``limit``, and returns whether it did and the units used afterwards (before,
    when refused); ``used(day)`` is the units used on ``day``, 0 for a day with no charges yet.
    """

    def update(self, day: str, units: int, limit: int | None) -> tuple[bool, int]: ...

    def used(self, day: str) -> int: ...


class MemoryLedger:
    """A ledger in this process's memory: for one process, or for tests.

    Example:
        >>> ledger = MemoryLedger()
        >>> ledger.update("2026-03-08", 100, limit=150), ledger.update("2026-03-08", 100, limit=150)
        ((True, 100), (False, 100))
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stored: tuple[str | None, int] = (None, 0)

    def update(self, day: str, units: int, limit: int | None) -> tuple[bool, int]:
        """See `Ledger.update`."""
        with self._lock:
            granted, stored_day, used = _apply(self._stored, day, units, limit)
            self._stored = (stored_day, used)
            return granted, used

    def used(self, day: str) -> int:
        """See `Ledger.used`."""
        stored_day, used = self._stored
        return used if stored_day is not None and stored_day >= day else 0


class FileLedger:
    """A ledger in one small file that every process on the host locks (``flock``) to update.

    The file holds one JSON line, ``{"date": "2026-03-08", "used": 1234}``, padded to a fixed width so
    that each update is one ``pwrite`` of the whole file (a crash cannot leave half a record). The
    file is created on first use; a corrupt one raises `QuotaLedgerError` naming it. Use one file per
    API key. ``flock`` is not reliable on NFS: keep the file on a local disk.

    Args:
        path: the file; its directory must exist.

    Example:
        >>> import tempfile, pathlib
        >>> ledger = FileLedger(pathlib.Path(tempfile.mkdtemp()) / "youtube-quota.json")
        >>> ledger.update("2026-03-08", 100, limit=None), ledger.used("2026-03-08"), ledger.used("2026-03-09")
        ((True, 100), 100, 0)
    """

    WIDTH = 64  # bytes, newline included: room for any date and a 20-digit count

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"quota ledger {self.path}: the directory {directory} does not exist")

    @contextmanager
    def _locked(self, mode: int) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield fd
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _read(self, fd: int) -> tuple[str | None, int]:
        data = os.pread(fd, 4 * self.WIDTH, 0)
        if not data.strip():  # new (or emptied) file: nothing used yet
            return None, 0
        try:
            record = json.loads(data)
        except ValueError:  # UnicodeDecodeError is a ValueError too
            raise QuotaLedgerError(self.path, f"not a JSON record: {data[:40]!r}") from None
        if not (isinstance(record, dict) and set(record) == {"date", "used"}):
            raise QuotaLedgerError(self.path, f"expected the keys date and used, got {record!r:.60}")
        day, used = record["date"], record["used"]
        if not (isinstance(day, str) and _ISO_DATE.fullmatch(day) and type(used) is int and used >= 0):
            raise QuotaLedgerError(
                self.path, f"expected a YYYY-MM-DD date and a count >= 0, got {record!r:.60}"
            )
        return day, used

    def _write(self, fd: int, day: str, used: int) -> None:
        line = json.dumps({"date": day, "used": used}).ljust(self.WIDTH - 1) + "\n"
        data = line.encode("ascii")
        os.pwrite(fd, data, 0)
        if os.fstat(fd).st_size != len(data):
            os.ftruncate(fd, len(data))

    def update(self, day: str, units: int, limit: int | None) -> tuple[bool, int]:
        """See `Ledger.update`: a locked read-modify-write of the file."""
        with self._locked(fcntl.LOCK_EX) as fd:
            stored = self._read(fd)
            granted, stored_day, used = _apply(stored, day, units, limit)
            if (stored_day, used) != stored:
                self._write(fd, stored_day, used)
            return granted, used

    def used(self, day: str) -> int:
        """See `Ledger.used`."""
        with self._locked(fcntl.LOCK_SH) as fd:
            stored_day, used = self._read(fd)
        return used if stored_day is not None and stored_day >= day else 0


class QuotaCharge(NamedTuple):
    """What `QuotaTracker.charge` took: pass it to `QuotaTracker.refund` if the request is not sent."""

    method: str
    cost: int
    day: dt.date
    used: int  # units used today after this charge


class QuotaTracker:
    """Charges each API request against a daily quota that resets at midnight in ``tz``.

    Charge before sending, every attempt (the API charges failed requests and retries too). Refund
    only a request that was never sent: the rate limiter timed out, the process is stopping.

    Args:
        api: the API's name, the ``api`` label.
        daily_limit: units a day (YouTube's default is 10,000).
        costs: units per method; the methods named here are the ``method`` label's values.
        default_cost: units for a method not in ``costs`` (its label is ``other``).
        tz: the IANA time zone whose midnight resets the quota.
        clock: the Unix time; tests pass fixed values.
        ledger: where the units are kept; a new `MemoryLedger` by default, a `FileLedger` to share.
        metrics: where ``api_quota_*`` go.

    Example:
        >>> quota = QuotaTracker(daily_limit=150, clock=lambda: 1772956800.0, metrics=MetricSet())
        >>> quota.charge("search.list").cost, quota.remaining(), quota.resets_at().isoformat()
        (100, 50, '2026-03-09T00:00:00-07:00')
    """

    def __init__(
        self,
        api: str = "youtube",
        *,
        daily_limit: int = 10_000,
        costs: Mapping[str, int] = YOUTUBE_COSTS,
        default_cost: int = 1,
        tz: str = "America/Los_Angeles",
        clock: Callable[[], float] = time.time,
        ledger: Ledger | None = None,
        metrics: MetricSet = DEFAULT_METRICS,
    ) -> None:
        if not api:
            raise ValueError("api must be a non-empty name such as 'youtube'")
        if type(daily_limit) is not int or daily_limit < 1:
            raise ValueError(f"daily_limit must be a whole number of units >= 1, got {daily_limit!r}")
        for method, cost in {**costs, "default_cost": default_cost}.items():
            if type(cost) is not int or cost < 0:
                raise ValueError(f"the cost of {method} must be a whole number of units >= 0, got {cost!r}")
        try:
            self.zone = zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}; expected an IANA name like 'Europe/Paris'") from None
        self.api, self.daily_limit, self.default_cost = api, daily_limit, default_cost
        self.costs, self.clock = dict(costs), clock
        self.ledger: Ledger = MemoryLedger() if ledger is None else ledger

        def counter(name: str, documentation: str) -> Counter:
            return metrics.counter(name, documentation, ["api", "method"], guarded=["method"])

        def gauge(name: str, documentation: str) -> GaugeChild:
            return metrics.gauge(name, documentation, ["api"], multiprocess_mode="mostrecent").labels(api)

        self._charges = counter("api_quota_charges_total", "Quota charges asked for, refused or not.")
        self._exhausted = counter("api_quota_exhausted_total", "Requests refused: they would pass the quota.")
        self._units = counter("api_quota_units_used_total", "Quota units charged.")
        self._refunded = counter("api_quota_units_refunded_total", "Quota units given back (not sent).")
        gauge("api_quota_limit_units", "Daily quota in units.").set(daily_limit)
        gauge("api_quota_remaining_units", "Quota units left today.").set_function(self._remaining_or_nan)
        gauge("api_quota_reset_timestamp_seconds", "Next quota reset, Unix time.").set_function(
            lambda: self.resets_at().timestamp()
        )

    def cost(self, method: str) -> int:
        """The units ``method`` costs."""
        return self.costs.get(method, self.default_cost)

    def method_label(self, method: str) -> str:
        """``method`` if the cost table names it, else ``other``: the ``method`` label stays bounded."""
        return method if method in self.costs else OTHER

    def today(self) -> dt.date:
        """The quota's current day, in ``tz``."""
        return dt.datetime.fromtimestamp(self.clock(), tz=self.zone).date()

    def resets_at(self, day: dt.date | None = None) -> dt.datetime:
        """The next reset (midnight in ``tz`` after ``day``, default today), as an aware datetime."""
        day = self.today() if day is None else day
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone)

    def used(self) -> int:
        """The units used today, by every process sharing the ledger."""
        return self.ledger.used(self.today().isoformat())

    def remaining(self) -> int:
        """The units left today."""
        return max(0, self.daily_limit - self.used())

    def _remaining_or_nan(self) -> float:
        try:
            return float(self.remaining())
        except (OSError, QuotaLedgerError):  # the gauge reads a file at scrape time: never fail the scrape
            return math.nan

    def charge(self, method: str) -> QuotaCharge:
        """Take ``method``'s cost, or raise `QuotaExhausted`: reaching the limit is fine, passing it not."""
        cost, label, day = self.cost(method), self.method_label(method), self.today()
        self._charges.labels(self.api, label).inc()
        granted, used = self.ledger.update(day.isoformat(), cost, self.daily_limit)
        if not granted:
            self._exhausted.labels(self.api, label).inc()
            limit, reset = self.daily_limit, self.resets_at(day)
            raise QuotaExhausted(self.api, method, cost=cost, used=used, limit=limit, resets_at=reset)
        if cost:
            self._units.labels(self.api, label).inc(cost)
        return QuotaCharge(method, cost, day, used)

    def refund(self, charge: QuotaCharge | str) -> None:
        """Give back a charge whose request was never sent (a `QuotaCharge`, or a method charged today).

        A refund for a day that is over does nothing: that day's quota is gone either way.
        """
        if isinstance(charge, str):
            charge = QuotaCharge(charge, self.cost(charge), self.today(), 0)
        if charge.cost and charge.day >= self.today():
            self.ledger.update(charge.day.isoformat(), -charge.cost, None)
            self._refunded.labels(self.api, self.method_label(charge.method)).inc(charge.cost)

    def exhaust(self) -> None:
        """Count today's quota as spent because the API said so (YouTube's ``403 quotaExceeded``).

        Use it when the upstream's accounting is ahead of ours (another client shares the API key):
        every later `charge` today raises `QuotaExhausted` without sending, and
        ``api_quota_remaining_units`` shows 0. ``api_quota_units_used_total`` is left alone: it counts
        what this client sent.
        """
        day = self.today().isoformat()
        left = self.daily_limit - self.ledger.used(day)
        if left > 0:
            self.ledger.update(day, left, self.daily_limit)
