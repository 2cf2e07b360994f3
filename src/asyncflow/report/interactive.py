"""Interactive charts of a run as Plotly figure specifications (plain dicts).

Each function returns ``{"data": [...], "layout": {...}}``, ready for
``Plotly.newPlot`` in a browser; the HTML report (:mod:`asyncflow.report.html`)
embeds them with the Plotly bundle. Building plain dicts needs no Python
plotting library at all: the ``plotly`` package is only used for its
JavaScript bundle when a page is written.

Every chart over time shades the warm-up and each event window (a shape
named ``event:<event_id>``) and labels the window with its ``event_id``.
Missing values (NaN) become ``None`` (``null`` in JSON: a gap in the line).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.attribution import phase_label
from asyncflow.report.charts import breakdown_rows, cdf_points, phase_color

if TYPE_CHECKING:
    from collections.abc import Iterable

    from asyncflow.results import Results

__all__ = [
    "Figure",
    "breakdown_figure",
    "cdf_figure",
    "edges_figure",
    "latency_figure",
    "levels_figure",
    "node_figures",
    "server_resources_figure",
    "throughput_figure",
]

Figure = dict[str, Any]
_MS = 1000.0
_EVENT_COLORS = {"outage": "#d62728", "spike": "#ff7f0e"}
_PCT_COLORS = {50: "#1f77b4", 95: "#ff7f0e", 99: "#d62728"}
_REASON_COLORS = ("#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
_LINE_COLORS = ("#1f77b4", "#9467bd", "#2ca02c", "#ff7f0e", "#d62728", "#17becf", "#8c564b")


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


def _time_layout(results: Results, title: str, ytitle: str, **extra: Any) -> dict[str, Any]:
    """Layout of a chart over simulated time, with warm-up and event windows."""
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    if results.warm_up_s > 0:
        shapes.append(_band(0.0, results.warm_up_s, "#bbbbbb", "warm-up"))
    for window in results.fault_windows:
        color = _EVENT_COLORS.get(window.kind, "#888888")
        shapes.append(_band(window.start_s, window.end_s, color, f"event:{window.event_id}"))
        annotations.append(
            {
                "x": window.start_s,
                "y": 1.0,
                "xref": "x",
                "yref": "paper",
                "text": f"{window.event_id} ({window.kind} on {window.target})",
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "bottom",
                "font": {"size": 10, "color": color},
                "textangle": 0,
            }
        )
    layout: dict[str, Any] = {
        "title": {"text": title},
        "xaxis": {"title": {"text": "simulated time (s)"}, "range": [0.0, results.end_s]},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"},
        "shapes": shapes,
        "annotations": annotations,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.25},
        "margin": {"t": 60, "r": 30, "l": 60, "b": 40},
        "height": 380,
    }
    layout.update(extra)
    return layout


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


def latency_figure(results: Results) -> Figure:
    """Latency p50, p95 and p99 per time window (ms, by finish time)."""
    series = results.latency_over_time(percentiles=(50, 95, 99))
    data = [
        _line(series.t, series.values[p], series.bin_s, f"p{p}", _PCT_COLORS[p], scale=_MS)
        for p in (50, 95, 99)
    ]
    return {"data": data, "layout": _time_layout(results, "Latency percentiles", "latency (ms)")}


def throughput_figure(results: Results) -> Figure:
    """Completed requests per second and failures per second by reason."""
    rates = results.throughput()
    data = [_line(rates.t, rates.completed, rates.bin_s, "completed", "#2ca02c")]
    for index, (reason, values) in enumerate(sorted(rates.failed.items())):
        color = _REASON_COLORS[index % len(_REASON_COLORS)]
        data.append(_line(rates.t, values, rates.bin_s, f"failed: {reason}", color))
    layout = _time_layout(results, "Throughput and errors by reason", "requests / s")
    return {"data": data, "layout": layout}


def cdf_figure(results: Results) -> Figure:
    """Cumulative distribution of the measured latencies (ms, log x axis)."""
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
        }
    ]
    log = values.size > 0 and float(values[0]) > 0
    layout = {
        "title": {"text": "Latency CDF"},
        "xaxis": {"title": {"text": "latency (ms)"}, "type": "log" if log else "linear"},
        "yaxis": {"title": {"text": "fraction of requests"}, "range": [0, 1.02]},
        "height": 380,
        "margin": {"t": 60, "r": 30, "l": 60, "b": 40},
    }
    return {"data": data, "layout": layout}


def breakdown_figure(results: Results, by: str = "overall") -> Figure:
    """Mean ms per phase as stacked bars: all requests, >= p95, >= p99 per group."""
    rows = breakdown_rows(results, by)
    labels = [label for label, _ in rows]
    phases = [p for p in (rows[0][1] if rows else {}) if any(v.get(p, 0) > 0 for _, v in rows)]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": phase_label(phase),
            "y": labels,
            "x": _values([values.get(phase, 0.0) for _, values in rows], _MS),
            "marker": {"color": phase_color(phase, index)},
            "hovertemplate": "%{y}: %{x:.2f} ms<extra>" + phase_label(phase) + "</extra>",
        }
        for index, phase in enumerate(phases)
    ]
    title = "Where the time goes" + ("" if by == "overall" else f" by {by}")
    layout = {
        "title": {"text": title},
        "barmode": "stack",
        "xaxis": {"title": {"text": "mean time per request (ms)"}},
        "yaxis": {"autorange": "reversed", "automargin": True},
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "height": max(300, 170 + 34 * len(rows)),
        "margin": {"t": 110, "r": 30, "l": 60, "b": 50},
    }
    return {"data": data, "layout": layout}


def levels_figure(
    results: Results, node: str, metrics: Iterable[str], title: str, ytitle: str = "level"
) -> Figure:
    """Levels of a node over time: the mean per bin, and the maximum dotted."""
    data = []
    for index, metric in enumerate(metrics):
        level = results.series(metric, node)
        color = _LINE_COLORS[index % len(_LINE_COLORS)]
        label = metric.replace("_", " ")
        data.append(_line(level.t, level.mean, level.bin_s, f"{label} (mean)", color))
        data.append(
            _line(
                level.t,
                level.max,
                level.bin_s,
                f"{label} (max)",
                color,
                width=0.8,
                opacity=0.5,
                visible="legendonly",
            )
        )
    return {"data": data, "layout": _time_layout(results, title, ytitle)}


def server_resources_figure(results: Results, server_id: str) -> Figure:
    """Busy cores (left axis) and RAM in use in MB (right axis) of a server."""
    cores = results.series("busy_cores", server_id)
    ram = results.series("ram_in_use_mb", server_id)
    data = [
        _line(cores.t, cores.mean, cores.bin_s, "busy cores", "#1f77b4"),
        _line(
            ram.t,
            ram.mean,
            ram.bin_s,
            "RAM in use (MB)",
            "#2ca02c",
            yaxis="y2",
            fill="tozeroy",
            fillcolor="rgba(44, 160, 44, 0.15)",
        ),
    ]
    layout = _time_layout(
        results,
        f"{server_id}: cores and RAM",
        "busy cores",
        yaxis2={
            "title": {"text": "RAM in use (MB)"},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )
    return {"data": data, "layout": layout}


def edges_figure(results: Results) -> Figure:
    """Requests in transit on every edge (time-weighted mean per bin)."""
    data = []
    for index, edge in enumerate(results.edge_ids):
        if "in_transit" in results.level_metrics(edge):
            level = results.series("in_transit", edge)
            color = _LINE_COLORS[index % len(_LINE_COLORS)]
            data.append(_line(level.t, level.mean, level.bin_s, edge, color))
    return {"data": data, "layout": _time_layout(results, "Requests in transit", "requests")}


def node_figures(results: Results) -> list[tuple[str, str, Figure]]:
    """Per-node panels: ``(section title, chart id, figure)`` in page order.

    For each server: queues, cores and RAM, then every other level it records
    (requests in I/O, open connections, backlog, ...); the load balancer's
    levels if it records any; all edges together.
    """
    panels: list[tuple[str, str, Figure]] = []
    queues = ("ready_queue", "ram_wait_queue")
    shown = {*queues, "busy_cores", "ram_in_use_mb"}
    for sid in results.server_ids:
        recorded = results.level_metrics(sid)
        present = [m for m in queues if m in recorded]
        panels.append(
            (
                sid,
                f"{sid}-queues",
                levels_figure(results, sid, present, f"{sid}: queues", "requests"),
            )
        )
        if {"busy_cores", "ram_in_use_mb"} <= set(recorded):
            panels.append((sid, f"{sid}-resources", server_resources_figure(results, sid)))
        others = [m for m in recorded if m not in shown]
        if others:
            title = f"{sid}: " + ", ".join(m.replace("_", " ") for m in others)
            panels.append((sid, f"{sid}-levels", levels_figure(results, sid, others, title)))
    lb = results.load_balancer_id
    if lb is not None and results.level_metrics(lb):
        figure = levels_figure(results, lb, results.level_metrics(lb), f"{lb}: levels")
        panels.append((lb, f"{lb}-levels", figure))
    if results.edge_ids:
        panels.append(("edges", "edges-in-transit", edges_figure(results)))
    return panels
