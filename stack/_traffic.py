"""Light, bounded traffic for the self-test and the drill: every kind of request the service serves."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


def _request(
    method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30.0
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_json(url: str) -> Any:
    status, body = _request("GET", url)
    if status != 200:
        raise RuntimeError(f"GET {url}: status {status}")
    return json.loads(body)


@dataclass
class Traffic:
    """Requests to the service until stopped (or ``seconds`` pass), ``rate`` per second at most."""

    service: str
    simulator: str
    rate: float = 10.0
    seconds: float = 600.0
    statuses: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def channel(self) -> str:
        """The simulator's smallest channel with at least 12 videos: syncs stay quick."""
        channels = get_json(f"{self.simulator}/admin/channels")["channels"]
        fit = sorted((c for c in channels if c["videos"] >= 12), key=lambda c: c["videos"])
        return str(fit[0]["id"])

    def once(self) -> None:
        """One of everything: a sync, rows, CSV, cached and uncached videos, a 404."""
        self._count(
            _request("POST", f"{self.service}/api/sync", {"channel_id": self.channel(), "sheet": "selftest"})
        )
        status, body = _request("GET", f"{self.service}/api/sheets/selftest/rows?per_page=50")
        self._count((status, body))
        ids = [row["video_id"] for row in json.loads(body)["rows"]] if status == 200 else []
        for video in ids[:5] * 2:
            self._count(_request("GET", f"{self.service}/api/videos/{video}"))
        self._count(_request("GET", f"{self.service}/api/sheets/selftest.csv"))
        self._count(_request("GET", f"{self.service}/api/sheets/no-such-sheet/rows"))

    def _count(self, result: tuple[int, bytes]) -> None:
        self.statuses[result[0]] = self.statuses.get(result[0], 0) + 1

    def _loop(self) -> None:
        end = time.monotonic() + self.seconds
        channel = self.channel()
        ids: list[str] = []
        n = 0
        while not self._stop.is_set() and time.monotonic() < end:
            n += 1
            if n % 10 == 1:  # a sync every 10 requests: it reaches YouTube (the simulator) every time
                self._count(
                    _request("POST", f"{self.service}/api/sync", {"channel_id": channel, "sheet": "drill"})
                )
            elif not ids or n % 10 == 2:
                status, body = _request("GET", f"{self.service}/api/sheets/drill/rows?per_page=50")
                self._count((status, body))
                if status == 200:
                    ids = [row["video_id"] for row in json.loads(body)["rows"]]
            else:
                self._count(_request("GET", f"{self.service}/api/videos/{random.choice(ids)}"))
            self._stop.wait(1.0 / self.rate)

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._loop, name="traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
