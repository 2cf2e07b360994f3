"""The terminal table of a comparison of variants, and its chart (PNG).

The table has one section per figure and one row per variant: the base's
mean, the variant's, the paired difference with its interval, the adjusted
p-value and the verdict; its caption states the correction. The chart has
one panel per figure: each variant's paired difference from the base as a
bar with its interval, coloured by the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from asyncflow.experiment.comparison import NO_DIFFERENCE

if TYPE_CHECKING:
    from rich.console import RenderableType

    from asyncflow.experiment.comparison_variants import Judged, VariantComparison

__all__ = ["variants_renderable", "write_variants_chart"]

_STYLES = {"better": "green", "worse": "red", "higher": "cyan", "lower": "cyan"}
_COLOURS = {"better": "#2e7d32", "worse": "#c62828", "higher": "#00838f", "lower": "#00838f"}
_NEUTRAL = "#9e9e9e"
_DPI = 100


def variants_renderable(comparison: VariantComparison, paths: Sequence[str]) -> RenderableType:
    """The header, warnings and table of the comparison, for the figures in ``paths``."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from asyncflow.experiment.display import markup_text, number

    base = comparison.base
    header = (
        f"base = [bold]{markup_text(base.name)}[/bold], {len(comparison.variants)} variant(s): "
        f"{comparison.runs} paired runs each (common random numbers), seed {base.seed}"
    )
    table = Table(
        title="Paired differences variant − base (↑ higher is better, ↓ lower is better)",
        caption=markup_text(comparison.caption),
        caption_justify="left",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
    )
    table.add_column("figure / variant", overflow="fold", min_width=16)
    for column in ("base", "variant", "variant − base [interval]"):
        table.add_column(column, justify="right")
    table.add_column("p adj.", justify="right", no_wrap=True)
    table.add_column("verdict", justify="right", no_wrap=True)
    for index, figure in enumerate(f for f in comparison.figures if f.path in paths):
        if index:
            table.add_section()
        better = "↑" if figure.direction > 0 else "↓"
        table.add_row(Text(f"{figure.label.strip()} {better}", style="bold"))
        for judged in (j for j in comparison.judged if j.figure.path == figure.path):
            scale = figure.scale
            table.add_row(
                Text("  " + _plain(judged.variant)),
                number(judged.base_mean, scale),
                number(judged.variant_mean, scale),
                f"{number(judged.mean, scale)} "
                f"[{number(judged.ci_low, scale)}, {number(judged.ci_high, scale)}]",
                _p_value(judged.p_adjusted),
                _verdict_cell(judged),
            )
    notes = [f"[yellow]warning: {markup_text(w)}[/yellow]" for w in comparison.warnings]
    return Group(header, *notes, table)


def _plain(text: str) -> str:
    from asyncflow.experiment.display import terminal_text

    return terminal_text(text)


def _p_value(p: float) -> str:
    if p != p:  # NaN
        return "–"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _verdict_cell(judged: Judged) -> str:
    verdict = "n.s." if judged.verdict == NO_DIFFERENCE else judged.verdict
    style = _STYLES.get(judged.verdict)
    return f"[{style}]{verdict}[/{style}]" if style else verdict


def write_variants_chart(comparison: VariantComparison, paths: Sequence[str], path: Path) -> Path:
    """Draw one panel per figure: each variant's difference from the base with its interval.

    Args:
        comparison: The comparison.
        paths: The figures to draw, in the comparison's order.
        path: The PNG to write (whole or not at all).

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from asyncflow._files import write_atomic
    from asyncflow.report.safe import mpl_text

    figures = [f for f in comparison.figures if f.path in paths]
    columns = min(3, max(1, len(figures)))
    rows = max(1, -(-len(figures) // columns))
    chart = Figure(figsize=(4.4 * columns, 3.6 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(chart)
    axes = chart.subplots(rows, columns, squeeze=False).ravel()
    names = [mpl_text(name) for name in comparison.variants]
    for ax, figure in zip(axes, figures, strict=False):
        judged = [j for j in comparison.judged if j.figure.path == figure.path]
        scale = figure.scale
        means = _finite([j.mean * scale for j in judged])
        below = _finite([max(0.0, (j.mean - j.ci_low) * scale) for j in judged])
        above = _finite([max(0.0, (j.ci_high - j.mean) * scale) for j in judged])
        colours = [_COLOURS.get(j.verdict, _NEUTRAL) for j in judged]
        ax.bar(range(len(judged)), means, color=colours, yerr=[below, above], capsize=4)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
        better = "higher" if figure.direction > 0 else "lower"
        ax.set_title(f"{figure.label.strip()}\nvariant − base ({better} is better)", fontsize=9)
        ax.grid(visible=True, axis="y", alpha=0.3)
    for ax in axes[len(figures) :]:
        ax.set_visible(False)
    title = f"Variants against {mpl_text(comparison.base.name)}\n{comparison.caption}"
    chart.suptitle(title, fontsize=8)
    return write_atomic(path, lambda target: chart.savefig(target, format="png", dpi=_DPI))


def _finite(values: list[float]) -> list[float]:
    return [v if v == v else 0.0 for v in values]
