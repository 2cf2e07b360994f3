"""Interactive charts of experiments as Plotly figure specifications (plain dicts).

- :func:`band_figures`: for one ensemble, or the two designs of a
  comparison overlaid, each usual series over time (throughput, latency,
  error rate, each server's ready queue): the mean across runs as a step
  line, its confidence band shaded and, for one ensemble, the 5–95 %
  envelope across runs lighter; warm-up and event windows shaded.
- :func:`sweep_figures`: a sweep's figures against its first parameter,
  mean and interval per point, the knee (dotted) and the value a search
  found (solid) as vertical lines, latency objectives as dashed lines and
  the theory's p95 as a dotted line.

Ids and names are escaped (:func:`~asyncflow.report.safe.plotly_text`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.report.interactive import event_labels
from asyncflow.report.safe import plotly_text

if TYPE_CHECKING:
    from asyncflow.experiment.ensemble import Ensemble, TimeBand
    from asyncflow.experiment.sweep import Sweep, SweepPoint

__all__ = ["Figure", "band_figures", "sweep_figures"]

Figure = dict[str, Any]
_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#17becf")
_PERCENTILE_COLORS = {"p50": "#1f77b4", "p95": "#ff7f0e", "p99": "#d62728"}
_MARGIN = {"t": 50, "r": 30, "l": 70, "b": 40}
_EVENT_COLORS = {"outage": "#d62728", "spike": "#ff7f0e"}


def _numbers(values: Iterable[float], scale: float = 1.0) -> list[float | None]:
    out: list[float | None] = []
    for value in np.asarray(list(values), dtype=float).tolist():
        v = value * scale
        out.append(None if not math.isfinite(v) else float(f"{v:.6g}"))
    return out


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _stepped(values: np.ndarray) -> np.ndarray:
    return np.append(values, values[-1]) if values.size else values


def _shade(
    x: list[float | None],
    low: list[float | None],
    high: list[float | None],
    color: str,
    alpha: float,
    name: str,
) -> list[dict[str, Any]]:
    """Two traces: the upper edge, then the lower edge filled up to it."""
    edge = {
        "type": "scatter",
        "mode": "lines",
        "x": x,
        "line": {"width": 0, "shape": "hv"},
        "hoverinfo": "skip",
        "showlegend": False,
        "legendgroup": name,
    }
    return [
        {**edge, "y": high},
        {**edge, "y": low, "fill": "tonexty", "fillcolor": _rgba(color, alpha)},
    ]


def _band_traces(
    band: TimeBand, name: str, color: str, scale: float, envelope: bool
) -> list[dict[str, Any]]:
    t = np.asarray(band.t, dtype=float)
    x = _numbers(np.append(t, t[-1] + band.bin_s) if t.size else t)
    traces: list[dict[str, Any]] = []
    if envelope:
        traces += _shade(
            x,
            _numbers(_stepped(band.low), scale),
            _numbers(_stepped(band.high), scale),
            color,
            0.08,
            name,
        )
    traces += _shade(
        x,
        _numbers(_stepped(band.ci_low), scale),
        _numbers(_stepped(band.ci_high), scale),
        color,
        0.3,
        name,
    )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": _numbers(_stepped(band.mean), scale),
            "name": plotly_text(name),
            "legendgroup": name,
            "line": {"shape": "hv", "color": color, "width": 1.6},
        }
    )
    return traces


def _time_layout(pairs: Sequence[tuple[str, Ensemble]], title: str, ytitle: str) -> dict[str, Any]:
    end_s = max(e.end_s for _, e in pairs)
    shapes: list[dict[str, Any]] = []
    for warm_up_s in sorted({e.warm_up_s for _, e in pairs}):
        if warm_up_s > 0:
            shapes.append(_rect(0.0, warm_up_s, "#bbbbbb", "warm-up"))
    windows = list(dict.fromkeys(w for _, e in pairs for w in e.fault_windows))
    for window in windows:
        color = _EVENT_COLORS.get(window.kind, "#888888")
        shapes.append(_rect(window.start_s, window.end_s, color, f"event:{window.event_id}"))
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": "simulated time (s)"}, "range": [0.0, end_s]},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"},
        "shapes": shapes,
        "annotations": event_labels(windows, end_s),
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.25},
        "margin": dict(_MARGIN),
        "height": 360,
    }


def _rect(start: float, end: float, color: str, name: str) -> dict[str, Any]:
    return {
        "type": "rect",
        "name": plotly_text(name),
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


def _panels(pairs: Sequence[tuple[str, Ensemble]]) -> list[tuple[str, str, list[str], float, str]]:
    names = list(dict.fromkeys(n for _, e in pairs for n in e.series_names))
    latency = (
        ["latency_s.p95"] if len(pairs) > 1 else ["latency_s.p50", "latency_s.p95", "latency_s.p99"]
    )
    panels = [
        ("throughput", "Throughput", ["throughput_rps"], 1.0, "requests / s"),
        ("latency", "Latency (by finish time)", [n for n in latency if n in names], 1000.0, "ms"),
        ("errors", "Error rate", ["error_rate"], 100.0, "% of finished requests"),
    ]
    for name in names:
        if name.endswith(".ready_queue"):
            server = name.split(".")[1]
            panels.append((f"queue-{server}", f"{server}: ready queue", [name], 1.0, "requests"))
    return panels


def band_figures(pairs: Sequence[tuple[str, Ensemble]]) -> dict[str, Figure]:
    """Bands over time of one ensemble, or several overlaid, keyed by a short id.

    Args:
        pairs: ``(label, ensemble)``; one pair draws percentiles and the
            5–95 % envelope, several draw each design's p95 and band.
    """
    figures: dict[str, Figure] = {}
    for key, title, names, scale, ytitle in _panels(pairs):
        data: list[dict[str, Any]] = []
        for index, (label, ensemble) in enumerate(pairs):
            for j, name in enumerate(names):
                if name not in ensemble.series_names:
                    continue
                suffix = name.rsplit(".", 1)[-1]
                single = len(pairs) == 1
                color = (
                    _PERCENTILE_COLORS.get(suffix, _COLORS[j % len(_COLORS)])
                    if single
                    else _COLORS[index % len(_COLORS)]
                )
                shown = suffix if single and len(names) > 1 else label
                data += _band_traces(ensemble.band(name), shown, color, scale, envelope=single)
        layout = _time_layout(pairs, plotly_text(title), ytitle)
        figures[key] = {"data": data, "layout": layout, "link_x": True}
    return figures


# --------------------------------------------------------------------------- sweeps


def _point_series(points: Sequence[SweepPoint], path: str, confidence: float) -> np.ndarray:
    rows = []
    for point in points:
        stats = point.headline(confidence).get(path) or {}
        rows.append(
            [
                stats.get(k) if stats.get(k) is not None else math.nan
                for k in ("mean", "ci_low", "ci_high")
            ]
        )
    return np.asarray(rows, dtype=float).reshape(-1, 3)


def _x_values(points: Sequence[SweepPoint], param: str) -> list[Any]:
    return [p.values[param] for p in points]


def _curve(
    x: list[Any], rows: np.ndarray, scale: float, name: str, color: str
) -> list[dict[str, Any]]:
    mean, low, high = (_numbers(rows[:, k], scale) for k in range(3))
    error = [None if h is None or m is None else h - m for m, h in zip(mean, high, strict=True)]
    under = [None if lo is None or m is None else m - lo for m, lo in zip(mean, low, strict=True)]
    return [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": mean,
            "name": plotly_text(name),
            "line": {"color": color, "width": 1.6},
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": error,
                "arrayminus": under,
                "color": color,
                "thickness": 1,
                "width": 3,
            },
        }
    ]


def _vertical(value: float, color: str, dash: str, name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": value,
        "x1": value,
        "y0": 0,
        "y1": 1,
        "line": {"color": color, "width": 1.5, "dash": dash},
    }


def _sweep_layout(sweep: Sweep, title: str, ytitle: str) -> dict[str, Any]:
    shapes = [_vertical(k.value, "#555555", "dot", "knee") for k in sweep.knees()]
    if sweep.found is not None and sweep.found.value is not None:
        shapes.append(_vertical(sweep.found.value, "#2ca02c", "solid", "found"))
    return {
        "title": {"text": title},
        "xaxis": {"title": {"text": plotly_text(sweep.params[0])}},
        "yaxis": {"title": {"text": ytitle}, "rangemode": "tozero"},
        "shapes": shapes,
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.25},
        "margin": dict(_MARGIN),
        "height": 380,
    }


def _labelled_lines(sweep: Sweep) -> list[tuple[str, Sequence[SweepPoint]]]:
    return [
        (", ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in others.items()), points)
        for others, points in sweep.lines()
    ]


def _latency(sweep: Sweep) -> Figure:
    param = sweep.params[0]
    lines = _labelled_lines(sweep)
    data: list[dict[str, Any]] = []
    for index, (label, points) in enumerate(lines):
        x = _x_values(points, param)
        if len(lines) == 1:
            for path, color in (
                ("latency_s.p50", "#1f77b4"),
                ("latency_s.p95", "#ff7f0e"),
                ("latency_s.p99", "#d62728"),
            ):
                rows = _point_series(points, path, sweep.confidence)
                data += _curve(x, rows, 1000.0, path.rsplit(".", 1)[-1], color)
            data += _theory_trace(x, points, sweep.confidence)
        else:
            rows = _point_series(points, "latency_s.p95", sweep.confidence)
            data += _curve(x, rows, 1000.0, f"p95 {label}", _COLORS[index % len(_COLORS)])
    layout = _sweep_layout(sweep, "Latency (mean across runs and its interval)", "ms")
    for goal in sweep.objectives:
        if goal.path.startswith("latency_s.") and goal.op in ("<", "<="):
            layout["shapes"].append(
                {
                    "type": "line",
                    "xref": "paper",
                    "yref": "y",
                    "x0": 0,
                    "x1": 1,
                    "y0": goal.threshold * 1000.0,
                    "y1": goal.threshold * 1000.0,
                    "name": plotly_text(f"objective {goal}"),
                    "line": {"color": "#d62728", "width": 1.2, "dash": "dash"},
                }
            )
    return {"data": data, "layout": layout, "link_x": False}


def _theory_trace(
    x: list[Any], points: Sequence[SweepPoint], confidence: float
) -> list[dict[str, Any]]:
    values = []
    for point in points:
        entry = point.ensemble.theory(confidence)["predictions"].get("latency_s.p95")
        values.append(entry["theory"] if entry else math.nan)
    if not np.isfinite(np.asarray(values, dtype=float)).any():
        return []
    return [
        {
            "type": "scatter",
            "mode": "lines",
            "x": x,
            "y": _numbers(values, 1000.0),
            "name": "p95 theory",
            "line": {"color": "#333333", "dash": "dot", "width": 1.4},
        }
    ]


def _simple(sweep: Sweep, path: str, scale: float, title: str, ytitle: str) -> Figure:
    param = sweep.params[0]
    lines = _labelled_lines(sweep)
    data: list[dict[str, Any]] = []
    for index, (label, points) in enumerate(lines):
        rows = _point_series(points, path, sweep.confidence)
        data += _curve(
            _x_values(points, param), rows, scale, label or "mean", _COLORS[index % len(_COLORS)]
        )
    return {"data": data, "layout": _sweep_layout(sweep, title, ytitle), "link_x": False}


def sweep_figures(sweep: Sweep) -> dict[str, Figure]:
    """The sweep's charts against its first parameter, keyed by a short id."""
    figures = {
        "sweep-latency": _latency(sweep),
        "sweep-throughput": _simple(
            sweep, "throughput_rps.mean", 1.0, "Throughput", "requests / s"
        ),
        "sweep-busiest": _simple(
            sweep, "bottleneck.busiest.utilization", 100.0, "Busiest resource", "utilisation (%)"
        ),
        "sweep-failed": _simple(
            sweep, "requests.failed_share", 100.0, "Failed requests", "% of generated"
        ),
    }
    if any("cost.per_million_requests" in p.headline(sweep.confidence) for p in sweep.points):
        figures["sweep-cost"] = _simple(
            sweep, "cost.per_million_requests", 1.0, "Cost", "per million requests"
        )
    return figures
