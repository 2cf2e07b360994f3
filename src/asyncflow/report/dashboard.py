"""One PNG page summarising a run, and one PNG page per node.

Dashboard layout, top to bottom: the bottleneck verdict under the title;
latency distribution and latency percentiles over time; latency CDF and where
the time goes (phase breakdown of all requests and of the p95 and p99 tails);
throughput and errors over time; then one row per server with its queues and
its cores and RAM. Node pages (:func:`write_node_pages`) draw every level a
node records, its phase breakdown by endpoint (servers) or the time spent on
it (edges). Event windows are shaded and labelled on every chart over
time. The figure is built with :class:`matplotlib.figure.Figure` and the Agg
canvas directly, so ``pyplot`` and its global state are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from asyncflow.report.charts import (
    _stacked_bars,
    breakdown_rows,
    plot_edge_transit,
    plot_hop_durations,
    plot_latency_cdf,
    plot_levels,
    plot_phase_breakdown,
)
from asyncflow.report.plots import (
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_queues,
    plot_server_resources,
    plot_throughput,
)

if TYPE_CHECKING:
    from os import PathLike

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from asyncflow.results import Results

__all__ = ["build_dashboard", "build_node_page", "write_dashboard", "write_node_pages"]

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
    rows = 3 + len(servers)
    figure = Figure(
        figsize=(_WIDTH_IN, _HEADER_IN + _ROW_HEIGHT_IN * rows),
        dpi=_DPI,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    figure.suptitle(_title(results) + _verdict_line(results), fontsize="large")
    grid = figure.add_gridspec(rows, 2)

    plot_latency_distribution(results, figure.add_subplot(grid[0, 0]))
    plot_latency_percentiles(results, figure.add_subplot(grid[0, 1]))
    plot_latency_cdf(results, figure.add_subplot(grid[1, 0]))
    plot_phase_breakdown(results, figure.add_subplot(grid[1, 1]))
    plot_throughput(results, figure.add_subplot(grid[2, :]))
    for row, server_id in enumerate(servers, start=3):
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


def build_node_page(results: Results, node: str) -> Figure:
    """Build the page of one server, load balancer or edge.

    A server's page has its queues, its cores and RAM, every other level it
    records (requests in I/O, open connections, ...) and where its requests'
    time goes by endpoint. An edge's page has its requests in transit and a
    histogram of the time requests spent on it. A load balancer's page has
    its levels.

    Args:
        results: The run.
        node: A server, edge or load balancer id.

    Returns:
        A matplotlib ``Figure`` attached to an Agg canvas.

    Raises:
        KeyError: If ``node`` is none of them.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if node in results.server_ids:
        panels = 4
    elif node in results.edge_ids:
        panels = 2
    elif node == results.load_balancer_id:
        panels = 1
    else:
        raise KeyError(f"no server, edge or load balancer {node!r}")
    rows = (panels + 1) // 2
    figure = Figure(
        figsize=(_WIDTH_IN, _HEADER_IN + _ROW_HEIGHT_IN * rows), dpi=_DPI, layout="constrained"
    )
    FigureCanvasAgg(figure)
    figure.suptitle(f"{node} · {_title(results)}", fontsize="large")
    grid = figure.add_gridspec(rows, 2)
    if node in results.server_ids:
        plot_server_queues(results, figure.add_subplot(grid[0, 0]), node)
        plot_server_resources(results, figure.add_subplot(grid[0, 1]), node)
        shown = {"ready_queue", "ram_wait_queue", "busy_cores", "ram_in_use_mb"}
        others = [m for m in results.level_metrics(node) if m not in shown]
        plot_levels(results, figure.add_subplot(grid[1, 0]), node, others)
        _server_breakdown(results, figure.add_subplot(grid[1, 1]), node)
    elif node in results.edge_ids:
        plot_edge_transit(results, figure.add_subplot(grid[0, 0]), node)
        plot_hop_durations(results, figure.add_subplot(grid[0, 1]), node)
    else:
        plot_levels(results, figure.add_subplot(grid[0, :]), node)
    return figure


def write_node_pages(results: Results, directory: str | PathLike[str]) -> list[Path]:
    """Write one PNG page per server, edge and load balancer (if it records levels).

    Files are named ``<kind>-<id>.png`` (``server-srv-1.png``,
    ``edge-client-to-server.png``, ``load_balancer-lb-1.png``).

    Args:
        results: The run.
        directory: Where to write; created if needed.

    Returns:
        The paths written, servers first, then the load balancer, then edges.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    nodes = [("server", sid) for sid in results.server_ids]
    lb = results.load_balancer_id
    if lb is not None and results.level_metrics(lb):
        nodes.append(("load_balancer", lb))
    nodes += [("edge", eid) for eid in results.edge_ids]
    written = []
    for kind, node in nodes:
        path = target / f"{kind}-{_safe_name(node)}.png"
        build_node_page(results, node).savefig(path, format="png", dpi=_DPI)
        written.append(path)
    return written


def _server_breakdown(results: Results, ax: Axes, server_id: str) -> None:
    """Draw the phase breakdown of one server's endpoints."""
    prefix = server_id + "/"
    rows = [row for row in breakdown_rows(results, "endpoint") if row[0].startswith(prefix)]
    ax.set_title(f"{server_id}: where the time goes by endpoint")
    ax.set_xlabel("mean time per request (ms)")
    if rows:
        _stacked_bars(ax, [(label.removeprefix(prefix), v) for label, v in rows])


def _safe_name(node: str) -> str:
    """Return a node id usable as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in node)


def _verdict_line(results: Results) -> str:
    """Return the bottleneck verdict as a second title line (empty if none)."""
    bottleneck = results.summary().get("bottleneck") or {}
    verdict = bottleneck.get("verdict")
    return "" if not verdict else "\n" + _wrap(str(verdict))


def _wrap(text: str, width: int = 150) -> str:
    """Break a long sentence into lines of at most ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _title(results: Results) -> str:
    """Return the page title: scenario, seed, horizon and warm-up."""
    parts = [f"{results.name}", f"seed {results.seed}", f"{results.end_s:g} s simulated"]
    if results.warm_up_s > 0:
        parts.append(f"warm-up {results.warm_up_s:g} s")
    return " · ".join(parts)
