"""Terminal tables of capacity answers: cost, objectives, theory beside the simulation.

Used by the command line, with :mod:`asyncflow.experiment.display`. Every
string that comes from the user is escaped before it reaches Rich markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from asyncflow.experiment.display import markup_text, number, terminal_text
from asyncflow.experiment.figures import describe

if TYPE_CHECKING:
    from asyncflow.experiment.gates import RunGate
    from asyncflow.experiment.knee import Knee
    from asyncflow.experiment.sweep import Sweep

__all__ = [
    "cost_line",
    "describe_scale",
    "figure_label",
    "run_capacity_renderable",
    "run_objectives_table",
    "sweep_renderable",
    "theory_renderable",
]


def cost_line(cost: Mapping[str, Any] | None, prefix: str = "Cost") -> str | None:
    """``Cost: 0.10 USD per hour, 0.93 USD per million requests`` (markup), or ``None``."""
    if not cost:
        return None
    currency = markup_text(cost.get("currency", ""))
    per_million = cost.get("per_million_requests")
    million = (
        f"{number(per_million)} {currency} per million requests"
        if per_million is not None
        else "no request completed"
    )
    return f"[bold]{prefix}:[/bold] {number(cost.get('per_hour'))} {currency} per hour, {million}"


def run_objectives_table(gates: Sequence[RunGate]) -> Table:
    """One row per objective checked on a single run: the run's value and the verdict."""
    table = Table(title="Objectives", title_justify="left")
    for column in ("objective", "value", "verdict"):
        table.add_column(column, justify="left" if column == "objective" else "right")
    for gate in gates:
        figure = describe(gate.objective.path)
        unit = figure.label[figure.label.rfind("(") :] if figure.label.endswith(")") else ""
        table.add_row(
            Text(terminal_text(gate.objective)),
            f"{number(gate.value, figure.scale)} {unit}".strip(),
            "[green]pass[/green]" if gate.passed else "[red]missed[/red]",
        )
    return table


def run_capacity_renderable(summary: Mapping[str, Any], gates: Sequence[RunGate]) -> Group:
    """After a run's summary: its cost, its objectives and theory beside it."""
    parts: list[RenderableType] = []
    line = cost_line(summary.get("cost"))
    if line:
        parts.append(line)
    if gates:
        parts.append(run_objectives_table(gates))
    if summary.get("theory"):
        parts.append(theory_renderable(summary["theory"], ensemble=False))
    return Group(*parts)


def theory_renderable(block: Mapping[str, Any], *, ensemble: bool) -> RenderableType:
    """The theory block as a table (theory, simulated, gap, model) and its notes.

    The notes say when and why runs differ from the models; the JSON and
    the HTML report also give each difference as a sentence.
    """
    predictions: Mapping[str, Mapping[str, Any]] = block.get("predictions") or {}
    notes = [f"[dim]• {markup_text(n)}[/dim]" for n in block.get("notes") or ()]
    if not predictions:
        return Group("[bold]Theory beside the simulation:[/bold] no model applies here.", *notes)
    simulated = "simulated mean ± CI" if ensemble else "simulated"
    table = Table(
        title="Theory beside the simulation",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
    )
    for column in ("figure", "theory", simulated, "gap", "model", ""):
        table.add_column(column, justify="left" if column in ("figure", "model") else "right")
    for path, entry in predictions.items():
        figure = describe(path)
        shown = number(entry.get("simulated"), figure.scale)
        if ensemble and entry.get("ci_low") is not None and entry.get("ci_high") is not None:
            half = (entry["ci_high"] - entry["ci_low"]) / 2.0
            shown += f" ± {number(half, figure.scale)}"
        gap = entry.get("relative_error")
        agreed = entry.get("agrees")
        verdict = (
            "–" if agreed is None else "[green]agrees[/green]" if agreed else "[red]differs[/red]"
        )
        table.add_row(
            Text(terminal_text(figure_label(path, figure.label))),
            number(entry.get("theory"), figure.scale),
            shown,
            f"{gap:+.1%}" if gap is not None else "–",
            Text(terminal_text(_short_model(str(entry.get("model", ""))))),
            verdict,
        )
    return Group(table, *notes)


def figure_label(path: str, label: str) -> str:
    """``latency mean (ms)`` for the latency figures, whose labels assume their section."""
    return f"latency {label}" if path.startswith("latency_s.") else label


def _short_model(model: str) -> str:
    """``M/G/1 + M/G/40 on RAM slots``: each model's name without its author."""
    return " + ".join(part.split(" (")[0] for part in model.split(" + "))


def sweep_renderable(sweep: Sweep) -> RenderableType:
    """A sweep's header, one row per point, its knees and, for a search, what was found.

    The table shows means; the p95 also the half-width of its interval (every
    interval is in the JSON summary, the CSV and the HTML report).
    """
    level = f"{sweep.confidence:.0%}"
    kind = "search" if sweep.found is not None else "sweep"
    header = (
        f"[bold]{markup_text(sweep.name)}[/bold]: {kind} of {len(sweep.points)} points × "
        f"{sweep.runs} runs, seed {sweep.seed} (the same seeds at every point), "
        f"{sweep.wall_s:.1f} s wall"
    )
    table = Table(
        title=f"Per point: means across runs (p95 ± half-width of its {level} interval)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        title_style="bold",
        padding=(0, 1),
        pad_edge=False,
    )
    for path in sweep.params:
        table.add_column(
            Text(terminal_text(_short(path, sweep.params))),
            justify="right",
            overflow="fold",
            max_width=14,
        )
    columns = [(path, label) for path, label in _SWEEP_COLUMNS if _has(sweep, path)]
    for _, label in columns:
        table.add_column(label, justify="right", no_wrap=True)
    theory = _theory_p95(sweep)
    if theory:
        table.add_column("p95 theory ms", justify="right", no_wrap=True)
    if sweep.objectives:
        table.add_column("SLO", justify="right", no_wrap=True)
    for point in sweep.points:
        stats = point.headline(sweep.confidence)
        cells: list[Text | str] = [Text(terminal_text(point.values[p])) for p in sweep.params]
        for path, _ in columns:
            cells.append(_cell(stats.get(path), describe_scale(path), path == "latency_s.p95"))
        if theory:
            cells.append(number(theory.get(id(point)), 1000.0))
        if sweep.objectives:
            cells.append("[green]pass[/green]" if point.passed else "[red]missed[/red]")
        table.add_row(*cells)
    parts: list[RenderableType] = [header, table]
    parts += [_knee_line(k) for k in sweep.knees()]
    if sweep.found is not None:
        parts.append(_found_line(sweep))
    return Group(*parts)


_SWEEP_COLUMNS = (
    ("latency_s.p95", "p95 ms"),
    ("latency_s.p99", "p99 ms"),
    ("throughput_rps.mean", "req/s"),
    ("bottleneck.busiest.utilization", "busiest %"),
    ("requests.failed_share", "failed %"),
    ("cost.per_million_requests", "cost/M req"),
)
"""The terminal's columns (p50 and the cost per hour are in the JSON, CSV and report)."""

_GENERIC = frozenset({"mean", "variance", "value"})


def _short(path: str, every: Sequence[str]) -> str:
    """The last segment of a path (the one before a ``mean``), more when two end alike."""

    def trimmed(text: str) -> list[str]:
        parts = text.split(".")
        return parts[:-1] if len(parts) > 1 and parts[-1] in _GENERIC else parts

    mine = trimmed(path)
    others = [trimmed(p) for p in every if p != path]
    for size in range(1, len(mine) + 1):
        tail = mine[-size:]
        if all(other[-size:] != tail for other in others):
            return ".".join(tail)
    return path


def describe_scale(path: str) -> float:
    """The factor to the unit a sweep's table shows a figure in."""
    if path.startswith("latency_s."):
        return 1000.0
    if path in ("bottleneck.busiest.utilization", "requests.failed_share"):
        return 100.0
    return 1.0


def _has(sweep: Sweep, path: str) -> bool:
    """Whether some point has the figure, and it is not 0 everywhere (no failures: no column)."""
    means = [p.headline(sweep.confidence).get(path, {}).get("mean") for p in sweep.points]
    return any(m is not None for m in means) and any(m for m in means)


def _cell(stats: Mapping[str, Any] | None, scale: float, interval: bool) -> str:
    if not stats or stats.get("mean") is None:
        return "–"
    low, high = stats.get("ci_low"), stats.get("ci_high")
    text = number(stats["mean"], scale)
    if interval and low is not None and high is not None:
        text += f" ± {number((high - low) / 2.0, scale)}"
    return text


def _theory_p95(sweep: Sweep) -> dict[int, float]:
    found: dict[int, float] = {}
    for point in sweep.points:
        entry = point.ensemble.theory(sweep.confidence)["predictions"].get("latency_s.p95")
        if entry is not None:
            found[id(point)] = entry["theory"]
    return found


def _knee_line(knee: Knee) -> str:
    others = ", ".join(f"{markup_text(p)}={markup_text(v)}" for p, v in knee.others.items())
    where = f" (at {others})" if others else ""
    return (
        f"[bold]Knee[/bold] of {markup_text(knee.figure)}{where}: "
        f"{markup_text(knee.param)} = {knee.value:g} ({number(knee.figure_value, 1000.0)} ms), "
        "where the curve bends: beyond it, latency climbs fast with load (or, against a "
        "capacity, more of it helps little)."
    )


def _found_line(sweep: Sweep) -> str:
    found = sweep.found
    if found is None:  # pragma: no cover - checked by the caller
        return ""
    if found.value is None:
        return f"[red bold]Not found:[/red bold] {markup_text(found.limit)}."
    share = f"{found.confidence:.0%}" if found.confidence is not None else "–"
    low = f", Wilson {sweep.confidence:.0%} lower bound {found.ci_low:.0%}" if found.ci_low else ""
    return (
        f"[green bold]Found:[/green bold] {markup_text(found.param)} = {found.value:g} "
        f"(objectives met in {share} of its runs{low}). {markup_text(found.limit)}."
    )
