"""One PNG page summarising a run.

Layout, top to bottom: latency distribution and latency percentiles over
time; throughput and errors over time; then one row per server with its
queues and its cores and RAM. Fault windows are shaded on every chart over
time. The figure is built with :class:`matplotlib.figure.Figure` and the Agg
canvas directly, so ``pyplot`` and its global state are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from asyncflow.report.plots import (
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_queues,
    plot_server_resources,
    plot_throughput,
)

if TYPE_CHECKING:
    from os import PathLike

    from matplotlib.figure import Figure

    from asyncflow.results import Results

__all__ = ["build_dashboard", "write_dashboard"]

_WIDTH_IN = 15.0
_ROW_HEIGHT_IN = 3.4
_HEADER_IN = 0.6
_DPI = 100


def build_dashboard(results: Results) -> Figure:
    """Build the dashboard figure of a run without saving it.

    Args:
        results: The run to draw.

    Returns:
        A matplotlib ``Figure`` attached to an Agg canvas.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    servers = tuple(results.server_ids)
    rows = 2 + len(servers)
    figure = Figure(
        figsize=(_WIDTH_IN, _HEADER_IN + _ROW_HEIGHT_IN * rows),
        dpi=_DPI,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    figure.suptitle(_title(results), fontsize="large")
    grid = figure.add_gridspec(rows, 2)

    plot_latency_distribution(results, figure.add_subplot(grid[0, 0]))
    plot_latency_percentiles(results, figure.add_subplot(grid[0, 1]))
    plot_throughput(results, figure.add_subplot(grid[1, :]))
    for row, server_id in enumerate(servers, start=2):
        plot_server_queues(results, figure.add_subplot(grid[row, 0]), server_id)
        plot_server_resources(results, figure.add_subplot(grid[row, 1]), server_id)
    return figure


def write_dashboard(results: Results, path: str | PathLike[str]) -> Path:
    """Draw the dashboard of a run and save it as a PNG.

    Args:
        results: The run to draw.
        path: Where to write the PNG; its parent directory must exist.

    Returns:
        The path written.
    """
    target = Path(path)
    figure = build_dashboard(results)
    figure.savefig(target, format="png", dpi=_DPI)
    return target


def _title(results: Results) -> str:
    """Return the page title: scenario, seed, horizon and warm-up."""
    parts = [f"{results.name}", f"seed {results.seed}", f"{results.end_s:g} s simulated"]
    if results.warm_up_s > 0:
        parts.append(f"warm-up {results.warm_up_s:g} s")
    return " · ".join(parts)
