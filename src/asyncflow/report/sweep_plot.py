"""The chart of a sweep: figures against the swept parameter, intervals shaded, knee marked.

One page: latency percentiles (p50, p95, p99; only p95, one line per
combination of the other parameters, for a grid), throughput, the busiest
resource's utilisation, the share of failed requests and, when the scenario
is priced, the cost per million requests, each against the first parameter.
Each line is the mean across runs with its confidence interval shaded. The
knee of the p95 curve is a dotted vertical line, the value a search found a
solid one, a latency objective a dashed horizontal line, and the theory's
p95 (where a closed form exists) a dotted line beside the simulated one.

Only reads sweeps; matplotlib is imported when something is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow._files import write_atomic
from asyncflow.report.bands import plain_text

if TYPE_CHECKING:
    from os import PathLike

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from asyncflow.experiment.sweep import Sweep, SweepPoint

__all__ = ["KNEE_GID", "build_sweep_chart", "write_sweep_chart"]

KNEE_GID = "knee"
"""Artist gid of a knee's vertical line."""

FOUND_GID = "found"
"""Artist gid of the line at the value a search found."""

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf")
_PERCENTILES = (("latency_s.p50", "p50"), ("latency_s.p95", "p95"), ("latency_s.p99", "p99"))
_DPI = 100


def _x(points: Sequence[SweepPoint], param: str) -> tuple[np.ndarray, list[str] | None]:
    values = [p.values[param] for p in points]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=float), None
    return np.arange(len(values), dtype=float), [str(v) for v in values]


def _series(points: Sequence[SweepPoint], path: str, confidence: float) -> np.ndarray:
    rows = []
    for point in points:
        stats = point.headline(confidence).get(path) or {}
        rows.append([_f(stats.get(k)) for k in ("mean", "ci_low", "ci_high")])
    return np.asarray(rows, dtype=float).reshape(-1, 3)


def _f(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _line(ax: Axes, x: np.ndarray, rows: np.ndarray, scale: float, label: str, color: str) -> None:
    if not np.isfinite(rows[:, 0]).any():
        return
    ax.plot(x, rows[:, 0] * scale, marker="o", markersize=3, color=color, label=label)
    low, high = rows[:, 1] * scale, rows[:, 2] * scale
    band = np.isfinite(low) & np.isfinite(high)
    if band.any():
        ax.fill_between(x[band], low[band], high[band], color=color, alpha=0.2, linewidth=0)


def _lines(sweep: Sweep) -> list[tuple[str, Sequence[SweepPoint]]]:
    labelled: list[tuple[str, Sequence[SweepPoint]]] = []
    for others, points in sweep.lines():
        label = ", ".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in others.items())
        labelled.append((plain_text(label), points))
    return labelled


def _latency_panel(ax: Axes, sweep: Sweep) -> None:
    param = sweep.params[0]
    lines = _lines(sweep)
    for index, (label, points) in enumerate(lines):
        x, _ = _x(points, param)
        if len(lines) == 1:
            for j, (path, name) in enumerate(_PERCENTILES):
                color = _COLORS[j]
                _line(ax, x, _series(points, path, sweep.confidence), 1000.0, name, color)
            _theory(ax, x, points, sweep.confidence)
        else:
            color = _COLORS[index % len(_COLORS)]
            _line(ax, x, _series(points, "latency_s.p95", sweep.confidence), 1000.0, label, color)
    for goal in sweep.objectives:
        if goal.path.startswith("latency_s.") and goal.op in ("<", "<="):
            ax.axhline(goal.threshold * 1000.0, color="#d62728", linestyle="--", linewidth=1)
            ax.annotate(
                plain_text(f"objective {goal}"),
                (0.99, goal.threshold * 1000.0),
                xycoords=("axes fraction", "data"),
                xytext=(0, 3),
                textcoords="offset points",
                fontsize="small",
                color="#d62728",
                ha="right",
                va="bottom",
            )
    ax.set_title("Latency (mean across runs, interval shaded)")
    ax.set_ylabel("latency (ms)")


def _theory(ax: Axes, x: np.ndarray, points: Sequence[SweepPoint], confidence: float) -> None:
    theory = []
    for point in points:
        entry = point.ensemble.theory(confidence)["predictions"].get("latency_s.p95")
        theory.append(entry["theory"] * 1000.0 if entry else math.nan)
    values = np.asarray(theory, dtype=float)
    if np.isfinite(values).any():
        ax.plot(x, values, linestyle=":", color="0.2", label="p95 theory")


def _simple_panel(ax: Axes, sweep: Sweep, path: str, scale: float, title: str, ylabel: str) -> None:
    param = sweep.params[0]
    lines = _lines(sweep)
    for index, (label, points) in enumerate(lines):
        x, _ = _x(points, param)
        color = _COLORS[index % len(_COLORS)] if len(lines) > 1 else "#1f77b4"
        _line(ax, x, _series(points, path, sweep.confidence), scale, label or "mean", color)
    ax.set_title(title)
    ax.set_ylabel(ylabel)


def _markers(ax: Axes, sweep: Sweep) -> None:
    for knee in sweep.knees():
        line = ax.axvline(knee.value, color="0.4", linestyle=":", linewidth=1.2)
        line.set_gid(KNEE_GID)
    found = sweep.found
    if found is not None and found.value is not None:
        line = ax.axvline(found.value, color="#2ca02c", linewidth=1.2)
        line.set_gid(FOUND_GID)


def build_sweep_chart(sweep: Sweep) -> Figure:
    """The chart of a sweep (see the module's docstring), on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    priced = any("cost.per_million_requests" in p.headline(sweep.confidence) for p in sweep.points)
    panels = 5 if priced else 4
    rows = math.ceil(panels / 2)
    figure = Figure(figsize=(13, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, 2, squeeze=False).ravel()
    _latency_panel(axes[0], sweep)
    _simple_panel(axes[1], sweep, "throughput_rps.mean", 1.0, "Throughput", "requests / s")
    _simple_panel(
        axes[2],
        sweep,
        "bottleneck.busiest.utilization",
        100.0,
        "Busiest resource",
        "utilisation (%)",
    )
    _simple_panel(
        axes[3], sweep, "requests.failed_share", 100.0, "Failed requests", "% of generated"
    )
    if priced:
        _simple_panel(
            axes[4], sweep, "cost.per_million_requests", 1.0, "Cost", "per million requests"
        )
    x_label = plain_text(sweep.params[0])
    first = sweep.lines()[0][1]
    _, ticks = _x(first, sweep.params[0])
    for ax in axes[:panels]:
        _markers(ax, sweep)
        ax.set_xlabel(x_label)
        ax.set_ylim(bottom=0.0)
        ax.grid(visible=True, alpha=0.3)
        if ticks is not None:
            ax.set_xticks(range(len(ticks)), [plain_text(t) for t in ticks])
        if len(ax.get_legend_handles_labels()[0]) > 1:
            ax.legend(loc="upper left", fontsize="small")
    for ax in axes[panels:]:
        ax.set_visible(False)
    figure.suptitle(plain_text(_title(sweep)))
    return figure


def _title(sweep: Sweep) -> str:
    title = f"{sweep.name}: {len(sweep.points)} points × {sweep.runs} runs"
    knees = sweep.knees()
    if knees:
        title += "; knee (dotted) at " + ", ".join(f"{k.value:g}" for k in knees)
    if sweep.found is not None and sweep.found.value is not None:
        title += f"; found (solid) {sweep.found.value:g}"
    return title


def write_sweep_chart(sweep: Sweep, path: str | PathLike[str]) -> Path:
    """Draw :func:`build_sweep_chart` and save it as a PNG (whole or not at all)."""
    figure = build_sweep_chart(sweep)
    return write_atomic(path, lambda target: figure.savefig(target, format="png", dpi=_DPI))
