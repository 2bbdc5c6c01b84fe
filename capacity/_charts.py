"""PNG charts for the capacity report: request rate against capacity, utilisation per resource.

Pure: plain numbers in, PNG bytes out, no file I/O (the caller writes them next to the report).
Times are unix seconds and are plotted as UTC dates; utilisations are ratios 0..1 drawn in percent.
Matplotlib is imported inside the functions (it is heavy) and drawn without pyplot, as in
`loadtests.results.chart`. The same input gives the same bytes: the PNG carries no timestamp, and the
``Software`` text (matplotlib's version) is left out.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

__all__ = ["MAX_COLOURED", "requests_chart", "utilisation_chart"]

MAX_COLOURED = 8  # more instances than this: all grey and thin, only the busiest (highest p95) in colour
DAY = 86400.0
# tab10 without red (the capacity and target lines are red) and grey (the other instances are grey)
_PALETTE = (
    *("tab:blue", "tab:orange", "tab:green", "tab:purple"),
    *("tab:brown", "tab:pink", "tab:olive", "tab:cyan"),
)


def _pct(ratio: float) -> str:
    """``0.7`` -> ``'70 %'``, ``0.8234`` -> ``'82.3 %'``; no finite value -> ``'no data'``."""
    return f"{ratio * 100:.3g} %" if math.isfinite(ratio) else "no data"


def _day(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")


def _xy(points: Sequence[tuple[float, float]]) -> tuple[NDArray[np.datetime64], NDArray[np.float64]]:
    """Times as UTC ``datetime64`` (matplotlib plots them as dates) and the values, as arrays."""
    data = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return _datetime64(data[:, 0]), data[:, 1]


def _datetime64(seconds: NDArray[np.float64]) -> NDArray[np.datetime64]:
    return np.round(seconds * 1000).astype("datetime64[ms]")


def _finite_max(values: NDArray[np.float64], default: float = 0.0) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else default


def _p95(values: NDArray[np.float64]) -> float:
    """95th percentile of the finite values (numpy's linear interpolation, as `capacity.utilisation`)."""
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, 95)) if finite.size else -math.inf


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates  # noqa: PLC0415

    # matplotlib.dates has no type annotations
    locator = mdates.AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    ax.set_xlabel("date (UTC)")


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def requests_chart(
    observed: Sequence[tuple[float, float]],
    trend: Sequence[tuple[float, float]],
    *,
    level_rps: float,
    total_rps: float,
    reaches: float | None,
    title: str,
) -> bytes:
    """The request rate over the window and its trend to the horizon, against capacity, as a PNG.

    Capacity is a solid red line, the planning level a dashed orange one. When the trend reaches the
    level inside the plotted range, a dotted vertical marker says when ("reaches 80 % on 2026-12-20");
    outside it, or never, the legend says so. The y axis stops a little above capacity: a trend that
    runs far past it leaves the chart rather than flattening the observed data.

    Args:
        observed: ``(unix seconds, req/s)`` over the window, oldest first; at least one point.
        trend: ``(unix seconds, req/s)`` of the fitted trend from the window's start to the forecast
            horizon; empty when there is no trend (one sample).
        level_rps: the planning level, 80 % of the total capacity.
        total_rps: the total capacity.
        reaches: when the trend reaches ``level_rps`` (unix seconds), None if it never does.
        title: the chart's title.

    Raises:
        ValueError: ``observed`` is empty.

    Example:
        >>> day = 86400.0
        >>> png = requests_chart([(0.0, 100.0), (day, 150.0)], [(0.0, 100.0), (3 * day, 250.0)],
        ...                      level_rps=400.0, total_rps=500.0, reaches=None, title="req/s")
        >>> png[1:4]
        b'PNG'
    """
    from matplotlib.figure import Figure  # noqa: PLC0415  (heavy: only when a chart is drawn)

    if not observed:
        raise ValueError("requests_chart: no observed request rates to plot")
    fig = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    ax = fig.subplots()
    x, y = _xy(observed)
    ax.plot(x, y, color="tab:blue", linewidth=1.2, marker="o" if len(x) == 1 else None, label="observed")
    if trend:
        tx, ty = _xy(trend)
        ax.plot(tx, ty, color="tab:purple", linestyle="-.", linewidth=1.5,
                marker="o" if len(tx) == 1 else None, label="trend")  # fmt: skip
    share = _pct(level_rps / total_rps) if total_rps > 0 else "the level"
    ax.axhline(total_rps, color="tab:red", linewidth=1.5, label=f"capacity {total_rps:.6g} req/s")
    ax.axhline(level_rps, color="tab:orange", linestyle="--", linewidth=1.5,
               label=f"{share} of capacity {level_rps:.6g} req/s")  # fmt: skip
    times = [t for t, _ in observed] + [t for t, _ in trend]
    low, high = min(times), max(times)
    if reaches is None:
        ax.plot([], [], " ", label=f"never reaches {share} on this trend")
    else:
        text = f"reaches {share} on {_day(reaches)}"
        if low <= reaches <= high:
            when = _datetime64(np.array([reaches]))[0]
            ax.axvline(when, color="tab:orange", linestyle=":", linewidth=1.5, label=text)
            right = reaches > low + 0.7 * (high - low)  # keep the text inside the axes
            ax.annotate(text, (when, 1), xycoords=("data", "axes fraction"), xytext=(-4 if right else 4, -4),
                        textcoords="offset points", ha="right" if right else "left", va="top",
                        fontsize=8, color="tab:orange")  # fmt: skip
        else:
            ax.plot([], [], " ", label=f"{text} (outside the chart)")
    ax.set_ylim(0, 1.15 * max(total_rps, level_rps, _finite_max(y)) or 1.0)
    ax.set_ylabel("req/s")
    ax.grid(alpha=0.3)
    _date_axis(ax)
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)  # never over the lines
    return _png(fig)


def _utilisation_axes(
    ax: Axes, resource: str, instances: Mapping[str, Sequence[tuple[float, float]]], target: float | None
) -> None:
    """One resource: a line per instance; beyond `MAX_COLOURED`, grey lines and the busiest in colour."""
    lines = {name: _xy(points) for name, points in sorted(instances.items()) if points}
    peak = max((_finite_max(y) for _, y in lines.values()), default=0.0)
    if not lines:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.5")
    p95 = {name: _p95(y) for name, (_, y) in lines.items()}
    if len(lines) > MAX_COLOURED:
        busiest = max(p95, key=lambda name: p95[name])
        for name, (x, y) in lines.items():
            if name != busiest:
                ax.plot(x, y, color="0.65", linewidth=0.6)
        ax.plot([], [], color="0.65", linewidth=0.6, label=f"{len(lines) - 1} other instances")
        x, y = lines[busiest]
        label = f"busiest: {busiest} (p95 {_pct(p95[busiest])})"
        ax.plot(x, y, color=_PALETTE[0], linewidth=1.6, label=label)
    else:
        for colour, (name, (x, y)) in zip(_PALETTE, lines.items(), strict=False):
            label = f"{name} (p95 {_pct(p95[name])})"
            ax.plot(x, y, color=colour, linewidth=1.2, marker="o" if len(x) == 1 else None, label=label)
    if target is not None:
        ax.axhline(target, color="tab:red", linestyle="--", linewidth=1.2)
        ax.annotate(f"target {_pct(target)}", (1, target), xycoords=("axes fraction", "data"),
                    ha="right", va="bottom", fontsize=8, color="tab:red",
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})  # fmt: skip
    ax.set_ylim(0, 1.0 if peak <= 1.0 else 1.05 * peak)
    ax.set_ylabel(resource)
    ax.grid(alpha=0.3)
    if lines:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def utilisation_chart(
    series: Mapping[str, Mapping[str, Sequence[tuple[float, float]]]],
    targets: Mapping[str, float],
    *,
    title: str,
) -> bytes:
    """Utilisation per resource and instance over the window, one subplot per resource, as a PNG.

    Subplots share the date axis and read 0..100 % (higher when a value exceeds 100 %); each resource
    with a target has it as a dashed red line labelled "target 70 %". Up to `MAX_COLOURED` instances get
    a colour each; more are drawn thin and grey with only the busiest (highest p95) in colour, so that
    ten or more stay readable. The legend gives each coloured instance's p95.

    Args:
        series: resource (``cpu``, ``memory``, ``disk``, ``network``) -> instance label ->
            ``(unix seconds, ratio 0..1)`` points, oldest first; subplots follow its order.
        targets: resource -> target ratio; a resource without one has no target line.
        title: the chart's title.

    Raises:
        ValueError: ``series`` is empty, or holds no point at all.

    Example:
        >>> points = [(0.0, 0.35), (3600.0, 0.5), (7200.0, 0.45)]
        >>> png = utilisation_chart({"cpu": {"host-1": points}}, {"cpu": 0.7}, title="cpu")
        >>> png[1:4]
        b'PNG'
    """
    from matplotlib.figure import Figure  # noqa: PLC0415  (heavy: only when a chart is drawn)
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415

    if not series:
        raise ValueError("utilisation_chart: no resources to plot")
    if not any(points for instances in series.values() for points in instances.values()):
        raise ValueError("utilisation_chart: no utilisation samples to plot")
    fig = Figure(figsize=(10, 1.0 + 2.4 * len(series)), dpi=100, layout="constrained")
    axes = fig.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (resource, instances) in zip(axes, series.items(), strict=True):
        _utilisation_axes(ax, resource, instances, targets.get(resource))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    _date_axis(axes[-1])
    fig.suptitle(title)
    return _png(fig)
