"""``replicas.png``: each replica group's replicas over time (runs with groups only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from asyncflow._files import atomic_path
from asyncflow.analysis.replicas import replica_groups
from asyncflow.results import Results

__all__ = ["write_replica_chart"]

SERIES = (
    ("replicas_billed", "billed", "#999999"),
    ("replicas_starting", "starting", "#dd8452"),
    ("replicas_ready", "ready", "#4c72b0"),
    ("replicas_in_rotation", "in rotation", "#55a868"),
)


def write_replica_chart(results: Results, under: Callable[[str], Path]) -> list[Path]:
    """Write ``replicas.png`` (one panel per group) when the run has groups; return it."""
    groups = list(replica_groups(results))
    if not groups:
        return []
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 2.8 * len(groups)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(groups), 1, squeeze=False).ravel()
    for ax, group in zip(axes, groups, strict=True):
        for metric, label, color in SERIES:
            series = results.series(metric, group)
            ax.step(series.t, series.mean, where="post", label=label, color=color)
        ax.set_title(f"{group}: replicas (time-weighted mean per bin)")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("replicas")
        ax.legend(loc="upper left", fontsize=8)
    path = under("replicas.png")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)
    return [path]
