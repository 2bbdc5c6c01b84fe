"""A small client of the Prometheus HTTP API (``/api/v1/query`` and ``/api/v1/query_range``).

Every failure becomes a `CapacityError` whose message is the one line the command prints.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class CapacityError(Exception):
    """Bad input or an unusable answer; ``str(error)`` is the one line printed on stderr."""


@dataclass(frozen=True)
class Series:
    """One labelled series: ``points`` are ``(unix seconds, value)`` pairs, oldest first."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def times(self) -> list[float]:
        """The sample timestamps."""
        return [t for t, _ in self.points]

    @property
    def values(self) -> list[float]:
        """The sample values."""
        return [v for _, v in self.points]


class Prometheus:
    """Instant and range queries against one Prometheus server.

    Args:
        url: the server's base URL, such as ``http://127.0.0.1:9090``.
        timeout: seconds to wait for each answer.

    Example:
        >>> prom = Prometheus("http://127.0.0.1:9090")
        >>> prom.url
        'http://127.0.0.1:9090'
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise CapacityError(f"capacity: --prometheus {url!r}: expected an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, str]) -> Any:
        address = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(address, timeout=self.timeout) as resp:  # noqa: S310 (checked scheme)
                body = resp.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                reason = json.loads(body)["error"]
            except (ValueError, KeyError, TypeError):
                reason = f"HTTP {exc.code}"
            raise CapacityError(f"capacity: Prometheus rejected query {params['query']}: {reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CapacityError(f"capacity: cannot reach Prometheus at {self.url}: {reason}") from exc
        try:
            doc = json.loads(body)
            if doc["status"] != "success":
                raise CapacityError(
                    f"capacity: Prometheus rejected query {params['query']}: {doc.get('error')}"
                )
            return doc["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CapacityError(f"capacity: {self.url} did not answer like the Prometheus API") from exc

    def query(self, expr: str, at: float) -> list[tuple[dict[str, str], float]]:
        """An instant vector at ``at`` (unix seconds) as ``(labels, value)`` pairs."""
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        if data.get("resultType") != "vector":
            raise CapacityError(f"capacity: query {expr} did not return an instant vector")
        return [(dict(r["metric"]), float(r["value"][1])) for r in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """A range query, one `Series` per label set (NaN samples dropped)."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        out = []
        for r in data["result"]:
            points = tuple((float(t), float(v)) for t, v in r["values"] if v.lower() != "nan")
            if points:
                out.append(Series(dict(r["metric"]), points))
        return out

    def require_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """`query_range`, failing with one line when the window holds no data for ``expr``."""
        found = self.query_range(expr, start, end, step)
        if not found:
            raise CapacityError(f"capacity: query {expr} returned no data for the window")
        return found
