"""Self-contained HTML reports of experiments: replications, comparisons, sweeps.

Each page works offline (the Plotly bundle is inlined, as in the single
run's report of :mod:`asyncflow.report.html`) and holds, top to bottom:

- replications (``run --runs --report``): the objectives with the share of
  runs meeting each and the verdict, every figure's mean with its interval
  in the unit it is read in, theory beside the means, and the bands over
  time (mean, confidence band, 5–95 % envelope);
- a comparison (``compare --report``): each design's objectives, the table
  of paired differences with each figure's unit and direction (which way
  is better) and the verdict, and both designs' bands overlaid;
- a sweep (``sweep --report``): what a search found and the knee, one row
  per point with intervals, the curves against the parameter, and theory
  beside the simulation at the knee or the value found.

Ids and names are HTML-escaped everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncflow.experiment.figures import GROUP_ORDER, describe, direction
from asyncflow.report import experiment_charts
from asyncflow.report.html import _DRAW, _STYLE, _e, _plotly_js, _table

if TYPE_CHECKING:
    from os import PathLike

    from asyncflow.experiment.comparison import Comparison
    from asyncflow.experiment.ensemble import Ensemble
    from asyncflow.experiment.gates import EnsembleGate
    from asyncflow.experiment.objectives import Objective
    from asyncflow.experiment.sweep import Sweep

__all__ = [
    "comparison_report",
    "ensemble_report",
    "sweep_report",
    "theory_section",
    "write_comparison_report",
    "write_ensemble_report",
    "write_sweep_report",
]

_EXTRA_STYLE = """
.pass { color: #2ca02c; font-weight: 600; } .missed { color: #d62728; font-weight: 600; }
.better { color: #2ca02c; } .worse { color: #d62728; } .higher, .lower { color: #1f77b4; }
.notes li { margin: 0.2rem 0; color: #444; } .found { background: #eef8ee;
  border-left: 4px solid #2ca02c; padding: 0.7rem 1rem; }
"""


def _number(value: Any, scale: float = 1.0) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "–"
    number = float(value) * scale
    size = abs(number)
    if size >= 1e4:
        return f"{number:,.0f}"
    if size >= 100:
        return f"{number:,.1f}"
    if size >= 1 or number == 0:
        return f"{number:.2f}" if number else "0"
    return f"{number:.3f}" if size >= 0.01 else f"{number:.4f}"


def _page(title: str, meta: str, body: Sequence[str], figures: Mapping[str, Any]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>AsyncFlow report: {_e(title)}</title>",
        f"<style>{_STYLE}{_EXTRA_STYLE}</style>",
        f"<script>{_plotly_js()}</script>",
        "</head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{_e(meta)}</p>',
        *body,
    ]
    if figures:
        parts += ['<h2 id="charts">Charts</h2>', '<div class="grid">']
        parts += [f'<div class="chart wide" id="{_e(key)}"></div>' for key in figures]
        parts.append("</div>")
    data = json.dumps(figures, allow_nan=False, separators=(",", ":"))
    parts.append(
        '<script type="application/json" id="figures">' + data.replace("</", "<\\/") + "</script>"
    )
    parts += [f"<script>{_DRAW}</script>", "</body></html>"]
    return "\n".join(parts)


def _verdict(passed: bool) -> str:
    return '<span class="pass">pass</span>' if passed else '<span class="missed">missed</span>'


def _objectives(gates: Sequence[EnsembleGate], caption: str, table_id: str) -> str:
    rows = [
        [
            _e(str(g.objective)),
            f"{g.probability.p:.1%}",
            f"{g.probability.ci_low:.1%} – {g.probability.ci_high:.1%}",
            f"{g.probability.successes}/{g.probability.n}",
            f"{g.required:.0%}",
            _verdict(g.passed),
        ]
        for g in gates
    ]
    header = ("objective", "share of runs meeting it", "interval", "runs", "needed", "verdict")
    return _table(caption, header, rows, table_id)


def _notes(sentences: Iterable[str], heading: str = "") -> str:
    items = "".join(f"<li>{_e(s)}</li>" for s in sentences)
    if not items:
        return ""
    title = f"<p><b>{_e(heading)}</b></p>" if heading else ""
    return f'{title}<ul class="notes">{items}</ul>'


def theory_section(block: Mapping[str, Any] | None, *, ensemble: bool) -> str:
    """Theory beside the simulation: predictions, the models and their assumptions, notes."""
    if not block:
        return ""
    predictions: Mapping[str, Mapping[str, Any]] = block.get("predictions") or {}
    parts = ['<h2 id="theory">Theory beside the simulation</h2>']
    if not predictions:
        parts.append("<p>No model applies to this scenario.</p>")
    from asyncflow.experiment.display_capacity import figure_label

    rows = []
    for path, entry in predictions.items():
        figure = describe(path)
        shown = _number(entry.get("simulated"), figure.scale)
        if ensemble and entry.get("ci_low") is not None and entry.get("ci_high") is not None:
            half = (entry["ci_high"] - entry["ci_low"]) / 2.0
            shown += f" ± {_number(half, figure.scale)}"
        gap = entry.get("relative_error")
        agreed = entry.get("agrees")
        rows.append(
            [
                _e(figure_label(path, figure.label)),
                _number(entry.get("theory"), figure.scale),
                shown,
                f"{gap:+.1%}" if gap is not None else "–",
                _e(str(entry.get("model", ""))),
                "exact" if entry.get("exact") else "approximation",
                "–" if agreed is None else ("agrees" if agreed else "<b>differs</b>"),
            ]
        )
    if rows:
        simulated = "simulated (mean ± interval)" if ensemble else "simulated"
        header = ("figure", "theory", simulated, "gap", "model", "kind", "")
        parts.append(_table("Predicted figures", header, rows, "table-theory"))
    parts.append(_models(block.get("queues") or {}))
    parts.append(_notes(block.get("differences") or (), "Where they differ"))
    parts.append(_notes(block.get("notes") or (), "When and why runs differ from the models"))
    return "\n".join(parts)


def _models(queues: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    rows = []
    for node, resources in queues.items():
        for resource, model in resources.items():
            rows.append(
                [
                    _e(node),
                    _e(resource),
                    _e(str(model.get("model"))),
                    _number(model.get("utilization"), 100.0) + " %",
                    _number(model.get("wait_s_mean"), 1000.0),
                    _e("; ".join(model.get("assumptions") or ())),
                ]
            )
    header = ("node", "resource", "model", "load", "mean wait (ms)", "assumptions")
    return _table("Models and their assumptions", header, rows, "table-models") if rows else ""


# --------------------------------------------------------------------------- replications


def _figures_table(ensemble: Ensemble) -> str:
    rows_by_group: dict[str, list[tuple[int, list[str]]]] = {}
    for path in ensemble.figures:
        stats = ensemble.stats(path)
        if stats.n and stats.max == 0.0 and stats.min == 0.0:
            continue
        figure = describe(path)
        row = [
            "&nbsp;&nbsp;" + _e(figure.label),
            _number(stats.mean, figure.scale),
            _number(stats.half_width, figure.scale),
            _number(stats.std, figure.scale),
            _number(stats.min, figure.scale),
            _number(stats.max, figure.scale),
        ]
        rows_by_group.setdefault(figure.group, []).append((figure.rank, row))
    rows: list[list[str]] = []
    for group in [*GROUP_ORDER, *(g for g in rows_by_group if g not in GROUP_ORDER)]:
        if group in rows_by_group:
            rows.append([f"<b>{_e(group)}</b>", "", "", "", "", ""])
            rows += [row for _, row in sorted(rows_by_group[group], key=lambda r: r[0])]
    level = f"{ensemble.confidence:.0%}"
    header = ("figure", "mean", f"± {level}", "std", "min", "max")
    caption = "Figures across runs (figures equal to 0 in every run are left out)"
    return _table(caption, header, rows, "table-ensemble")


def ensemble_report(
    ensemble: Ensemble, objectives: Sequence[Objective] = (), slo_confidence: float = 0.95
) -> str:
    """The HTML report of replications (see the module's docstring)."""
    from asyncflow.experiment.gates import check_ensemble

    meta = (
        f"{ensemble.runs} runs · seed {ensemble.seed} · {ensemble.end_s:g} s simulated each · "
        f"warm-up {ensemble.warm_up_s:g} s ({ensemble.warm_up.method}) · "
        f"{ensemble.confidence:.0%} intervals · {ensemble.wall_s:.1f} s wall"
    )
    body: list[str] = ['<h2 id="summary">Summary</h2>']
    gates = check_ensemble(ensemble, list(objectives), slo_confidence)
    if gates:
        body.append(_objectives(gates, "Objectives", "table-objectives"))
    body.append(_figures_table(ensemble))
    body.append(theory_section(ensemble.theory(), ensemble=True))
    figures = experiment_charts.band_figures([(ensemble.name, ensemble)])
    return _page(ensemble.name, meta, body, _keyed(figures))


def write_ensemble_report(
    ensemble: Ensemble,
    path: str | PathLike[str],
    objectives: Sequence[Objective] = (),
    slo_confidence: float = 0.95,
) -> Path:
    """Write :func:`ensemble_report` to ``path``."""
    target = Path(path)
    target.write_text(ensemble_report(ensemble, objectives, slo_confidence), encoding="utf-8")
    return target


def _keyed(figures: Mapping[str, Any]) -> dict[str, Any]:
    return {f"chart-{key}": figure for key, figure in figures.items()}


# --------------------------------------------------------------------------- comparisons

_DIRECTIONS = {-1: "lower", 0: "–"}


def _differences_table(comparison: Comparison) -> str:
    rows = []
    for path in comparison.figures:
        d = comparison.difference(path)
        a, b = comparison.a.stats(path).mean, comparison.b.stats(path).mean
        if a == 0 and b == 0:
            continue
        figure = describe(path)
        half = (d.ci_high - d.ci_low) / 2
        better = _DIRECTIONS[direction(path, comparison.same_load)]
        verdict = "n.s." if d.verdict == "no significant difference" else d.verdict
        rows.append(
            [
                _e(figure.label),
                better,
                _number(a, figure.scale),
                _number(b, figure.scale),
                f"{_number(d.mean, figure.scale)} ± {_number(half, figure.scale)}",
                f"{d.relative:+.1%}" if d.relative == d.relative else "–",
                f'<span class="{_e(d.verdict.split()[0])}">{_e(verdict)}</span>',
            ]
        )
    level = f"{comparison.confidence:.0%}"
    header = (
        "figure (unit)",
        "better when",
        "A mean",
        "B mean",
        f"B − A ± {level}",
        "relative",
        "verdict",
    )
    caption = "Paired differences B − A (n.s.: no significant difference)"
    return _table(caption, header, rows, "table-differences")


def comparison_report(
    comparison: Comparison, gates: Mapping[str, Sequence[EnsembleGate]] | None = None
) -> str:
    """The HTML report of a comparison (see the module's docstring)."""
    a, b = comparison.a, comparison.b
    title = f"{a.name} (A) vs {b.name} (B)"
    meta = (
        f"{comparison.runs} paired runs (common random numbers) · seed {a.seed} · "
        f"{comparison.confidence:.0%} intervals"
    )
    body = ['<h2 id="summary">Summary</h2>']
    body.append(_notes(comparison.warnings, "Warnings"))
    for side, role in (("a", "A (for reference)"), ("b", "B (the gate)")):
        if gates and gates.get(side):
            body.append(_objectives(gates[side], f"Objectives of {role}", f"table-slo-{side}"))
    body.append(_differences_table(comparison))
    pairs = [(f"A: {a.name}", a), (f"B: {b.name}", b)]
    return _page(title, meta, body, _keyed(experiment_charts.band_figures(pairs)))


def write_comparison_report(
    comparison: Comparison,
    path: str | PathLike[str],
    gates: Mapping[str, Sequence[EnsembleGate]] | None = None,
) -> Path:
    """Write :func:`comparison_report` to ``path``."""
    target = Path(path)
    target.write_text(comparison_report(comparison, gates), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- sweeps


def _points_table(sweep: Sweep) -> str:
    from asyncflow.experiment.display_capacity import describe_scale

    columns = [
        (path, label)
        for path, label in (
            ("latency_s.p50", "p50 (ms)"),
            ("latency_s.p95", "p95 (ms)"),
            ("latency_s.p99", "p99 (ms)"),
            ("throughput_rps.mean", "throughput (req/s)"),
            ("bottleneck.busiest.utilization", "busiest (%)"),
            ("requests.failed_share", "failed (%)"),
            ("cost.per_hour", "cost per hour"),
            ("cost.per_million_requests", "cost per million requests"),
        )
        if any(path in p.headline(sweep.confidence) for p in sweep.points)
    ]
    rows = []
    for point in sweep.points:
        stats = point.headline(sweep.confidence)
        row = [_e(str(point.values[p])) for p in sweep.params]
        for path, _ in columns:
            entry = stats.get(path) or {}
            scale = describe_scale(path)
            text = _number(entry.get("mean"), scale)
            if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
                text += f" ± {_number((entry['ci_high'] - entry['ci_low']) / 2, scale)}"
            row.append(text)
        if sweep.objectives:
            row.append(_verdict(bool(point.passed)))
        rows.append(row)
    header = [*sweep.params, *(label for _, label in columns)]
    if sweep.objectives:
        header.append("objectives")
    level = f"{sweep.confidence:.0%}"
    return _table(
        f"Points: mean ± half-width of the {level} interval", header, rows, "table-points"
    )


def _headline(sweep: Sweep) -> str:
    parts = []
    found = sweep.found
    if found is not None:
        if found.value is None:
            parts.append(f'<p class="verdict"><b>Not found:</b> {_e(found.limit)}.</p>')
        else:
            share = f"{found.confidence:.0%}" if found.confidence is not None else "–"
            parts.append(
                f'<p class="found" id="found"><b>Found:</b> {_e(found.param)} = '
                f"{found.value:g}, the objectives met in {share} of its runs. "
                f"{_e(found.limit)}.</p>"
            )
    for knee in sweep.knees():
        others = ", ".join(f"{p}={v}" for p, v in knee.others.items())
        parts.append(
            f'<p class="verdict"><b>Knee</b> of {_e(knee.figure)}'
            f"{_e(f' at {others}') if others else ''}: {_e(knee.param)} = {knee.value:g} "
            f"({_number(knee.figure_value, 1000.0)} ms), where the curve bends.</p>"
        )
    return "\n".join(parts)


def sweep_report(sweep: Sweep) -> str:
    """The HTML report of a sweep or a search (see the module's docstring)."""
    kind = "search" if sweep.found is not None else "sweep"
    meta = (
        f"{kind} of {len(sweep.points)} points × {sweep.runs} runs · seed {sweep.seed} (the same "
        f"seeds at every point) · {sweep.confidence:.0%} intervals · {sweep.wall_s:.1f} s wall"
    )
    if sweep.objectives:
        meta += f" · objectives {', '.join(map(str, sweep.objectives))} in ≥ "
        meta += f"{sweep.slo_confidence:.0%} of runs"
    body = ['<h2 id="summary">Summary</h2>', _headline(sweep), _points_table(sweep)]
    focus = _focus(sweep)
    if focus is not None:
        where = ", ".join(f"{p}={v}" for p, v in focus.values.items())
        body.append(f"<p>Theory below is for the point {_e(where)}.</p>")
        body.append(theory_section(focus.ensemble.theory(sweep.confidence), ensemble=True))
    return _page(sweep.name, meta, body, _keyed(experiment_charts.sweep_figures(sweep)))


def _focus(sweep: Sweep) -> Any:
    """The point theory is shown for: the value found, else the knee, else the last."""
    wanted = None
    if sweep.found is not None and sweep.found.value is not None:
        wanted = sweep.found.value
    elif sweep.knees():
        wanted = sweep.knees()[0].value
    for point in sweep.points:
        if wanted is not None and point.values[sweep.params[0]] == wanted:
            return point
    return sweep.points[-1]


def write_sweep_report(sweep: Sweep, path: str | PathLike[str]) -> Path:
    """Write :func:`sweep_report` to ``path``."""
    target = Path(path)
    target.write_text(sweep_report(sweep), encoding="utf-8")
    return target
