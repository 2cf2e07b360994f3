"""Charts of one run, each drawn on an Axes the caller owns.

Every function takes a :class:`~asyncflow.results.Results` and a matplotlib
``Axes``, draws on it and returns it. None of them touches ``pyplot``, so they
leave no global state behind and work in any figure (see
:mod:`asyncflow.report.dashboard` for a whole page).

Charts over time shade each fault window of the run (one span per window,
tagged with the artist gid ``"fault-window"``) and label it with its
``event_id``. Bins are drawn as steps covering ``[t, t + bin_s)``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from numpy.typing import NDArray

    from asyncflow.results import FaultWindow, Results

__all__ = [
    "FAULT_GID",
    "WARM_UP_GID",
    "plot_latency_distribution",
    "plot_latency_percentiles",
    "plot_server_queues",
    "plot_server_resources",
    "plot_throughput",
    "shade_fault_windows",
    "shade_windows",
]

FAULT_GID = "fault-window"
"""Artist gid of the span shading a fault window."""

WARM_UP_GID = "warm-up"
"""Artist gid of the span shading the warm-up period."""

_FAULT_COLORS = {"outage": "#d62728", "spike": "#ff7f0e"}
_PERCENTILE_COLORS = {50: "#1f77b4", 90: "#17becf", 95: "#ff7f0e", 99: "#d62728"}
_REASON_COLORS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_MS_PER_S = 1000.0
_CLIP_RATIO = 3.0


def plot_latency_distribution(results: Results, ax: Axes, *, bins: int = 60) -> Axes:
    """Draw a histogram of request latencies with p50/p95/p99 markers.

    Uses :meth:`Results.latencies` (completed requests generated after
    warm-up), in milliseconds. When the maximum is far beyond p99 the x axis
    stops at 1.5 × p99 and the maximum is written in the corner, so the body
    of the distribution stays readable.

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
        _write_empty(ax, "no completed requests")
        return ax
    p50, p95, p99 = np.percentile(latencies_ms, [50, 95, 99])
    top = float(latencies_ms.max())
    upper = top
    if top > _CLIP_RATIO * p99 > 0:
        upper = 1.5 * float(p99)
        ax.text(
            0.98,
            0.72,
            f"x axis clipped\nmax {top:.1f} ms",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize="small",
            color="0.3",
        )
    low = float(latencies_ms.min())
    if upper <= low:
        upper = low + 1.0
    ax.hist(latencies_ms, bins=bins, range=(low, upper), color="#4c72b0", alpha=0.8)
    for value, pct in ((p50, 50), (p95, 95), (p99, 99)):
        ax.axvline(
            float(value),
            color=_PERCENTILE_COLORS[pct],
            linestyle="--",
            linewidth=1.2,
            label=f"p{pct} {value:.1f} ms",
        )
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
        _steps(
            ax, series.t, values, series.bin_s, label=f"p{pct}", color=_PERCENTILE_COLORS.get(pct)
        )
    _finish_time_axes(results, ax, title="Latency percentiles over time", ylabel="latency (ms)")
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
    _steps(ax, rates.t, rates.completed, rates.bin_s, label="completed", color="#2ca02c")
    failed = {
        reason: values
        for reason, values in sorted(rates.failed.items())
        if np.any(np.asarray(values) > 0)
    }
    for index, (reason, values) in enumerate(failed.items()):
        color = _REASON_COLORS[index % len(_REASON_COLORS)]
        _steps(ax, rates.t, values, rates.bin_s, label=f"failed: {reason}", color=color)
    if not failed:
        zeros = np.zeros(np.asarray(rates.t).size)
        _steps(ax, rates.t, zeros, rates.bin_s, label="failed (none)", color=_REASON_COLORS[0])
    _finish_time_axes(results, ax, title="Throughput and errors", ylabel="requests / s")
    return ax


def plot_server_queues(results: Results, ax: Axes, server_id: str) -> Axes:
    """Draw a server's ready queue and RAM wait queue over time.

    The time-weighted mean per bin is the solid line; the maximum in each bin
    is a light line of the same colour.

    Args:
        results: The run to draw.
        ax: Where to draw.
        server_id: Which server.

    Returns:
        ``ax``.
    """
    for metric, label, color in (
        ("ready_queue", "ready queue", "#1f77b4"),
        ("ram_wait_queue", "RAM wait queue", "#9467bd"),
    ):
        level = results.series(metric, server_id)
        _steps(ax, level.t, level.mean, level.bin_s, label=f"{label} (mean)", color=color)
        _steps(ax, level.t, level.max, level.bin_s, label=f"{label} (max)", color=color, light=True)
    _finish_time_axes(results, ax, title=f"{server_id}: queues", ylabel="requests waiting")
    return ax


def plot_server_resources(results: Results, ax: Axes, server_id: str) -> Axes:
    """Draw a server's busy cores and RAM in use over time.

    Busy cores are a line on ``ax``; RAM in use (MB) is a shaded area on a
    twin y axis on the right, drawn underneath. Both are time-weighted means
    per bin. The axis labels give the server's capacity (cores, RAM) when the
    scenario is available.

    Args:
        results: The run to draw.
        ax: Where to draw (busy cores); the RAM axis is created as its twin.
        server_id: Which server.

    Returns:
        ``ax`` (the busy-cores axis).
    """
    cores = results.series("busy_cores", server_id)
    ram = results.series("ram_in_use_mb", server_id)
    core_line = _steps(ax, cores.t, cores.mean, cores.bin_s, label="busy cores", color="#1f77b4")
    ram_ax = ax.twinx()
    ram_line = _steps(ram_ax, ram.t, ram.mean, ram.bin_s, label="RAM in use (MB)", color="#2ca02c")
    ram_line.set_linewidth(0.8)
    if np.asarray(ram.t).size:
        ram_ax.fill_between(
            ram_line.get_xdata(), ram_line.get_ydata(), step="post", color="#2ca02c", alpha=0.2
        )
    # draw the cores axis above its twin so the line is not hidden by the area
    ax.set_zorder(ram_ax.get_zorder() + 1)
    ax.patch.set_visible(False)
    cpu_cores, ram_mb = _server_capacity(results, server_id)
    ram_label = "RAM in use (MB)" if ram_mb is None else f"RAM in use (MB of {ram_mb:g})"
    ram_ax.set_ylabel(ram_label, color="#2ca02c")
    _fit_y(ram_ax)
    _finish_time_axes(
        results,
        ax,
        title=f"{server_id}: cores and RAM",
        ylabel="busy cores" if cpu_cores is None else f"busy cores (of {cpu_cores:g})",
        handles=[core_line, ram_line],
    )
    ax.yaxis.label.set_color("#1f77b4")
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


def shade_windows(ax: Axes, windows: Sequence[FaultWindow], *, label: bool = True) -> int:
    """Shade fault windows on a time axis (red outages, orange spikes).

    Args:
        ax: A chart whose x axis is simulated time in seconds.
        windows: The windows to shade.
        label: Write each window's ``event_id`` at the top of its span.

    Returns:
        The number of windows shaded.
    """
    from matplotlib.transforms import blended_transform_factory

    text_transform = blended_transform_factory(ax.transData, ax.transAxes)
    for window in windows:
        color = _FAULT_COLORS.get(window.kind, "0.5")
        span = ax.axvspan(window.start_s, window.end_s, color=color, alpha=0.12, linewidth=0)
        span.set_gid(FAULT_GID)
        if label:
            ax.text(
                window.start_s,
                0.98,
                f" {window.event_id}",
                transform=text_transform,
                ha="left",
                va="top",
                rotation=90,
                fontsize="x-small",
                color=color,
                clip_on=True,
            )
    return len(windows)


def _server_capacity(results: Results, server_id: str) -> tuple[float | None, float | None]:
    """Return a server's ``(cpu_cores, ram_mb)`` from the scenario, or Nones."""
    scenario = getattr(results, "scenario", None)
    if scenario is None:
        return None, None
    for server in scenario.topology_graph.nodes.servers:
        if server.id == server_id:
            resources = server.server_resources
            return float(resources.cpu_cores), float(resources.ram_mb)
    return None, None


def _steps(
    ax: Axes,
    t: NDArray[Any],
    values: NDArray[Any],
    bin_s: float,
    *,
    label: str,
    color: str | None,
    light: bool = False,
) -> Any:
    """Draw per-bin values as a step line over ``[t, t + bin_s)`` and return the line."""
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float)
    if t.size == 0:
        (line,) = ax.plot([], [], label=label, color=color)
        return line
    x = np.append(t, t[-1] + bin_s)
    y = np.append(values, values[-1])
    style: dict[str, Any] = {"linewidth": 0.8, "alpha": 0.35} if light else {"linewidth": 1.4}
    (line,) = ax.step(x, y, where="post", label=label, color=color, **style)
    return line


def _finish_time_axes(
    results: Results,
    ax: Axes,
    *,
    title: str,
    ylabel: str,
    handles: list[Any] | None = None,
) -> None:
    """Apply the common frame of a chart over simulated time.

    The y axis starts at 0 with headroom above the data; the legend sits
    below the chart so that it never hides data or fault labels.
    """
    if results.warm_up_s > 0:
        span = ax.axvspan(0.0, results.warm_up_s, color="0.85", alpha=0.5, linewidth=0)
        span.set_gid(WARM_UP_GID)
    shade_fault_windows(results, ax)
    ax.set_title(title)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel(ylabel)
    if math.isfinite(results.end_s) and results.end_s > 0:
        ax.set_xlim(0.0, results.end_s)
    _fit_y(ax)
    ax.grid(visible=True, alpha=0.3)
    handles = handles if handles is not None else list(ax.get_lines())
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=min(len(handles), 4) or 1,
        fontsize="small",
        frameon=False,
    )


def _fit_y(ax: Axes) -> None:
    """Set the y axis to ``[0, 1.2 × highest finite value]`` (``[0, 1]`` when all zero)."""
    top = 0.0
    for line in ax.get_lines():
        values = np.asarray(line.get_ydata(), dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size:
            top = max(top, float(finite.max()))
    ax.set_ylim(0.0, top * 1.2 if top > 0 else 1.0)


def _write_empty(ax: Axes, message: str) -> None:
    """Write a centred note on a chart that has nothing to show."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")
