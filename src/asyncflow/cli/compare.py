"""``asyncflow compare A B``: two designs, common random numbers, a verdict per figure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from asyncflow.cli import options
from asyncflow.cli.common import (
    console,
    echo_written,
    executor,
    exit_missed,
    exit_usage,
    experiment_errors,
    load,
    objectives,
    scenario_changes,
)
from asyncflow.cli.ensemble import check_metrics, check_required, replication_options
from asyncflow.cli.outputs import Outputs, plan_outputs, write_file, writing
from asyncflow.errors import ExperimentError

if TYPE_CHECKING:
    from asyncflow.experiment import Comparison, Objective
    from asyncflow.experiment.gates import EnsembleGate

__all__ = ["compare"]


def compare(
    first: Annotated[
        Path,
        typer.Argument(metavar="A", help="Baseline scenario file.", show_default=False),
    ],
    second: Annotated[
        Path,
        typer.Argument(metavar="B", help="Scenario file to compare with A.", show_default=False),
    ],
    runs: options.CompareRuns = options.DEFAULT_RUNS,
    seed: options.Seed = None,
    jobs: options.Jobs = None,
    confidence: options.Confidence = options.DEFAULT_CONFIDENCE,
    warm_up: options.WarmUp = None,
    set_values: options.Sets = None,
    duration: options.Duration = None,
    metric: options.Metrics = None,
    slo: options.Slo = None,
    slo_confidence: options.SloConfidence = options.DEFAULT_SLO_CONFIDENCE,
    dask: options.Dask = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for summary.json and bands.png (created if needed).",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    summary_json: options.SummaryJson = None,
    report: options.Report = None,
    quiet: options.Quiet = False,
) -> None:
    """Compare two scenarios run with common random numbers, figure by figure.

    Replication i of A and of B share a seed, so components present in both
    draw the same random numbers; each figure is reported as the paired
    difference B - A with its interval and a verdict. --set and --duration
    change both; --slo objectives gate on B (exit code 3 when B misses one).
    """
    chosen = replication_options(
        runs=runs, seed=seed, jobs=jobs, confidence=confidence, warm_up=warm_up
    )
    changes = scenario_changes(set_values, duration)
    goals = objectives(slo)
    required = check_required(slo_confidence)
    outputs = plan_outputs(
        inputs=[first, second],
        out=out,
        under_out=("bands.png", "summary.json"),
        files={"--summary-json": summary_json, "--report": report},
    )
    from asyncflow.cli.run import check_report_extra

    check_report_extra(report)
    model_a, model_b = load(first, changes), load(second, changes)
    from asyncflow.experiment.comparison import run_comparison
    from asyncflow.experiment.display import comparison_renderable, progress_bar

    bar = console(stderr=True)
    with (
        experiment_errors(first, bool(changes)),
        executor(dask) as pool,
        progress_bar(bar, enabled=not quiet and bar.is_terminal) as progress,
    ):
        comparison = run_comparison(model_a, model_b, chosen, executor=pool, progress=progress)
    gates = _gates(comparison, goals, required)
    check_metrics(metric or [], comparison.figures)
    if not quiet:
        console(markup=True).print(comparison_renderable(comparison, metric or [], gates))
    with writing():
        written = write_comparison(comparison, outputs, gates)
    echo_written(written, quiet=quiet)
    from asyncflow.experiment.gates import missed

    exit_missed([f"B: {sentence}" for sentence in missed(gates["b"])])


def _gates(
    comparison: Comparison, goals: list[Objective], required: float
) -> dict[str, list[EnsembleGate]]:
    """The objectives checked on A (for reference) and on B (the gate)."""
    from asyncflow.experiment.gates import check_ensemble

    try:
        return {
            "a": check_ensemble(comparison.a, goals, required),
            "b": check_ensemble(comparison.b, goals, required),
        }
    except ExperimentError as error:
        exit_usage(f"error: bad --slo: {error}")


def write_comparison(
    comparison: Comparison,
    outputs: Outputs,
    gates: dict[str, list[EnsembleGate]] | None = None,
) -> list[Path]:
    """Write the comparison's JSON and HTML report, and under ``--out`` the overlaid bands."""
    from asyncflow.report.bands import write_bands
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    summary = comparison.summary()
    if gates and gates["b"]:
        summary["slo"] = {
            side: {str(g.objective): g.as_dict() for g in checked}
            for side, checked in gates.items()
        }
    report = outputs.file("--report")
    if report is not None:
        from asyncflow.report.experiment_html import write_comparison_report

        def draw(target: Path) -> None:
            write_comparison_report(comparison, target, gates)

        written.append(write_file(report, draw))
    summary_path = outputs.file("--summary-json")
    if summary_path is not None:
        written.append(write_summary_json(summary, summary_path))
    if outputs.out is not None:
        pairs = [
            (f"A: {comparison.a.name}", comparison.a),
            (f"B: {comparison.b.name}", comparison.b),
        ]
        written.append(write_bands(pairs, outputs.under_out("bands.png")))
        written.append(write_summary_json(summary, outputs.under_out("summary.json")))
    return written
