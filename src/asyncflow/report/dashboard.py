"""One PNG page summarising a run, and one PNG page per node.

Dashboard layout, top to bottom: the bottleneck verdict under the title;
latency distribution and latency percentiles over time; latency CDF and where
the time goes (phase breakdown of all requests and of the p95 and p99 tails);
throughput and errors over time; with several servers, where the time goes
by node along the critical path (the calls requests waited for); a row for
each load balancer that models connections (open connections and accept
backlog, the memory they pin);
then one row per server: its queues, busy cores, RAM in use and, when it
models connections, its connections; then the datastores (databases, pools,
caches: :mod:`asyncflow.report.datastores`). Every capped level has its limit drawn
as a dashed line. Node pages (:func:`write_node_pages`) draw every level a
node records (levels of one unit per chart), its phase breakdown by endpoint
(servers) or the time spent on it (edges). Event windows are shaded and
labelled on every chart over time. The figure is built with
:class:`matplotlib.figure.Figure` and the Agg canvas directly, so ``pyplot``
and its global state are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from asyncflow.report.axes import stacked_bars, write_empty
from asyncflow.report.charts import (
    breakdown_rows,
    plot_edge_transit,
    plot_hop_durations,
    plot_latency_cdf,
    plot_levels,
    plot_node_breakdown,
    plot_phase_breakdown,
)
from asyncflow.report.datastores import datastore_rows
from asyncflow.report.labels import endpoint_label, metric_unit
from asyncflow.report.plots import (
    plot_connections,
    plot_latency_distribution,
    plot_latency_percentiles,
    plot_server_cores,
    plot_server_queues,
    plot_server_ram,
    plot_throughput,
)
from asyncflow.report.safe import mpl_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from os import PathLike

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from asyncflow.results import Results

    Panel = Callable[[Axes], object]

__all__ = ["build_dashboard", "build_node_page", "write_dashboard", "write_node_pages"]

_WIDTH_IN = 15.0
_ROW_HEIGHT_IN = 3.4
_HEADER_IN = 0.6
_DPI = 100
_COLUMNS = 12
_SOCKET_LEVELS = ("connections", "backlog")
_SERVER_SHOWN = {"ready_queue", "ram_wait_queue", "busy_cores", "ram_in_use_mb", *_SOCKET_LEVELS}


def build_dashboard(results: Results) -> Figure:
    """Build the dashboard figure of a run without saving it.

    Args:
        results: The run to draw.

    Returns:
        A matplotlib ``Figure`` attached to an Agg canvas.
    """
    rows: list[list[tuple[int, Panel]]] = [
        [
            (6, lambda ax: plot_latency_distribution(results, ax)),
            (6, lambda ax: plot_latency_percentiles(results, ax)),
        ],
        [
            (6, lambda ax: plot_latency_cdf(results, ax)),
            (6, lambda ax: plot_phase_breakdown(results, ax)),
        ],
        [(12, lambda ax: plot_throughput(results, ax))],
    ]
    if len(results.critical):
        # a call tree: say which node each request's time was spent on
        rows.append([(12, lambda ax: plot_node_breakdown(results, ax))])
    for lb in results.load_balancer_ids:
        balancer = _balancer_row(results, lb)
        if balancer:
            rows.append(balancer)
    for sid in results.server_ids:
        rows += _server_row(results, sid)
    rows += datastore_rows(results)
    return _page(rows, _title(results) + _verdict_line(results))


def _server_row(results: Results, sid: str) -> list[list[tuple[int, Panel]]]:
    """Queues, cores, RAM and (when modelled) connections of one server.

    Three panels make one row; four make two rows of two.
    """
    panels: list[Panel] = [
        lambda ax: plot_server_queues(results, ax, sid),
        lambda ax: plot_server_cores(results, ax, sid),
        lambda ax: plot_server_ram(results, ax, sid),
    ]
    if _models_connections(results, sid):
        panels.append(lambda ax: plot_connections(results, ax, sid))
    return _rows(panels, 2 if len(panels) == 4 else 3)


def _rows(panels: list[Panel], per_row: int) -> list[list[tuple[int, Panel]]]:
    """Panels laid out ``per_row`` a row; a shorter last row shares the width."""
    rows = []
    for start in range(0, len(panels), per_row):
        chunk = panels[start : start + per_row]
        rows.append([(_COLUMNS // len(chunk), panel) for panel in chunk])
    return rows


def _balancer_row(results: Results, lb: str) -> list[tuple[int, Panel]]:
    """Connections and backlog (two thirds) and connection memory of a balancer."""
    if not _models_connections(results, lb):
        return []
    row: list[tuple[int, Panel]] = [(8, lambda ax: plot_connections(results, ax, lb))]
    if "connection_memory_mb" in results.level_metrics(lb):
        row.append((4, lambda ax: plot_levels(results, ax, lb, ("connection_memory_mb",))))
    else:
        row = [(12, row[0][1])]
    return row


def _models_connections(results: Results, node: str) -> bool:
    """Whether a node records its open connections."""
    return "connections" in results.level_metrics(node)


def _page(rows: list[list[tuple[int, Panel]]], title: str) -> Figure:
    """A figure with one row per list of ``(columns of 12, panel)``, drawn in order."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(
        figsize=(_WIDTH_IN, _HEADER_IN + _ROW_HEIGHT_IN * len(rows)),
        dpi=_DPI,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize="large")  # ids in it escaped by the callers
    grid = figure.add_gridspec(len(rows), _COLUMNS)
    for index, row in enumerate(rows):
        start = 0
        for width, panel in row:
            panel(figure.add_subplot(grid[index, start : start + width]))
            start += width
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

    A server's page has its queues, busy cores, RAM in use, connections (when
    modelled), every other level it records grouped by unit (requests in
    I/O, connection memory, ...) and where its requests' time goes by
    endpoint. A load balancer's page has its connections and backlog and its
    other levels by unit. An edge's page has its requests in transit and a
    histogram of the time requests spent on it. Capped levels have their
    limits drawn.

    Args:
        results: The run.
        node: A server, edge or load balancer id.

    Returns:
        A matplotlib ``Figure`` attached to an Agg canvas.

    Raises:
        KeyError: If ``node`` is none of them.
    """
    if node in results.server_ids:
        panels = _server_panels(results, node)
    elif node in results.edge_ids:
        panels = [
            lambda ax: plot_edge_transit(results, ax, node),
            lambda ax: plot_hop_durations(results, ax, node),
        ]
    elif node in results.load_balancer_ids:
        panels = [lambda ax: plot_connections(results, ax, node)]
        panels += _grouped_levels(results, node, set(_SOCKET_LEVELS))
    else:
        raise KeyError(f"no server, edge or load balancer {node!r}")
    return _page(_rows(panels, 2), f"{mpl_text(node)} · {_title(results)}")


def _server_panels(results: Results, sid: str) -> list[Panel]:
    panels: list[Panel] = [
        lambda ax: plot_server_queues(results, ax, sid),
        lambda ax: plot_server_cores(results, ax, sid),
        lambda ax: plot_server_ram(results, ax, sid),
    ]
    if _models_connections(results, sid):
        panels.append(lambda ax: plot_connections(results, ax, sid))
    panels += _grouped_levels(results, sid, _SERVER_SHOWN)
    panels.append(lambda ax: _server_breakdown(results, ax, sid))
    return panels


def _grouped_levels(results: Results, node: str, shown: set[str]) -> list[Panel]:
    """One chart per unit for the levels of ``node`` not in ``shown``."""
    groups: dict[str, list[str]] = {}
    for metric in results.level_metrics(node):
        if metric not in shown:
            groups.setdefault(metric_unit(metric), []).append(metric)
    return [_levels_panel(results, node, tuple(metrics)) for metrics in groups.values()]


def _levels_panel(results: Results, node: str, metrics: tuple[str, ...]) -> Panel:
    return lambda ax: plot_levels(results, ax, node, metrics)


def write_node_pages(results: Results, directory: str | PathLike[str]) -> list[Path]:
    """Write one PNG page per server, edge and load balancer (if it records levels).

    Files are named ``<kind>-<id>.png`` (``server-srv-1.png``,
    ``edge-client-to-server.png``, ``load_balancer-lb-1.png``).

    Args:
        results: The run.
        directory: Where to write; created if needed.

    Returns:
        The paths written, servers first, then load balancers, then edges.
    """
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    nodes = [("server", sid) for sid in results.server_ids]
    balancers = [lb for lb in results.load_balancer_ids if results.level_metrics(lb)]
    nodes += [("load_balancer", lb) for lb in balancers]
    nodes += [("edge", eid) for eid in results.edge_ids]
    written = []
    for kind, node in nodes:
        path = target / f"{kind}-{_safe_name(node)}.png"
        build_node_page(results, node).savefig(path, format="png", dpi=_DPI)
        written.append(path)
    return written


def _server_breakdown(results: Results, ax: Axes, server_id: str) -> None:
    """Draw the phase breakdown of one server's endpoints."""
    server = next(s for s in results.scenario.topology_graph.nodes.servers if s.id == server_id)
    prefixes = [endpoint_label(server_id, e.endpoint_name) + " · " for e in server.endpoints]
    rows = [
        (label.removeprefix(server_id + "/"), values)
        for label, values in breakdown_rows(results, "endpoint")
        if label.startswith(tuple(prefixes))
    ]
    ax.set_title(f"{mpl_text(server_id)}: where the time goes by endpoint")
    ax.set_xlabel("mean time per request (ms)")
    if rows:
        stacked_bars(ax, rows)
    else:
        write_empty(ax, "no measured request")


def _safe_name(node: str) -> str:
    """Return a node id usable as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in node)


def _verdict_line(results: Results) -> str:
    """Return the bottleneck verdict as a second title line (empty if none)."""
    bottleneck = results.summary().get("bottleneck") or {}
    verdict = bottleneck.get("verdict")
    return "" if not verdict else "\n" + _wrap(mpl_text(verdict))


def _wrap(text: str, width: int = 150) -> str:
    """Break a long sentence into lines of at most ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def _title(results: Results) -> str:
    """Return the page title: scenario, seed, horizon and warm-up."""
    parts = [mpl_text(results.name), f"seed {results.seed}", f"{results.end_s:g} s simulated"]
    if results.warm_up_s > 0:
        parts.append(f"warm-up {results.warm_up_s:g} s")
    return " · ".join(parts)
