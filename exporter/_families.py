"""Metric families as collectors yield them, and their fast rendering to both exposition formats.

A scrape of the host exporter builds a few hundred samples; formatting them is the hot path. This
module keeps it cheap: a sample is a tuple, label sets render once and are cached by value (host
label values such as ``cpu="0",mode="idle"`` repeat on every scrape), and both the Prometheus text
format 0.0.4 and OpenMetrics 1.0.0 are written straight from the tuples.

``Family.to_metric`` turns a family into a ``prometheus_client`` metric, so the same collectors can
be registered in any ``CollectorRegistry`` and read back with ``registry.get_sample_value``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from prometheus_client.metrics_core import Metric

Kind = Literal["counter", "gauge", "info"]

_LABEL_CACHE_MAX = 50_000
_label_cache: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}


class Collector(Protocol):
    """Anything that yields fresh metric families when called at scrape time."""

    def collect(self) -> Iterable[Family]: ...


def _escape_label_value(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def label_block(labelnames: tuple[str, ...], labelvalues: tuple[str, ...]) -> str:
    """Render ``{a="1",b="2"}`` for a label set, cached by value (bounded)."""
    key = (labelnames, labelvalues)
    block = _label_cache.get(key)
    if block is None:
        if not labelnames:
            block = ""
        else:
            inner = ",".join(
                f'{n}="{_escape_label_value(v)}"' for n, v in zip(labelnames, labelvalues, strict=True)
            )
            block = "{" + inner + "}"
        if len(_label_cache) >= _LABEL_CACHE_MAX:
            _label_cache.clear()
        _label_cache[key] = block
    return block


def format_value(value: float) -> str:
    """Format a sample value the way Prometheus parses it (``+Inf``, ``-Inf``, ``NaN``)."""
    if type(value) is int:
        return str(value)
    if value.is_integer():  # False for NaN and the infinities
        return str(int(value)) if -1e15 < value < 1e15 else repr(value)
    if math.isfinite(value):
        return repr(value)
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


class Family:
    """One metric family with its samples, built fresh on every scrape.

    Use it in a collector's ``collect()``: create the family, ``add`` one sample per label set,
    yield it. Counter names end in ``_total`` and info names in ``_info``, exactly as exposed in the
    text format.

    Args:
        name: full sample name, e.g. ``node_cpu_seconds_total``.
        kind: ``counter``, ``gauge`` or ``info``.
        help: one-line description.
        labelnames: names of the labels, in the order ``add`` gets their values.

    Example:
        >>> fam = Family("node_load1", "gauge", "1m load average.")
        >>> fam.add((), 0.25)
        >>> render_text([fam])
        '# HELP node_load1 1m load average.\\n# TYPE node_load1 gauge\\nnode_load1 0.25\\n'
    """

    __slots__ = ("help", "kind", "labelnames", "name", "samples")

    def __init__(self, name: str, kind: Kind, help: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.kind: Kind = kind
        self.help = help
        self.labelnames = tuple(labelnames)
        self.samples: list[tuple[tuple[str, ...], float]] = []

    def add(self, labelvalues: Sequence[str], value: float) -> None:
        """Append one sample; ``labelvalues`` follow ``labelnames``."""
        self.samples.append((tuple(labelvalues), value))

    def __repr__(self) -> str:
        return f"Family({self.name!r}, {self.kind!r}, samples={len(self.samples)})"

    def to_metric(self) -> Metric:
        """Convert to a ``prometheus_client`` metric (for registries and tests)."""
        base = self.base_name
        metric = Metric(base, self.help, self.kind)
        for values, value in self.samples:
            metric.add_sample(self.name, dict(zip(self.labelnames, values, strict=True)), value)
        return metric

    @property
    def base_name(self) -> str:
        """The OpenMetrics family name: without ``_total`` for counters, ``_info`` for infos."""
        if self.kind == "counter" and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        if self.kind == "info" and self.name.endswith("_info"):
            return self.name[: -len("_info")]
        return self.name

    @classmethod
    def from_metric(cls, metric: Metric) -> Family | None:
        """Convert a ``prometheus_client`` counter, gauge or info metric; ``None`` for other types."""
        kind: Kind
        name = metric.name
        if metric.type == "counter":
            kind, name = "counter", name + "_total"
        elif metric.type == "info":
            kind, name = "info", name + "_info"
        elif metric.type == "gauge":
            kind = "gauge"
        else:
            return None
        labelnames: tuple[str, ...] = ()
        fam = cls(name, kind, metric.documentation)
        for sample in metric.samples:
            if sample.name != name:  # e.g. ``_created``
                continue
            if not labelnames and sample.labels:
                labelnames = tuple(sample.labels)
                fam.labelnames = labelnames
            fam.add(tuple(sample.labels[n] for n in labelnames), sample.value)
        return fam


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if openmetrics else text


_header_cache: dict[tuple[str, str, str, bool], str] = {}


def _header(fam: Family, openmetrics: bool) -> str:
    """The ``# HELP``/``# TYPE`` lines of a family, cached: they are the same on every scrape."""
    key = (fam.name, fam.kind, fam.help, openmetrics)
    header = _header_cache.get(key)
    if header is None:
        if openmetrics:
            name, kind = fam.base_name, fam.kind
        else:
            name, kind = fam.name, "gauge" if fam.kind == "info" else fam.kind
        header = f"# HELP {name} {_escape_help(fam.help, openmetrics)}\n# TYPE {name} {kind}\n"
        if len(_header_cache) >= _LABEL_CACHE_MAX:
            _header_cache.clear()
        _header_cache[key] = header
    return header


def render_text(families: Iterable[Family]) -> str:
    """Render families in the Prometheus text format 0.0.4."""
    out: list[str] = []
    append = out.append
    for fam in families:
        if not fam.samples:
            continue
        append(_header(fam, False))
        name = fam.name
        names = fam.labelnames
        for values, value in fam.samples:
            append(f"{name}{label_block(names, values)} {format_value(value)}\n")
    return "".join(out)


def render_openmetrics(families: Iterable[Family]) -> str:
    """Render families in OpenMetrics 1.0.0, ending with ``# EOF``."""
    out: list[str] = []
    append = out.append
    for fam in families:
        if not fam.samples:
            continue
        append(_header(fam, True))
        name = fam.name
        names = fam.labelnames
        for values, value in fam.samples:
            append(f"{name}{label_block(names, values)} {format_value(value)}\n")
    append("# EOF\n")
    return "".join(out)
