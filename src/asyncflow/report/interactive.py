"""Interactive charts of a run as Plotly figure specifications (plain dicts).

Each function returns ``{"data": [...], "layout": {...}}``, ready for
``Plotly.newPlot`` in a browser; the HTML report (:mod:`asyncflow.report.html`)
embeds them with the Plotly bundle. Building plain dicts needs no Python
plotting library at all: the ``plotly`` package is only used for its
JavaScript bundle when a page is written.

Every chart over time shades the warm-up and each event window (a shape
named ``event:<event_id>``), labels the window with its ``event_id`` (labels
of windows that start close together are stacked, the details are in the
label's hover text), and is marked ``"link_x": True`` so that the page zooms
all of them together. Levels are drawn as the mean per bin and, lighter, the
maximum per bin; every limit the scenario sets is a dashed line named after
its field. Missing values (NaN) become ``None`` (``null`` in JSON: a gap in
the line). Ids and names are escaped (:func:`~asyncflow.report.safe.plotly_text`)
in every title, legend entry, label and hover text.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.attribution import phase_label
from asyncflow.report.axes import log_ticks, plain_number
from asyncflow.report.charts import breakdown_rows, cdf_points, node_breakdown_rows
from asyncflow.report.labels import metric_unit, metric_words, phase_color
from asyncflow.report.limits import node_limits
from asyncflow.report.safe import plotly_text

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from asyncflow.results import FaultWindow, Results

__all__ = [
    "Figure",
    "breakdown_figure",
    "cdf_figure",
    "edges_figure",
    "latency_figure",
    "levels_figure",
    "node_figures",
    "throughput_figure",
]

Figure = dict[str, Any]
_MS = 1000.0
_EVENT_COLORS = {"outage": "#d62728", "spike": "#ff7f0e"}
_PCT_COLORS = {50: "#1f77b4", 95: "#ff7f0e", 99: "#d62728"}
_REASON_COLORS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_LINE_COLORS = ("#1f77b4", "#9467bd", "#2ca02c", "#ff7f0e", "#d62728", "#17becf", "#8c564b")
_MARGIN = {"t": 50, "r": 30, "l": 70, "b": 40}
# a conservative plot width and label font, to keep event labels apart
_PLOT_PX = 450.0
_CHAR_PX = 6.5
_LABEL_ROW_PX = 15


def _values(array: Iterable[float], scale: float = 1.0) -> list[float | None]:
    """Return JSON-ready numbers (6 significant digits), ``None`` for NaN."""
    out: list[float | None] = []
    for value in np.asarray(list(array), dtype=float).tolist():
        v = value * scale
        out.append(None if not math.isfinite(v) else float(f"{v:.6g}"))
    return out


def _step_x(t: np.ndarray, bin_s: float) -> list[float | None]:
    """Bin starts plus the end of the last bin (steps drawn with ``hv`` shape)."""
    return _values(np.append(t, t[-1] + bin_s) if t.size else t)


def _step_y(values: np.ndarray, scale: float = 1.0) -> list[float | None]:
    return _values(np.append(values, values[-1]) if values.size else values, scale)


def _line(
    t: np.ndarray, values: np.ndarray, bin_s: float, name: str, color: str, **extra: Any
) -> dict[str, Any]:
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float)
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": "lines",
        "x": _step_x(t, bin_s),
        "y": _step_y(values, extra.pop("scale", 1.0)),
        "name": name,
        "line": {"shape": "hv", "color": color, "width": extra.pop("width", 1.6)},
    }
    trace.update(extra)
    return trace


def _limit_line(results: Results, field: str, value: float, color: str) -> dict[str, Any]:
    """A dashed horizontal line across the run at a limit, named after its field."""
    return {
        "type": "scatter",
        "mode": "lines",
        "x": [0.0, results.end_s],
        "y": [value, value],
        "name": f"{field} {value:g}",
        "line": {"color": color, "width": 1.2, "dash": "dash"},
        "hoverinfo": "name",
    }


def _time_layout(results: Results, title: str, ytitle: str, **extra: Any) -> dict[str, Any]:
    """Layout of a chart over simulated time, with warm-up and event windows.

    ``title`` and ``ytitle`` are used as given: escape ids in them first.
    """
    shapes: list[dict[str, Any]] = []
    if results.warm_up_s > 0:
        shapes.append(_band(0.0, results.warm_up_s, "#bbbbbb", "warm-up"))
    for window in results.fault_windows:
        color = _EVENT_COLORS.get(window.kind, "#888888")
        shapes.append(_band(window.start_s, window.end_s, color, f"event:{window.event_id}"))
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": "simulated time (s)"}, "range": [0.0, results.end_s]},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"},
        "shapes": shapes,
        "annotations": event_labels(results.fault_windows, results.end_s),
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.25},
        "margin": dict(_MARGIN),
        "height": 380,
    }
    layout.update(extra)
    return layout


def event_labels(windows: Sequence[FaultWindow], end_s: float) -> list[dict[str, Any]]:
    """Labels of event windows at the top of a time chart, stacked so they never collide.

    Each label is the window's ``event_id``; its hover text gives the kind,
    target and times. A label goes to the first row (from the top) where it
    does not reach the next label, estimating its width for a narrow chart.

    Args:
        windows: The run's event windows.
        end_s: The end of the time axis.

    Returns:
        Plotly annotations, in start order.
    """
    seconds_per_char = _CHAR_PX / _PLOT_PX * end_s if end_s > 0 else 0.0
    row_ends: list[float] = []
    labels = []
    for window in sorted(windows, key=lambda w: (w.start_s, w.end_s)):
        text = plotly_text(window.event_id)
        row = next((i for i, end in enumerate(row_ends) if end <= window.start_s), len(row_ends))
        label_end = window.start_s + (len(window.event_id) + 1) * seconds_per_char
        if row == len(row_ends):
            row_ends.append(label_end)
        row_ends[row] = label_end
        color = _EVENT_COLORS.get(window.kind, "#888888")
        hover = f"{window.kind} on {window.target}, {window.start_s:g}–{window.end_s:g} s"
        labels.append(
            {
                "x": window.start_s,
                "y": 1.0,
                "xref": "x",
                "yref": "paper",
                "yshift": -_LABEL_ROW_PX * row,
                "text": text,
                "hovertext": plotly_text(hover),
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"size": 10, "color": color},
                "bgcolor": "rgba(255, 255, 255, 0.75)",
                "textangle": 0,
            }
        )
    return labels


def _band(start: float, end: float, color: str, name: str) -> dict[str, Any]:
    return {
        "type": "rect",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": start,
        "x1": end,
        "y0": 0,
        "y1": 1,
        "fillcolor": color,
        "opacity": 0.15,
        "line": {"width": 0},
        "layer": "below",
    }


def _over_time(data: list[dict[str, Any]], layout: dict[str, Any]) -> Figure:
    """A figure over simulated time: zoomed together with the others on the page."""
    return {"data": data, "layout": layout, "link_x": True}


def latency_figure(results: Results) -> Figure:
    """Latency p50, p95 and p99 per time window (ms, by finish time)."""
    series = results.latency_over_time(percentiles=(50, 95, 99))
    data = [
        _line(series.t, series.values[p], series.bin_s, f"p{p}", _PCT_COLORS[p], scale=_MS)
        for p in (50, 95, 99)
    ]
    return _over_time(data, _time_layout(results, "Latency percentiles", "latency (ms)"))


def throughput_figure(results: Results) -> Figure:
    """Completed requests per second and failures per second by reason.

    Only reasons that occurred get a line; when nothing failed, a zero line
    named ``failed (none)`` says so.
    """
    rates = results.throughput()
    data = [_line(rates.t, rates.completed, rates.bin_s, "completed", "#2ca02c")]
    failed = {r: v for r, v in sorted(rates.failed.items()) if np.any(np.asarray(v) > 0)}
    for index, (reason, values) in enumerate(failed.items()):
        color = _REASON_COLORS[index % len(_REASON_COLORS)]
        data.append(_line(rates.t, values, rates.bin_s, f"failed: {plotly_text(reason)}", color))
    if not failed:
        zeros = np.zeros(np.asarray(rates.t).size)
        data.append(_line(rates.t, zeros, rates.bin_s, "failed (none)", _REASON_COLORS[0]))
    layout = _time_layout(results, "Throughput and errors by reason", "requests / s")
    return _over_time(data, layout)


def cdf_figure(results: Results) -> Figure:
    """Cumulative distribution of the measured latencies (ms).

    A log x axis with plain millisecond ticks when the latencies span at
    least a factor of ten, else a linear one.
    """
    latencies_ms = np.asarray(results.latencies(), dtype=float) * _MS
    values, fractions = cdf_points(latencies_ms)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": _values(values),
            "y": _values(fractions),
            "name": "CDF",
            "line": {"color": "#4c72b0"},
            "hovertemplate": "%{x:,.2f} ms: %{y:.1%}<extra></extra>",
        }
    ]
    xaxis: dict[str, Any] = {"title": {"text": "latency (ms)"}, "type": "linear"}
    if values.size and float(values[0]) > 0 and float(values[-1]) >= 10 * float(values[0]):
        ticks = log_ticks(float(values[0]), float(values[-1]))
        xaxis.update(type="log", tickvals=ticks, ticktext=[plain_number(t) for t in ticks])
    layout = {
        "title": {"text": "Latency CDF"},
        "xaxis": xaxis,
        "yaxis": {"title": {"text": "fraction of requests"}, "range": [0, 1.02]},
        "height": 380,
        "margin": dict(_MARGIN),
    }
    return {"data": data, "layout": layout}


def breakdown_figure(results: Results, by: str = "overall") -> Figure:
    """Mean ms per phase as stacked bars: all requests, >= p95, >= p99 per group.

    ``by="node"`` splits the mean request instead along its critical path, one
    bar per server and one for the network (a call tree's slow dependency).
    The legend sits under the chart, below the axis title.
    """
    rows = node_breakdown_rows(results) if by == "node" else breakdown_rows(results, by)
    labels = [plotly_text(label) for label, _ in rows]
    phases = [p for p in (rows[0][1] if rows else {}) if any(v.get(p, 0) > 0 for _, v in rows)]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": phase_label(phase),
            "y": labels,
            "x": _values([values.get(phase, 0.0) for _, values in rows], _MS),
            "marker": {"color": phase_color(phase, index)},
            "hovertemplate": "%{y}: %{x:,.2f} ms<extra>" + phase_label(phase) + "</extra>",
        }
        for index, phase in enumerate(phases)
    ]
    title = "Where the time goes" + ("" if by == "overall" else f" by {by}")
    if by == "node":
        title += " (critical path)"
    legend_px = 22 * math.ceil(len(phases) / 3)
    layout = {
        "title": {"text": title},
        "barmode": "stack",
        "xaxis": {"title": {"text": "mean time per request (ms)"}},
        "yaxis": {"autorange": "reversed", "automargin": True},
        "legend": {
            "orientation": "h",
            "traceorder": "normal",
            "xref": "container",
            "x": 0,
            "y": 0,
            "yref": "container",
            "yanchor": "bottom",
        },
        "height": max(300, 140 + 34 * len(rows) + legend_px),
        "margin": {"t": 50, "r": 30, "l": 60, "b": 70 + legend_px},
    }
    return {"data": data, "layout": layout}


def levels_figure(
    results: Results,
    node: str,
    metrics: Iterable[str],
    title: str,
    ytitle: str = "level",
    *,
    first_color: int = 0,
) -> Figure:
    """Levels of a node over time: mean and maximum per bin, and their limits.

    Args:
        results: The run.
        node: Server, load balancer or edge id.
        metrics: Level metrics to draw.
        title: Chart title, used as given (escape ids in it first).
        ytitle: Title of the y axis.
        first_color: Index of the first colour in the palette.

    Returns:
        The figure.
    """
    limits = node_limits(results, node)
    data = []
    for index, metric in enumerate(metrics, start=first_color):
        level = results.series(metric, node)
        color = _LINE_COLORS[index % len(_LINE_COLORS)]
        words = metric_words(metric)
        data.append(_line(level.t, level.mean, level.bin_s, f"{words} (bin mean)", color))
        data.append(
            _line(
                level.t, level.max, level.bin_s, f"{words} (bin max)", color, width=0.8, opacity=0.5
            )
        )
        if metric in limits:
            data.append(_limit_line(results, *limits[metric], color))
    return _over_time(data, _time_layout(results, title, ytitle))


def edges_figure(results: Results) -> Figure:
    """Requests in transit on every edge (time-weighted mean per bin)."""
    data = []
    for index, edge in enumerate(results.edge_ids):
        if "in_transit" in results.level_metrics(edge):
            level = results.series("in_transit", edge)
            color = _LINE_COLORS[index % len(_LINE_COLORS)]
            data.append(_line(level.t, level.mean, level.bin_s, plotly_text(edge), color))
    return _over_time(data, _time_layout(results, "Requests in transit", "requests"))


def node_figures(results: Results) -> list[tuple[str, str, Figure]]:
    """Per-node panels: ``(node id, chart id, figure)`` in page order.

    First the load balancers that record levels: its connections and its
    other levels by unit. For each server: queues, busy cores, RAM in use,
    connections (when it models them), then its other levels, one chart per
    unit (requests in I/O, connection memory, ...). Then all edges together.
    """
    panels: list[tuple[str, str, Figure]] = []
    for lb in results.load_balancer_ids:
        if results.level_metrics(lb):
            panels += _node_panels(results, lb, [])
    for sid in results.server_ids:
        groups = [
            ("queues", "queues", ("ready_queue", "ram_wait_queue"), "requests waiting"),
            ("cores", "busy cores", ("busy_cores",), "cores"),
            ("ram", "RAM in use", ("ram_in_use_mb",), "MB"),
        ]
        panels += _node_panels(results, sid, groups)
    if results.edge_ids:
        panels.append(("edges", "edges-in-transit", edges_figure(results)))
    return panels


Group = tuple[str, str, tuple[str, ...], str]
"""``(chart key, title after the node id, level metrics, y axis title)``."""


def _node_panels(results: Results, node: str, groups: list[Group]) -> list[tuple[str, str, Figure]]:
    """The given charts of a node, its connections, and its other levels by unit."""
    recorded = results.level_metrics(node)
    groups = list(groups)
    if "connections" in recorded:
        refused = results.refused.get(node, 0)
        sockets = tuple(m for m in ("connections", "backlog") if m in recorded)
        groups.append(("connections", f"connections ({refused:,} refused)", sockets, "connections"))
    shown = {metric for _, _, metrics, _ in groups for metric in metrics}
    by_unit: dict[str, list[str]] = {}
    for metric in recorded:
        if metric not in shown:
            by_unit.setdefault(metric_unit(metric), []).append(metric)
    for unit, others in by_unit.items():
        name = ", ".join(metric_words(m) for m in others)
        groups.append((f"levels-{unit}", name, tuple(others), unit))
    panels = []
    for key, name, metrics, ytitle in groups:
        present = [m for m in metrics if m in recorded]
        if present:
            title = f"{plotly_text(node)}: {name}"
            color = 2 if key == "ram" else 0  # RAM is green, as on the PNG pages
            figure = levels_figure(results, node, present, title, ytitle, first_color=color)
            panels.append((node, f"{node}-{key}", figure))
    return panels
