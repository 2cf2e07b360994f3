"""Terminal output of experiments: a progress bar and the tables of results.

Used by the command line; nothing else in the package imports rich.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
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
from rich.text import Text

from asyncflow.experiment.comparison import NO_DIFFERENCE
from asyncflow.experiment.figures import GROUP_ORDER, Figure, describe, select

if TYPE_CHECKING:
    from asyncflow.experiment.comparison import Comparison
    from asyncflow.experiment.ensemble import Ensemble
    from asyncflow.experiment.gates import EnsembleGate
    from asyncflow.experiment.options import Progress as ProgressCallback

__all__ = [
    "comparison_renderable",
    "ensemble_renderable",
    "markup_text",
    "number",
    "objectives_table",
    "progress_bar",
    "terminal_text",
]

_PHASES = {
    "pilot": "pilot runs (warm-up)",
    "runs": "runs",
    "a": "runs of A",
    "b": "runs of B",
    "values": "values tried",
}
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


def terminal_text(text: object) -> str:
    r"""``text`` with control and bidirectional-override characters made visible.

    Ids, names and paths come from users: an ANSI escape or a right-to-left
    override must not reach the terminal as such. Each such character is
    shown as its escape (``\x1b``, ``\u202e``).
    """
    return _CONTROL.sub(_visible, str(text))


def markup_text(text: object) -> str:
    """``text`` safe inside Rich markup: control characters shown, brackets escaped."""
    return escape(terminal_text(text))


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def number(value: float | None, scale: float = 1.0) -> str:
    """A fixed-point number (never scientific): 23,738 / 398.5 / 39.83 / 0.027 / 0.0003."""
    if value is None or not math.isfinite(value):
        return "–"
    value *= scale
    size = abs(value)
    if size >= 1e4:
        return f"{value:,.0f}"
    if size >= 100:
        return f"{value:,.1f}"
    if value == 0:
        return "0"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}" if size >= 0.01 else f"{value:.4f}"


@dataclass(frozen=True, slots=True)
class _Row:
    figure: Figure
    cells: tuple[str, ...]


def _grouped_table(title: str, columns: Sequence[str], rows: Sequence[_Row]) -> Table:
    """One table, a bold header row per group, figures indented beneath."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, title_style="bold")
    table.add_column("figure", overflow="fold")
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.figure.group, []).append(row)
    order = [g for g in GROUP_ORDER if g in groups] + [g for g in groups if g not in GROUP_ORDER]
    for index, group in enumerate(order):
        if index:
            table.add_section()
        table.add_row(Text(group, style="bold"), *([""] * len(columns)))
        for row in sorted(groups[group], key=lambda r: r.figure.rank):
            table.add_row(Text("  " + terminal_text(row.figure.label)), *row.cells)
    return table


def _shown_paths(
    paths: Sequence[str], metrics: Sequence[str], zero: Callable[[str], bool]
) -> tuple[list[str], int]:
    """Paths selected by ``metrics`` minus those that are 0 everywhere, and how many were hidden."""
    selected, _ = select(paths, metrics)
    shown = [p for p in selected if not zero(p)]
    return shown, len(selected) - len(shown)


def _footnote(hidden: int, metrics: Sequence[str]) -> str:
    notes = []
    if hidden == 1:
        notes.append("1 figure equal to 0 in every run is not shown")
    elif hidden:
        notes.append(f"{hidden} figures equal to 0 in every run are not shown")
    if not metrics:
        notes.append("--metric PATTERN shows only some (e.g. 'latency_s', 'servers.*.cpu*')")
    notes.append("every figure is in the JSON summary")
    return "[dim]" + "; ".join(notes) + ".[/dim]"


def ensemble_renderable(
    ensemble: Ensemble, objectives: Iterable[EnsembleGate] = (), metrics: Sequence[str] = ()
) -> RenderableType:
    """The ensemble's header, grouped figures table, objectives and stopping outcome.

    Args:
        ensemble: The replications.
        objectives: Objectives checked on the runs, with their verdicts.
        metrics: Patterns selecting the figures shown (see
            :func:`~asyncflow.experiment.figures.select`); all when empty.
    """
    warm = ensemble.warm_up
    cut = f"{warm.warm_up_s:g} s ({warm.method}"
    cut += f", {warm.pilot_runs} pilot runs)" if warm.method == "mser-5" else ")"
    header = (
        f"[bold]{markup_text(ensemble.name)}[/bold]: {ensemble.runs} runs, seed {ensemble.seed}, "
        f"{ensemble.end_s:g} s simulated each, warm-up {cut}, "
        f"{ensemble.wall_s:.1f} s wall"
    )
    level = f"{ensemble.confidence:.0%}"

    def zero(path: str) -> bool:
        values = ensemble.values(path)
        return bool(np.all(values[np.isfinite(values)] == 0.0))

    paths, hidden = _shown_paths(ensemble.figures, metrics, zero)
    stats = {path: ensemble.stats(path) for path in paths}
    partial = any(s.n < ensemble.runs for s in stats.values())
    rows = []
    for path, s in stats.items():
        figure = describe(path)
        cells = [number(s.mean, figure.scale), number(s.half_width, figure.scale)]
        cells.append(number(s.std, figure.scale))
        rows.append(_Row(figure, (*cells, *((str(s.n),) if partial else ()))))
    columns = ["mean", f"± {level}", "std", *(("n",) if partial else ())]
    table = _grouped_table(
        f"Figures across runs: mean ± half-width of the {level} interval", columns, rows
    )
    parts: list[RenderableType] = [header, table, _footnote(hidden, metrics)]
    goals = list(objectives)
    if goals:
        parts.append(objectives_table(goals, level))
    if ensemble.stopping is not None:
        rule = ensemble.stopping
        outcome = "reached" if rule.met else f"not reached within {rule.max_runs} runs"
        parts.append(
            f"precision of {markup_text(rule.metric)}: half-width "
            f"{rule.relative_half_width:.2%} of the mean (target {rule.precision:.2%}, {outcome})"
        )
    if warm.method == "mser-5" and warm.warm_up_s >= ensemble.end_s / 2 - 1e-9:
        parts.append(
            "[yellow]warning: MSER-5 chose its largest allowed cut (half the horizon): the "
            "runs may be too short, or the scenario not stationary (e.g. fault windows)[/yellow]"
        )
    return Group(*parts)


def objectives_table(gates: Sequence[EnsembleGate], level: str, title: str = "") -> Table:
    """Each objective: the share of runs meeting it, its interval, the share needed, the verdict."""
    heading = title or "Objectives (share of runs meeting each)"
    slo = Table(title=heading, title_justify="left")
    for column in ("objective", "P(met)", f"{level} CI", "runs met", "needed", "verdict"):
        slo.add_column(column, justify="left" if column == "objective" else "right")
    for gate in gates:
        p = gate.probability
        slo.add_row(
            Text(terminal_text(gate.objective)),
            f"{p.p:.1%}",
            f"{p.ci_low:.1%} – {p.ci_high:.1%}",
            f"{p.successes}/{p.n}",
            f"{gate.required:.0%}",
            "[green]pass[/green]" if gate.passed else "[red]missed[/red]",
        )
    return slo


def comparison_renderable(
    comparison: Comparison,
    metrics: Sequence[str] = (),
    gates: Mapping[str, Sequence[EnsembleGate]] | None = None,
) -> RenderableType:
    """The comparison's header, warnings, grouped table of paired differences and objectives.

    Args:
        comparison: The two ensembles.
        metrics: Patterns selecting the figures shown; all when empty.
        gates: Objectives checked on ``"a"`` and ``"b"`` (B is the one gated).
    """
    a, b = comparison.a, comparison.b
    level = f"{comparison.confidence:.0%}"
    header = (
        f"A = [bold]{markup_text(a.name)}[/bold], B = [bold]{markup_text(b.name)}[/bold]: "
        f"{comparison.runs} paired runs (common random numbers), seed {a.seed}"
    )

    def zero(path: str) -> bool:
        values = np.concatenate([a.values(path), b.values(path)])
        return bool(np.all(values[np.isfinite(values)] == 0.0))

    paths, hidden = _shown_paths(comparison.figures, metrics, zero)
    rows = []
    for path in paths:
        d = comparison.difference(path)
        figure = describe(path)
        style = _VERDICT_STYLES.get(d.verdict, "")
        verdict = "n.s." if d.verdict == NO_DIFFERENCE else d.verdict
        cells = (
            number(a.stats(path).mean, figure.scale),
            number(d.mean, figure.scale),
            number((d.ci_high - d.ci_low) / 2.0, figure.scale),
            f"[{style}]{verdict}[/{style}]" if style else verdict,
        )
        rows.append(_Row(figure, cells))
    table = _grouped_table(
        f"Paired differences B − A: mean ± half-width of the {level} interval "
        "(n.s.: no significant difference)",
        ("A mean", "B − A", f"± {level}", "verdict"),
        rows,
    )
    notes = [f"[yellow]warning: {markup_text(w)}[/yellow]" for w in comparison.warnings]
    parts: list[RenderableType] = [header, *notes, table, _footnote(hidden, metrics)]
    for side in ("a", "b"):
        if gates and gates.get(side):
            role = "A (for reference)" if side == "a" else "B (the gate)"
            title = f"Objectives of {role}: share of runs meeting each"
            parts.append(objectives_table(gates[side], level, title))
    return Group(*parts)
