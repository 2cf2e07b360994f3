"""More charts of one run: latency CDF, phase breakdown, any node level, edges.

Like :mod:`asyncflow.report.plots`, every function draws on an ``Axes`` the
caller owns and returns it; charts over time shade the warm-up and every
event window. Level charts iterate over whatever ``Results.level_metrics``
returns, so levels the engine records later (open connections, the accept
backlog) appear without changes here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.analysis.attribution import (
    breakdowns_by_group,
    hop_edges,
    measured_mask,
    node_phase_seconds,
)
from asyncflow.analysis.ranks import pairwise_sum
from asyncflow.metrics.phases import HOP_SLOTS, PHASE_NAMES
from asyncflow.report.axes import finish_time_axes, plain_log_axis, stacked_bars, write_empty
from asyncflow.report.labels import PHASE_COLORS, endpoint_label, metric_words, phase_color
from asyncflow.report.plots import draw_levels, level_ylabel
from asyncflow.report.safe import mpl_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from matplotlib.axes import Axes

    from asyncflow.results import Results

__all__ = [
    "PHASE_COLORS",
    "breakdown_rows",
    "cdf_points",
    "edge_durations",
    "phase_color",
    "plot_edge_transit",
    "plot_hop_durations",
    "plot_latency_cdf",
    "plot_levels",
    "plot_phase_breakdown",
]

_MS_PER_S = 1000.0
_EDGE_CHUNK = 1 << 16  # hop times made at a time for an edge's histogram and mean
_LOG_SPAN = 10.0


def cdf_points(latencies: np.ndarray, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Return an empirical CDF thinned to at most ``points`` quantiles.

    Args:
        latencies: Latencies in any unit.
        points: Most points to return (the curve is exact at each of them).

    Returns:
        ``(values, fractions)``: sorted latency quantiles and the fraction of
        requests at or below each.
    """
    if latencies.size == 0:
        return np.empty(0), np.empty(0)
    fractions = np.linspace(0.0, 1.0, min(points, latencies.size))
    return np.quantile(latencies, fractions), fractions


def plot_latency_cdf(results: Results, ax: Axes) -> Axes:
    """Draw the cumulative distribution of latencies, on a log x axis when it is wide.

    Latencies spanning at least a factor of ten get a log x axis with plain
    millisecond ticks (``1``, ``2``, ``5``, ``10``, ..., ``1,000``), fewer on
    wide ranges, and no labelled minor ticks; narrower ones a linear axis.

    Args:
        results: The run to draw (measured requests, as ``latencies()``).
        ax: Where to draw.

    Returns:
        ``ax``.
    """
    latencies_ms = np.asarray(results.latencies(), dtype=float) * _MS_PER_S
    ax.set_title("Latency CDF")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("fraction of requests")
    if latencies_ms.size == 0:
        write_empty(ax, "no completed requests")
        return ax
    values, fractions = cdf_points(latencies_ms)
    ax.plot(values, fractions, color="#4c72b0", linewidth=1.6, label="CDF")
    if values[0] > 0 and values[-1] >= _LOG_SPAN * values[0]:
        plain_log_axis(ax, float(values[0]), float(values[-1]))
    for pct, color in ((50, "#1f77b4"), (95, "#ff7f0e"), (99, "#d62728")):
        value = float(np.percentile(latencies_ms, pct))
        ax.axhline(pct / 100.0, color=color, linestyle=":", linewidth=0.8)
        ax.plot([value], [pct / 100.0], "o", color=color, label=f"p{pct} {value:.1f} ms")
    ax.set_ylim(0.0, 1.02)
    ax.grid(visible=True, alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def breakdown_rows(results: Results, by: str = "overall") -> list[tuple[str, dict[str, float]]]:
    """Rows of mean seconds per phase: all, >= p95, >= p99 for each group.

    Args:
        results: The run.
        by: ``"overall"``, ``"server"`` or ``"endpoint"``.

    Returns:
        ``[(label, {phase: mean seconds}), ...]`` in display order.
    """
    rows: list[tuple[str, dict[str, float]]] = []
    names = _group_labels(results) if by == "endpoint" else {}
    for group, entry in breakdowns_by_group(results, by).items():
        prefix = "" if by == "overall" else f"{names.get(group, group)} · "
        for tail, item in entry.items():
            if item.count:
                label = "all requests" if tail == "all" else f"≥ {tail}"
                rows.append((prefix + label, item.phases_s))
    return rows


def _group_labels(results: Results) -> dict[str, str]:
    """Endpoint group keys (``server/endpoint``) to their labels (:func:`endpoint_label`)."""
    return {
        f"{server.id}/{endpoint.endpoint_name}": endpoint_label(server.id, endpoint.endpoint_name)
        for server in results.scenario.topology_graph.nodes.servers
        for endpoint in server.endpoints
    }


def plot_phase_breakdown(results: Results, ax: Axes, *, by: str = "overall") -> Axes:
    """Draw where the time goes as stacked horizontal bars (ms per request).

    One bar per group and slice (all requests, at or above p95, at or above
    p99); phases that are zero everywhere are left out.

    Args:
        results: The run.
        ax: Where to draw.
        by: ``"overall"``, ``"server"`` or ``"endpoint"``.

    Returns:
        ``ax``.
    """
    title = "Where the time goes" + ("" if by == "overall" else f" by {by}")
    return _breakdown_bars(ax, breakdown_rows(results, by), title)


def _breakdown_bars(ax: Axes, rows: list[tuple[str, dict[str, float]]], title: str) -> Axes:
    """Stacked bars of mean milliseconds per phase, one per row (or a note when none)."""
    ax.set_title(title)
    ax.set_xlabel("mean time per request (ms)")
    if not rows:
        write_empty(ax, "no completed requests")
        return ax
    stacked_bars(ax, rows)
    return ax


def node_breakdown_rows(results: Results, top: int = 8) -> list[tuple[str, dict[str, float]]]:
    """Mean seconds per request spent on each node, by phase, along the critical path.

    Servers, databases, caches and pools first (by time, largest first), then
    the network (every edge together); at most ``top`` servers, the rest summed as "other servers".
    """
    measured = measured_mask(results)
    count = int(np.count_nonzero(measured))
    if count == 0:
        return []
    totals = node_phase_seconds(results, measured)
    stores = results.datastores
    servers = {*results.server_ids, *stores.databases, *stores.cache_nodes, *stores.pools}
    by_node: dict[str, dict[str, float]] = {}
    for (node, phase), seconds in totals.items():
        name = node if node in servers else "network"
        row = by_node.setdefault(name, {})
        row[phase] = row.get(phase, 0.0) + seconds / count
    network = by_node.pop("network", None)
    ranked = sorted(by_node.items(), key=lambda item: -sum(item[1].values()))
    if len(ranked) > top:
        rest: dict[str, float] = {}
        for _, values in ranked[top:]:
            for phase, value in values.items():
                rest[phase] = rest.get(phase, 0.0) + value
        ranked = [*ranked[:top], ("other servers", rest)]
    if network is not None:
        ranked.append(("network (all edges)", network))
    phases = [p for p in PHASE_NAMES if any(values.get(p, 0.0) for _, values in ranked)]
    return [(name, {p: values.get(p, 0.0) for p in phases}) for name, values in ranked]


def plot_node_breakdown(results: Results, ax: Axes) -> Axes:
    """Draw where the time goes by node: each server's share of a request's latency.

    A request's time is split along its critical path (the calls it waited
    for), so the slow dependency of a call tree stands out.

    Args:
        results: The run.
        ax: Where to draw.

    Returns:
        ``ax``.
    """
    return _breakdown_bars(
        ax, node_breakdown_rows(results), "Where the time goes, by node (critical path)"
    )


def plot_levels(
    results: Results, ax: Axes, node: str, metrics: Sequence[str] | None = None
) -> Axes:
    """Draw levels of a node over time: mean and max per bin, and their limits.

    The y axis is labelled with the levels' unit when they share one.

    Args:
        results: The run.
        ax: Where to draw.
        node: Server, load balancer or edge id.
        metrics: Which levels; ``None`` draws every level of the node.

    Returns:
        ``ax``.
    """
    chosen = tuple(results.level_metrics(node) if metrics is None else metrics)
    draw_levels(results, ax, node, chosen)
    if not chosen:
        write_empty(ax, "no level recorded")
    title = f"{mpl_text(node)}: " + (", ".join(metric_words(m) for m in chosen) or "levels")
    finish_time_axes(results, ax, title=title, ylabel=level_ylabel(chosen))
    return ax


def plot_edge_transit(results: Results, ax: Axes, edge_id: str) -> Axes:
    """Draw the requests in transit on an edge; its spike windows are shaded.

    Args:
        results: The run.
        ax: Where to draw.
        edge_id: Which edge.

    Returns:
        ``ax``.
    """
    plot_levels(results, ax, edge_id, ("in_transit",))
    ax.set_title(f"{mpl_text(edge_id)}: requests in transit")
    ax.set_ylabel("requests")
    return ax


def _edge_segments(results: Results, edge_id: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """(rows, hop column) of each path that crosses ``edge_id``, in path order.

    The column is None for a hop slot the run did not keep (zeros): no
    column of zeros is made per path.
    """
    r = results.requests
    segments: list[tuple[np.ndarray, np.ndarray | None]] = []
    for (w, i), path in hop_edges(results).items():
        for j, edge in enumerate(path):
            if edge == edge_id:
                column = r.slot(HOP_SLOTS[j]) if HOP_SLOTS[j] in r.kept else None
                segments.append((results.path_rows(w, i), column))
    return segments


class _EdgeTimes:
    """The seconds measured requests spent crossing one edge, made a part at a time.

    The values are those of :func:`edge_durations`, in its order, each times
    ``scale``; ``part(lo, hi)`` makes values ``lo:hi`` without holding the rest.
    """

    __slots__ = ("_offsets", "_segments", "count", "scale")

    def __init__(self, results: Results, edge_id: str, scale: float = 1.0) -> None:
        self._segments = _edge_segments(results, edge_id)
        sizes = [rows.size for rows, _ in self._segments]
        self._offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        self.count = int(self._offsets[-1])
        self.scale = scale

    def part(self, lo: int, hi: int) -> np.ndarray:
        out = np.empty(hi - lo)
        at = 0
        for k, (rows, column) in enumerate(self._segments):
            begin = int(self._offsets[k])
            a, b = max(lo, begin) - begin, min(hi, begin + rows.size) - begin
            if a < b:
                if column is None:
                    out[at : at + b - a] = 0.0
                else:
                    out[at : at + b - a] = np.asarray(column[rows[a:b]], dtype=float) * self.scale
                at += b - a
        return out

    def chunks(self) -> Iterator[np.ndarray]:
        for lo in range(0, self.count, _EDGE_CHUNK):
            yield self.part(lo, min(self.count, lo + _EDGE_CHUNK))


def edge_durations(results: Results, edge_id: str) -> np.ndarray:
    """Seconds each measured request spent crossing ``edge_id`` (empty if none)."""
    times = _EdgeTimes(results, edge_id)
    return times.part(0, times.count)


def plot_hop_durations(results: Results, ax: Axes, edge_id: str, *, bins: int = 50) -> Axes:
    """Draw a histogram of the time measured requests spent crossing an edge.

    Args:
        results: The run.
        ax: Where to draw.
        edge_id: Which edge.
        bins: Number of bins.

    Returns:
        ``ax``.
    """
    times = _EdgeTimes(results, edge_id, _MS_PER_S)
    ax.set_title(f"{mpl_text(edge_id)}: time on the edge")
    ax.set_xlabel("ms per request")
    ax.set_ylabel("requests")
    if times.count == 0:
        write_empty(ax, "no measured request crossed it")
        return ax
    # Counted a part at a time over the values' whole range, as numpy bins
    # them all at once: the bars, and the mean's bits, are those of the whole.
    low, high = math.inf, -math.inf
    for values in times.chunks():
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    counts = np.zeros(bins, dtype=np.int64)
    edges = np.histogram_bin_edges(np.empty(0), bins=bins, range=(low, high))
    for values in times.chunks():
        counts += np.histogram(values, bins=bins, range=(low, high))[0]
    ax.hist(edges[:-1], bins=edges.tolist(), weights=counts, color="#7f7f7f", alpha=0.8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7)
    mean = pairwise_sum(times.count, _EDGE_CHUNK, times.part) / times.count
    ax.axvline(mean, color="#d62728", linestyle="--", label="mean")
    ax.legend(loc="upper right", fontsize="small")
    return ax
