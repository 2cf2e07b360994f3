"""The chart of an evaluation: each metric's mean and interval, by policy."""

from __future__ import annotations

import math
from pathlib import Path

from asyncflow._files import atomic_path
from asyncflow.rl.evaluate import METRICS, Evaluation

__all__ = ["write_evaluation_png"]


def write_evaluation_png(evaluation: Evaluation, path: Path) -> Path:
    """One bar chart per metric (mean, with its confidence interval), written to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    policies = list(evaluation.episodes)
    columns = 4
    rows = math.ceil(len(METRICS) / columns)
    figure = Figure(figsize=(4.0 * columns, 3.2 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, metric in zip(axes, METRICS, strict=False):
        stats = [evaluation.stats(p, metric) for p in policies]
        means = [s.mean for s in stats]
        errors = [0.0 if math.isnan(s.half_width) else s.half_width for s in stats]
        ax.bar(range(len(policies)), means, yerr=errors, capsize=3, color="#4c72b0")
        ax.set_title(metric)
        ax.set_xticks(range(len(policies)), policies, rotation=45, ha="right", fontsize=8)
    for ax in axes[len(METRICS) :]:
        ax.set_visible(False)
    figure.suptitle(
        f"{evaluation.scenario}: {len(evaluation.seeds)} episodes a policy, "
        f"{evaluation.confidence:.0%} intervals"
    )
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110)
    return path
