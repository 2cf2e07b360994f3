"""The common frame of the PNG charts: steps, time axes, limits, windows, ticks.

The chart modules (:mod:`asyncflow.report.plots`, :mod:`asyncflow.report.charts`)
and the pages (:mod:`asyncflow.report.dashboard`) draw with these helpers, so
every chart over time looks the same: bins drawn as steps over
``[t, t + bin_s)``, the warm-up shaded grey, each event window shaded (red
outages, orange spikes) and labelled with its ``event_id``, capacity limits as
dashed lines, the legend under the chart.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.attribution import phase_label
from asyncflow.report.labels import phase_color
from asyncflow.report.safe import mpl_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from numpy.typing import NDArray

    from asyncflow.results import FaultWindow, Results

__all__ = [
    "FAULT_GID",
    "LIMIT_GID",
    "WARM_UP_GID",
    "draw_limit",
    "finish_time_axes",
    "fit_y",
    "legend_columns",
    "log_ticks",
    "plain_log_axis",
    "plain_number",
    "shade_windows",
    "stacked_bars",
    "steps",
    "write_empty",
]

FAULT_GID = "fault-window"
"""Artist gid of the span shading a fault window."""

WARM_UP_GID = "warm-up"
"""Artist gid of the span shading the warm-up period."""

LIMIT_GID = "limit"
"""Artist gid of the dashed line drawn at a capacity limit."""

_FAULT_COLORS = {"outage": "#d62728", "spike": "#ff7f0e"}
_MS_PER_S = 1000.0


def steps(
    ax: Axes,
    t: NDArray[Any],
    values: NDArray[Any],
    bin_s: float,
    *,
    label: str,
    color: str | None,
    light: bool = False,
) -> Any:
    """Draw per-bin values as a step line over ``[t, t + bin_s)`` and return the line.

    Args:
        ax: Where to draw.
        t: Start of each bin.
        values: One value per bin (NaN leaves a gap).
        bin_s: Width of a bin.
        label: Legend label.
        color: Line colour.
        light: Draw thin and translucent (the maxima beside the means).

    Returns:
        The matplotlib line.
    """
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


def draw_limit(ax: Axes, value: float, *, label: str, color: str = "#333333") -> Any:
    """Draw a capacity limit as a dashed horizontal line and return it.

    Args:
        ax: Where to draw.
        value: The limit, in the units of the y axis.
        label: Legend label, e.g. ``"limit: 2 cores"``.
        color: Line colour (the colour of the level it limits).

    Returns:
        The line, tagged with :data:`LIMIT_GID`.
    """
    line = ax.axhline(value, color=color, linestyle="--", linewidth=1.1, label=label)
    line.set_gid(LIMIT_GID)
    return line


def shade_windows(ax: Axes, windows: Sequence[FaultWindow], *, label: bool = True) -> int:
    """Shade fault windows on a time axis (red outages, orange spikes).

    Labels of windows that start close together are moved down in turn, so
    that they do not cover each other.

    Args:
        ax: A chart whose x axis is simulated time in seconds.
        windows: The windows to shade.
        label: Write each window's ``event_id`` at the top of its span.

    Returns:
        The number of windows shaded.
    """
    from matplotlib.transforms import blended_transform_factory

    text_transform = blended_transform_factory(ax.transData, ax.transAxes)
    low, high = ax.get_xlim()
    close = 0.02 * (high - low) if high > low else 0.0
    last_start = -math.inf
    row = 0
    for window in sorted(windows, key=lambda w: w.start_s):
        color = _FAULT_COLORS.get(window.kind, "0.5")
        span = ax.axvspan(window.start_s, window.end_s, color=color, alpha=0.12, linewidth=0)
        span.set_gid(FAULT_GID)
        row = row + 1 if window.start_s - last_start < close else 0
        last_start = window.start_s
        if label:
            ax.text(
                window.start_s,
                0.98 - 0.3 * (row % 3),
                f" {mpl_text(window.event_id)}",
                transform=text_transform,
                ha="left",
                va="top",
                rotation=90,
                fontsize="x-small",
                color=color,
                clip_on=True,
            )
    return len(windows)


def finish_time_axes(
    results: Results,
    ax: Axes,
    *,
    title: str,
    ylabel: str,
    handles: list[Any] | None = None,
) -> None:
    """Apply the common frame of a chart over simulated time.

    Shades the warm-up and every event window, sets the x axis to the run,
    starts the y axis at 0 with headroom above the data and the limits, and
    puts the legend below the chart so that it never hides data or labels.

    Args:
        results: The run (warm-up, horizon, event windows).
        ax: The chart.
        title: Chart title.
        ylabel: Label of the y axis, with its unit.
        handles: Legend entries; every line of ``ax`` when ``None``.
    """
    if results.warm_up_s > 0:
        span = ax.axvspan(0.0, results.warm_up_s, color="0.85", alpha=0.5, linewidth=0)
        span.set_gid(WARM_UP_GID)
    ax.set_title(title)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel(ylabel)
    if math.isfinite(results.end_s) and results.end_s > 0:
        ax.set_xlim(0.0, results.end_s)
    shade_windows(ax, results.fault_windows)
    fit_y(ax)
    ax.grid(visible=True, alpha=0.3)
    handles, columns = _legend_grid(
        handles if handles is not None else list(ax.get_lines()), legend_columns(ax)
    )
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=columns,
        fontsize="small",
        frameon=False,
    )


def _legend_grid(handles: list[Any], fit: int) -> tuple[list[Any], int]:
    """Order legend entries so that each colour (a level, its max, its limit) is a column.

    Falls back to ``fit`` columns in drawing order when the colours do not fit
    side by side or every colour has a single entry.
    """
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D

    groups: dict[str, list[Any]] = {}
    for handle in handles:
        color = handle.get_color() if isinstance(handle, Line2D) else None
        key = to_hex(color) if color is not None else str(id(handle))
        groups.setdefault(key, []).append(handle)
    size = max((len(group) for group in groups.values()), default=0)
    if not 1 < len(groups) <= fit or size < 2:
        return handles, max(1, min(len(handles), fit))
    grid: list[Any] = []
    for group in groups.values():
        blanks = [Line2D([], [], linestyle="none", label=" ")] * (size - len(group))
        grid += group + blanks
    return grid, len(groups)


def legend_columns(ax: Axes, column_in: float = 2.3) -> int:
    """How many legend columns of about ``column_in`` inches fit under a chart."""
    figure = ax.get_figure(root=True)
    if figure is None:
        return 1
    width_in = ax.get_position().width * figure.get_figwidth()
    return max(1, int(width_in / column_in))


def fit_y(ax: Axes) -> None:
    """Set the y axis to ``[0, 1.2 × highest finite value]`` (``[0, 1]`` when all zero)."""
    top = 0.0
    for line in ax.get_lines():
        values = np.asarray(line.get_ydata(), dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size:
            top = max(top, float(finite.max()))
    ax.set_ylim(0.0, top * 1.2 if top > 0 else 1.0)


def write_empty(ax: Axes, message: str) -> None:
    """Write a centred note on a chart that has nothing to show."""
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="0.4")


def log_ticks(low: float, high: float, most: int = 9) -> list[float]:
    """Return round tick values for a log axis over ``[low, high]`` (both > 0).

    Uses 1-2-5 steps (1, 2, 5, 10, 20, ...) when that gives at most ``most``
    ticks, else 1-3 steps or powers of ten, thinned to every second or third
    decade on very wide ranges. A range too narrow for three such ticks gets
    evenly spaced round values instead (``100, 110, 120, ...``).

    Args:
        low: Lower end of the axis.
        high: Upper end of the axis.
        most: Most ticks to return.

    Returns:
        Tick values inside ``[low, high]``, ascending.
    """
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1.0, 2.0, 5.0), (1.0, 3.0)):
        ticks = [m * 10.0**d for d in decades for m in mantissas if low <= m * 10.0**d <= high]
        if 3 <= len(ticks) <= most:
            return ticks
    ticks = [10.0**d for d in decades if low <= 10.0**d <= high]
    if len(ticks) < 3:
        from matplotlib.ticker import MaxNLocator

        values = MaxNLocator(nbins=min(most, 6), steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
        return [float(v) for v in values if low <= v <= high]
    stride = 1
    while len(ticks[::stride]) > most:
        stride += 1
    return ticks[::stride]


def plain_log_axis(ax: Axes, low: float, high: float) -> None:
    """Make the x axis logarithmic with plain-number ticks (``1``, ``20``, ``500``, ``1,000``).

    Args:
        ax: The chart.
        low: Lower end of the data (> 0).
        high: Upper end of the data.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ticks = log_ticks(low, high)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: plain_number(value)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plain_number(value: float) -> str:
    """Format a tick value without exponent: ``0.5``, ``20``, ``1,000``, ``20,000``."""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def stacked_bars(ax: Axes, rows: Sequence[tuple[str, dict[str, float]]]) -> None:
    """Draw mean seconds per phase as stacked horizontal bars, in ms, first row on top.

    Phases that are zero in every row are left out; the legend sits under
    the chart.

    Args:
        ax: Where to draw.
        rows: ``(label, {phase: mean seconds})`` per bar, in display order.
    """
    phases = [p for p in rows[0][1] if any(values.get(p, 0.0) > 0 for _, values in rows)]
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for index, phase in enumerate(phases):
        widths = np.array([values.get(phase, 0.0) for _, values in rows]) * _MS_PER_S
        ax.barh(
            y,
            widths,
            left=left,
            color=phase_color(phase, index),
            label=phase_label(phase),
            gid=f"phase-{phase}",
        )
        left += widths
    ax.set_yticks(y, [mpl_text(label) for label, _ in rows], fontsize="small")
    ax.set_xlim(0.0, float(left.max()) * 1.05 if left.max() > 0 else 1.0)
    ax.grid(visible=True, axis="x", alpha=0.3)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=min(len(phases), 4) or 1,
        fontsize="small",
        frameon=False,
    )
