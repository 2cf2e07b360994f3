"""Terminal output of experiments: a progress bar and the tables of results.

Used by the command line; nothing else in the package imports rich.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from asyncflow.experiment.comparison import NO_DIFFERENCE

if TYPE_CHECKING:
    from asyncflow.experiment.comparison import Comparison
    from asyncflow.experiment.ensemble import Ensemble
    from asyncflow.experiment.objectives import Objective
    from asyncflow.experiment.replicate import Progress as ProgressCallback

__all__ = ["comparison_renderable", "ensemble_renderable", "progress_bar"]

_PHASES = {"pilot": "pilot runs (warm-up)", "runs": "runs", "a": "runs of A", "b": "runs of B"}
_VERDICT_STYLES = {"better": "green", "worse": "red", "higher": "cyan", "lower": "cyan"}


@contextmanager
def progress_bar(console: Console, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a ``progress(phase, done, total)`` callback drawing a bar with ETA.

    Args:
        console: Where to draw (the command line uses stderr).
        enabled: ``False`` yields ``None`` and draws nothing.
    """
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
        bar.update(tasks[phase], completed=done, total=total)

    with bar:
        yield update


def _number(value: float | None) -> str:
    """At most about 8 characters: 23,738 / 39.83 / 0.0267 / 3.01e-05."""
    if value is None or not math.isfinite(value):
        return "–"
    if abs(value) >= 1e4:
        return f"{value:,.0f}" if abs(value) < 1e8 else f"{value:.3g}"
    return f"{value:.4g}" if abs(value) >= 1e-2 or value == 0 else f"{value:.3g}"


def ensemble_renderable(ensemble: Ensemble, objectives: Iterable[Objective] = ()) -> RenderableType:
    """The ensemble's header, figures table, objectives and stopping outcome."""
    warm = ensemble.warm_up
    cut = f"{warm.warm_up_s:g} s ({warm.method}"
    cut += f", {warm.pilot_runs} pilot runs)" if warm.method == "mser-5" else ")"
    header = (
        f"[bold]{ensemble.name}[/bold]: {ensemble.runs} runs, seed {ensemble.seed}, "
        f"{ensemble.end_s:g} s simulated each, warm-up {cut}, "
        f"{ensemble.wall_s:.1f} s wall"
    )
    level = f"{ensemble.confidence:.0%}"
    table = Table(
        title=f"Figures across runs: mean ± half-width of the {level} interval "
        "(min, max and the interval bounds are in the JSON summary)",
        title_justify="left",
    )
    table.add_column("figure", overflow="fold")
    rows = [(path, ensemble.stats(path)) for path in ensemble.figures]
    partial = any(s.n < ensemble.runs for _, s in rows)
    for column in ("mean", f"± {level}", "std", *(("n",) if partial else ())):
        table.add_column(column, justify="right", no_wrap=True, min_width=8)
    for path, s in rows:
        cells = [_number(s.mean), _number(s.half_width), _number(s.std)]
        table.add_row(path, *cells, *((str(s.n),) if partial else ()))
    parts: list[RenderableType] = [header, table]
    goals = list(objectives)
    if goals:
        slo = Table(title="Objectives (share of runs meeting each)", title_justify="left")
        for column in ("objective", "P(met)", f"{level} CI", "runs met"):
            slo.add_column(column, justify="left" if column == "objective" else "right")
        for goal in goals:
            p = ensemble.probability(goal)
            slo.add_row(
                str(goal),
                f"{p.p:.1%}",
                f"{p.ci_low:.1%} – {p.ci_high:.1%}",
                f"{p.successes}/{p.n}",
            )
        parts.append(slo)
    if ensemble.stopping is not None:
        rule = ensemble.stopping
        outcome = "reached" if rule.met else f"not reached within {rule.max_runs} runs"
        parts.append(
            f"precision of {rule.metric}: half-width {rule.relative_half_width:.2%} of the mean "
            f"(target {rule.precision:.2%}, {outcome})"
        )
    if warm.method == "mser-5" and warm.warm_up_s >= ensemble.end_s / 2 - 1e-9:
        parts.append(
            "[yellow]warning: MSER-5 chose its largest allowed cut (half the horizon): the "
            "runs may be too short, or the scenario not stationary (e.g. fault windows)[/yellow]"
        )
    return Group(*parts)


def comparison_renderable(comparison: Comparison) -> RenderableType:
    """The comparison's header and the table of paired differences."""
    a, b = comparison.a, comparison.b
    level = f"{comparison.confidence:.0%}"
    header = (
        f"A = [bold]{a.name}[/bold], B = [bold]{b.name}[/bold]: {comparison.runs} paired runs "
        f"(common random numbers), seed {a.seed}"
    )
    table = Table(
        title=f"Paired differences B − A: mean ± half-width of the {level} interval "
        "(n.s.: no significant difference; relative differences are in the JSON summary)",
        title_justify="left",
    )
    table.add_column("figure", overflow="fold")
    for column in ("A mean", "B − A", f"± {level}"):
        table.add_column(column, justify="right", no_wrap=True, min_width=8)
    table.add_column("verdict", no_wrap=True)
    for path, d in comparison.differences().items():
        style = _VERDICT_STYLES.get(d.verdict, "")
        verdict = "n.s." if d.verdict == NO_DIFFERENCE else d.verdict
        table.add_row(
            path,
            _number(a.stats(path).mean),
            _number(d.mean),
            _number((d.ci_high - d.ci_low) / 2.0),
            f"[{style}]{verdict}[/{style}]" if style else verdict,
        )
    return Group(header, table)
