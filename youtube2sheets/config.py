"""`Settings`: the service's options, one table of them for the flags and the ``Y2S_*`` variables.

Every option has a flag (``--cache-ttl``) and an environment variable (``Y2S_CACHE_TTL``); a flag wins
over the variable, the variable over the default. The CLI checks everything, then hands the settings to
uvicorn's spawned workers through the same variables (`Settings.to_env`), so a worker reads exactly what
the parent checked (`Settings.from_env`). `OPTIONS` is the one list of them: the CLI's flags come from it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's
ENV_PREFIX = "Y2S_"


class ConfigError(ValueError):
    """A bad option value; the message is one line naming the flag or variable and what was expected."""


def _int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ValueError(f"expected {what} ({low}..{high})")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError("expected a number of seconds > 0")
    return value


def _url(text: str) -> str:
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:8001/youtube/v3")
    return text.strip().rstrip("/")


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text.strip()


def _log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return text.lower()


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("expected 1/true/yes/on or 0/false/no/off")
    return word in ("1", "true", "yes", "on")


class Option(NamedTuple):
    """One option: its `Settings` field, the parser of its text, and its help."""

    field: str
    parse: Callable[[str], Any]
    help: str

    @property
    def flag(self) -> str:
        """The command-line flag, ``--cache-ttl`` (booleans also take ``--no-...``)."""
        return "--" + self.field.replace("_", "-")

    @property
    def env(self) -> str:
        """The environment variable, ``Y2S_CACHE_TTL``."""
        return ENV_PREFIX + self.field.upper()

    @property
    def negated_env(self) -> str | None:
        """A boolean's variable for its ``--no-...`` flag (``Y2S_NO_INSTRUMENTATION=1``), else None."""
        return ENV_PREFIX + "NO_" + self.field.upper() if self.parse is _boolean else None


OPTIONS: tuple[Option, ...] = (
    Option("host", _nonempty, "address to listen on"),
    Option("port", _int_in(1, 65535, "a TCP port"), "port to listen on"),
    Option("workers", _int_in(1, 64, "a number of worker processes"), "uvicorn worker processes"),
    Option("state_dir", _nonempty, "directory for y2s.db, quota.json and metrics/ (created if missing)"),
    Option("youtube_url", _url, "base URL of the YouTube Data API v3 (the default is the simulator)"),
    Option("api_key", _nonempty, "API key sent as key=..."),
    Option("daily_quota", _int_in(1, 10**9, "a number of quota units"), "YouTube quota units a day"),
    Option("cache_ttl", _seconds, "seconds a cached video stays fresh"),
    Option("cache_size", _int_in(1, 10**7, "a number of entries"), "most videos cached per worker"),
    Option("instrumentation", _boolean, "Prometheus metrics (--no-instrumentation: off, for benchmarks)"),
    Option("log_level", _log_level, f"uvicorn's log level: {', '.join(LOG_LEVELS)}"),
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The service's settings, checked.

    Use `Settings.from_env` in a worker and `Settings.parse` wherever text comes in; construct it
    directly in tests.

    Example:
        >>> settings = Settings.from_env({"Y2S_PORT": "8080", "Y2S_INSTRUMENTATION": "0"})
        >>> settings.port, settings.instrumentation, settings.database
        (8080, False, PosixPath('state/y2s.db'))
        >>> Settings.from_env(settings.to_env()) == settings
        True
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    state_dir: Path = Path("state")
    youtube_url: str = "http://127.0.0.1:8001/youtube/v3"
    api_key: str = "dev"
    daily_quota: int = 10_000
    cache_ttl: float = 300.0
    cache_size: int = 10_000
    instrumentation: bool = True
    log_level: str = "warning"

    @property
    def database(self) -> Path:
        """The SQLite database file."""
        return self.state_dir / "y2s.db"

    @property
    def quota_ledger(self) -> Path:
        """The quota ledger every worker charges (`exporter.instrumentation.FileLedger`)."""
        return self.state_dir / "quota.json"

    @property
    def metrics_dir(self) -> Path:
        """The multiprocess metrics directory, emptied at start."""
        return self.state_dir / "metrics"

    @classmethod
    def parse(cls, texts: Mapping[str, tuple[str, str]]) -> Settings:
        """Settings from ``{field: (source, text)}``; a bad text raises `ConfigError` naming its source."""
        values: dict[str, Any] = {}
        for option in OPTIONS:
            if option.field in texts:
                source, text = texts[option.field]
                try:
                    values[option.field] = option.parse(text)
                except ValueError as exc:
                    raise ConfigError(f"{source} {text!r}: {exc}") from None
        if "state_dir" in values:
            values["state_dir"] = Path(values["state_dir"])
        return cls(**values)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the ``Y2S_*`` variables (default: ``os.environ``); defaults for the others."""
        return cls.parse(env_texts(os.environ if environ is None else environ))

    def to_env(self) -> dict[str, str]:
        """The ``Y2S_*`` variables that `from_env` turns back into these settings."""
        out = {}
        for option in OPTIONS:
            value = getattr(self, option.field)
            out[option.env] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


def env_texts(environ: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """``{field: (variable, text)}`` for the ``Y2S_*`` variables set, as `Settings.parse` takes them.

    A boolean also reads its negated variable (``Y2S_NO_INSTRUMENTATION``, for ``--no-instrumentation``)
    when the plain one is not set.

    Example:
        >>> env_texts({"Y2S_PORT": "8080", "Y2S_NO_INSTRUMENTATION": "yes", "HOME": "/root"})
        {'port': ('Y2S_PORT', '8080'), 'instrumentation': ('Y2S_NO_INSTRUMENTATION', '0')}
    """
    texts = {}
    for option in OPTIONS:
        negated = option.negated_env
        if option.env in environ:
            texts[option.field] = (option.env, environ[option.env])
        elif negated is not None and negated in environ:
            try:
                off = _boolean(environ[negated])
            except ValueError as exc:
                raise ConfigError(f"{negated} {environ[negated]!r}: {exc}") from None
            texts[option.field] = (negated, "0" if off else "1")
    return texts
