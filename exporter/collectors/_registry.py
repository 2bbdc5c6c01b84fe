"""The collector registry: ``register_collector`` fills it, the CLI, the README table and the
scraper read it, and nothing else lists collectors by hand (node_exporter's ``collector.go``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from exporter._families import Collector

__all__ = [
    "COLLECTORS",
    "Collector",
    "CollectorSpec",
    "Flag",
    "Settings",
    "markdown_table",
    "read_text",
    "register_collector",
]
from exporter.paths import Paths


@dataclass(frozen=True)
class Flag:
    """A collector option, exposed as ``--collector.<name>``.

    Args:
        name: dotted name below the collector, e.g. ``filesystem.fs-types-exclude``.
        default: value when the flag is absent; its type is the flag's type (str, float, int, bool).
        help: one line for ``--help`` and the README.
        repeatable: the flag may be given several times and yields a list.
        metavar: how ``--help`` names the value.
    """

    name: str
    default: Any
    help: str
    repeatable: bool = False
    metavar: str = "REGEX"


@dataclass(frozen=True)
class Settings:
    """What a collector is built from: the host paths and its flag values by flag name."""

    paths: Paths = field(default_factory=Paths)
    flags: Mapping[str, Any] = field(default_factory=dict)

    def flag(self, name: str, default: Any = None) -> Any:
        """The value of ``--collector.<name>``, or the flag's declared default."""
        if name in self.flags:
            return self.flags[name]
        for spec in COLLECTORS.values():
            for f in spec.flags:
                if f.name == name:
                    return f.default
        return default


class _Buildable(Protocol):
    @classmethod
    def from_settings(cls, settings: Settings) -> Collector: ...


@dataclass(frozen=True)
class CollectorSpec:
    """One registered collector."""

    name: str
    factory: Callable[[Settings], Collector]
    default_enabled: bool
    help: str
    flags: tuple[Flag, ...]


COLLECTORS: dict[str, CollectorSpec] = {}

_T = TypeVar("_T", bound=_Buildable)


def register_collector(
    name: str, *, default_enabled: bool = True, help: str, flags: Iterable[Flag] = ()
) -> Callable[[type[_T]], type[_T]]:
    """Register a collector class under ``name`` (class decorator).

    The class needs a ``from_settings(settings)`` classmethod; its constructor should take its data
    sources as keyword arguments so that tests can pass fakes.

    Example:
        >>> @register_collector("example", default_enabled=False, help="An example.")
        ... class Example:
        ...     @classmethod
        ...     def from_settings(cls, settings: Settings) -> "Example":
        ...         return cls()
        ...     def collect(self):
        ...         return []
        >>> "example" in COLLECTORS
        True
        >>> del COLLECTORS["example"]
    """

    def decorate(cls: type[_T]) -> type[_T]:
        if name in COLLECTORS:
            raise ValueError(f"collector {name!r} registered twice")
        COLLECTORS[name] = CollectorSpec(name, cls.from_settings, default_enabled, help, tuple(flags))
        return cls

    return decorate


def read_text(path: str) -> str:
    """Read a small procfs/sysfs file whole, with raw ``os.read`` calls (no buffered text layer).

    procfs files are generated on each read and may come in pieces, so it reads until end of file.
    Raises ``OSError`` like ``open`` does.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunk = os.read(fd, 65536)
        if len(chunk) < 65536:
            rest = os.read(fd, 65536) if chunk else b""
            if not rest:
                return chunk.decode("utf-8", "replace")
            chunks = [chunk, rest]
        else:
            chunks = [chunk]
        while block := os.read(fd, 65536):
            chunks.append(block)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(fd)


def markdown_table() -> str:
    """The README's collector table: name, default state, what it exports, its flags.

    ``python -m exporter.collectors`` prints it; ``scripts/generate`` writes it into the README and a
    test fails when the README's copy is stale, so the table never lists collectors by hand.
    """
    rows = ["| collector | default | exports | options |", "|---|---|---|---|"]
    for spec in sorted(COLLECTORS.values(), key=lambda s: s.name):
        options = "<br>".join(f"`--collector.{f.name}`: {f.help}" for f in spec.flags) or "—"
        state = "enabled" if spec.default_enabled else "disabled"
        rows.append(f"| `{spec.name}` | {state} | {spec.help} | {options} |")
    return "\n".join(rows) + "\n"
