"""``asyncflow compare A B``: two designs, common random numbers, a verdict per figure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from asyncflow.cli import options
from asyncflow.cli.common import console, echo_written, executor, experiment_errors, load
from asyncflow.cli.ensemble import check_metrics, replication_options
from asyncflow.cli.outputs import Outputs, plan_outputs, writing

if TYPE_CHECKING:
    from asyncflow.experiment import Comparison

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
    metric: options.Metrics = None,
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
    quiet: options.Quiet = False,
) -> None:
    """Compare two scenarios run with common random numbers, figure by figure.

    Replication i of A and of B share a seed, so components present in both
    draw the same random numbers; each figure is reported as the paired
    difference B - A with its interval and a verdict.
    """
    chosen = replication_options(
        runs=runs, seed=seed, jobs=jobs, confidence=confidence, warm_up=warm_up
    )
    outputs = plan_outputs(
        inputs=[first, second],
        out=out,
        under_out=("bands.png", "summary.json"),
        files={"--summary-json": summary_json},
    )
    model_a, model_b = load(first), load(second)
    from asyncflow.experiment.comparison import run_comparison
    from asyncflow.experiment.display import comparison_renderable, progress_bar

    bar = console(stderr=True)
    with (
        experiment_errors(first),
        executor(dask) as pool,
        progress_bar(bar, enabled=not quiet and bar.is_terminal) as progress,
    ):
        comparison = run_comparison(model_a, model_b, chosen, executor=pool, progress=progress)
    check_metrics(metric or [], comparison.figures)
    if not quiet:
        console(markup=True).print(comparison_renderable(comparison, metric or []))
    with writing():
        written = write_comparison(comparison, outputs)
    echo_written(written, quiet=quiet)


def write_comparison(comparison: Comparison, outputs: Outputs) -> list[Path]:
    """Write the comparison's JSON, and under ``--out`` the overlaid bands."""
    from asyncflow.report.bands import write_bands
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    summary = comparison.summary()
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
