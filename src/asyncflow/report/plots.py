"""Charts of one run, each drawn on an Axes the caller owns.

Every function takes a :class:`~asyncflow.results.Results` and a matplotlib
``Axes``, draws on it and returns it. None of them touches ``pyplot``, so they
leave no global state behind and work in any figure (see
:mod:`asyncflow.report.dashboard` for a whole page).

Charts over time shade each fault window of the run (one span per window,
tagged with the artist gid ``"fault-window"``) and label it with its
``event_id``. Bins are drawn as steps covering ``[t, t + bin_s)``. Levels are
drawn as the time-weighted mean of each bin (solid) and the maximum in each
bin (light), and a level the scenario caps has its limit drawn as a dashed
line (gid ``"limit"``) labelled with the scenario field (``cpu_cores 2``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from asyncflow.report.axes import (
    FAULT_GID,
    LIMIT_GID,
    WARM_UP_GID,
    draw_limit,
    finish_time_axes,
    plain_log_axis,
    shade_windows,
    steps,
    write_empty,
)
from asyncflow.report.labels import metric_unit, metric_words
from asyncflow.report.limits import node_limits
from asyncflow.report.safe import mpl_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from asyncflow.results import Results

__all__ = [
    "FAULT_GID",
    "LIMIT_GID",
    "OVERFLOW_GID",
    "WARM_UP_GID",
    "draw_levels",
    "level_ylabel",
    "plot_connections",
    "plot_latency_distribution",
    "plot_latency_percentiles",
    "plot_server_cores",
    "plot_server_queues",
    "plot_server_ram",
    "plot_throughput",
    "shade_fault_windows",
    "shade_windows",
]

_PERCENTILE_COLORS = {50: "#1f77b4", 90: "#17becf", 95: "#ff7f0e", 99: "#d62728"}
_REASON_COLORS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_LEVEL_COLORS = ("#1f77b4", "#9467bd", "#2ca02c", "#ff7f0e", "#d62728", "#17becf", "#8c564b")
_MS_PER_S = 1000.0
_OVERFLOW_PCT = 99.9

OVERFLOW_GID = "overflow-note"
"""Artist gid of the legend entry counting latencies beyond the histogram's range."""
_BODY_SHARE = 0.1


def plot_latency_distribution(results: Results, ax: Axes, *, bins: int = 60) -> Axes:
    """Draw a histogram of request latencies with p50/p95/p99 markers.

    Uses :meth:`Results.latencies` (completed requests generated after
    warm-up), in milliseconds. When the slowest requests lie far beyond the
    rest, the x axis stops at the p99.9 and a note in the corner gives how
    many requests lie beyond it and the maximum. When most requests would
    still fall in the first few bins (a heavy tail), the bins are spaced
    logarithmically on a log axis with plain millisecond ticks, so the body
    of the distribution keeps its shape.

    Args:
        results: The run to draw.
        ax: Where to draw.
        bins: Number of histogram bins.

    Returns:
        ``ax``.
    """
    latencies_ms = np.asarray(results.latencies(), dtype=float) * _MS_PER_S
    ax.set_title("Latency distribution")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("requests")
    if latencies_ms.size == 0:
        write_empty(ax, "no completed requests")
        return ax
    p50, p90, p95, p99, cut = np.percentile(latencies_ms, [50, 90, 95, 99, _OVERFLOW_PCT])
    low, top = float(latencies_ms.min()), float(latencies_ms.max())
    upper = float(cut) if top > 1.05 * cut and cut > low else top
    if upper <= low:
        upper = low + 1.0
    log = low > 0 and float(p90) - low < _BODY_SHARE * (upper - low)
    edges = np.geomspace(low, upper, bins + 1) if log else np.linspace(low, upper, bins + 1)
    ax.hist(latencies_ms, bins=edges.tolist(), color="#4c72b0", alpha=0.8)
    if log:
        plain_log_axis(ax, low, upper)
    beyond = int(np.count_nonzero(latencies_ms > upper))
    for value, pct in ((p50, 50), (p95, 95), (p99, 99)):
        ax.axvline(
            float(value),
            color=_PERCENTILE_COLORS[pct],
            linestyle="--",
            linewidth=1.2,
            label=f"p{pct} {value:,.1f} ms",
        )
    if beyond:
        # a legend entry without a line: the note sits in the legend box
        note = f"{beyond:,} beyond p{_OVERFLOW_PCT:g} ({upper:,.1f} ms),\nmax {top:,.1f} ms"
        ax.plot([], [], " ", label=note, gid=OVERFLOW_GID)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_latency_percentiles(
    results: Results,
    ax: Axes,
    *,
    bin_s: float | None = None,
    percentiles: Sequence[int] = (50, 95, 99),
) -> Axes:
    """Draw latency percentiles of completed requests over time (by finish time).

    Args:
        results: The run to draw.
        ax: Where to draw.
        bin_s: Bin width in seconds; ``None`` uses the run's default.
        percentiles: Which percentiles to draw.

    Returns:
        ``ax``.
    """
    series = results.latency_over_time(bin_s=bin_s, percentiles=tuple(percentiles))
    for pct in percentiles:
        values = np.asarray(series.values[pct], dtype=float) * _MS_PER_S
        steps(
            ax, series.t, values, series.bin_s, label=f"p{pct}", color=_PERCENTILE_COLORS.get(pct)
        )
    finish_time_axes(results, ax, title="Latency percentiles over time", ylabel="latency (ms)")
    return ax


def plot_throughput(results: Results, ax: Axes, *, bin_s: float | None = None) -> Axes:
    """Draw completed and failed requests per second over time (by finish time).

    Failures are drawn one line per reason that occurred; when nothing
    failed, a single zero line labelled ``failed (none)`` says so.

    Args:
        results: The run to draw.
        ax: Where to draw.
        bin_s: Bin width in seconds; ``None`` uses the run's default.

    Returns:
        ``ax``.
    """
    rates = results.throughput(bin_s=bin_s)
    steps(ax, rates.t, rates.completed, rates.bin_s, label="completed", color="#2ca02c")
    failed = {
        reason: values
        for reason, values in sorted(rates.failed.items())
        if np.any(np.asarray(values) > 0)
    }
    for index, (reason, values) in enumerate(failed.items()):
        color = _REASON_COLORS[index % len(_REASON_COLORS)]
        steps(ax, rates.t, values, rates.bin_s, label=f"failed: {reason}", color=color)
    if not failed:
        zeros = np.zeros(np.asarray(rates.t).size)
        steps(ax, rates.t, zeros, rates.bin_s, label="failed (none)", color=_REASON_COLORS[0])
    finish_time_axes(results, ax, title="Throughput and errors", ylabel="requests / s")
    return ax


def draw_levels(
    results: Results, ax: Axes, node: str, metrics: Sequence[str], *, first_color: int = 0
) -> None:
    """Draw levels of a node: mean per bin, maximum per bin (light), and their limits.

    Args:
        results: The run.
        ax: Where to draw (the frame is left to the caller).
        node: Server, load balancer or edge id.
        metrics: Level metrics to draw (``Results.level_metrics`` names).
        first_color: Index of the first colour in the palette.
    """
    limits = node_limits(results, node)
    for index, metric in enumerate(metrics, start=first_color):
        level = results.series(metric, node)
        color = _LEVEL_COLORS[index % len(_LEVEL_COLORS)]
        words = metric_words(metric)
        steps(ax, level.t, level.mean, level.bin_s, label=f"{words} (bin mean)", color=color)
        steps(
            ax,
            level.t,
            level.max,
            level.bin_s,
            label=f"{words} (bin max)",
            color=color,
            light=True,
        )
        if metric in limits:
            field, value = limits[metric]
            draw_limit(ax, value, label=f"{field} {value:g}", color=color)


def plot_server_queues(results: Results, ax: Axes, server_id: str) -> Axes:
    """Draw a server's ready queue and RAM wait queue over time.

    Args:
        results: The run to draw.
        ax: Where to draw.
        server_id: Which server.

    Returns:
        ``ax``.
    """
    draw_levels(results, ax, server_id, ("ready_queue", "ram_wait_queue"))
    title = f"{mpl_text(server_id)}: queues"
    finish_time_axes(results, ax, title=title, ylabel="requests waiting")
    return ax


def plot_server_cores(results: Results, ax: Axes, server_id: str) -> Axes:
    """Draw a server's busy cores over time with its ``cpu_cores`` as a limit line.

    Args:
        results: The run to draw.
        ax: Where to draw.
        server_id: Which server.

    Returns:
        ``ax``.
    """
    draw_levels(results, ax, server_id, ("busy_cores",))
    finish_time_axes(results, ax, title=f"{mpl_text(server_id)}: busy cores", ylabel="cores")
    return ax


def plot_server_ram(results: Results, ax: Axes, server_id: str) -> Axes:
    """Draw a server's RAM in use over time, mean and max per bin, with its ``ram_mb``.

    The summary's ``ram_in_use_mb_max`` is the highest point of the max line.

    Args:
        results: The run to draw.
        ax: Where to draw.
        server_id: Which server.

    Returns:
        ``ax``.
    """
    draw_levels(results, ax, server_id, ("ram_in_use_mb",), first_color=2)
    finish_time_axes(results, ax, title=f"{mpl_text(server_id)}: RAM in use", ylabel="MB")
    return ax


def plot_connections(results: Results, ax: Axes, node: str) -> Axes:
    """Draw a node's open connections and accept backlog with their limits.

    Both count connections, so they share one axis; ``max_connections`` and
    ``listen_backlog`` are dashed lines in the colour of the level they cap.
    A node that models no connections gets a note instead.

    Args:
        results: The run to draw.
        ax: Where to draw.
        node: A server or load-balancer id.

    Returns:
        ``ax``.
    """
    recorded = results.level_metrics(node)
    metrics = [m for m in ("connections", "backlog") if m in recorded]
    draw_levels(results, ax, node, metrics)
    if not metrics:
        write_empty(ax, "connections not modelled")
    refused = results.refused.get(node, 0)
    name = mpl_text(node)
    title = f"{name}: connections ({refused:,} refused)" if metrics else f"{name}: connections"
    finish_time_axes(results, ax, title=title, ylabel="connections")
    return ax


def shade_fault_windows(results: Results, ax: Axes, *, label: bool = True) -> int:
    """Shade every fault window of the run on a time axis.

    Args:
        results: The run whose ``fault_windows`` to shade.
        ax: A chart whose x axis is simulated time in seconds.
        label: Write each window's ``event_id`` at the top of its span.

    Returns:
        The number of windows shaded.
    """
    return shade_windows(ax, results.fault_windows, label=label)


def level_ylabel(metrics: Sequence[str]) -> str:
    """Return the y label of levels drawn together: their unit when they share one."""
    units = {metric_unit(m) for m in metrics}
    return units.pop() if len(units) == 1 else "level"
