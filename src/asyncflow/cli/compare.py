"""``asyncflow compare A B``: two designs, common random numbers, a verdict per figure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from asyncflow.errors import ExperimentError, ScenarioFileError

if TYPE_CHECKING:
    from asyncflow.experiment import Comparison, Objective
    from asyncflow.experiment.gates import EnsembleGate

__all__ = ["compare"]


def compare(
    first: Annotated[
        Path,
        typer.Argument(metavar="BASE", help="Baseline scenario file (A).", show_default=False),
    ],
    others: Annotated[
        list[str],
        typer.Argument(
            metavar="VARIANT...",
            help="Scenario files, or overlays merged into BASE, to compare with it; "
            "NAME=PATH names one.",
            show_default=False,
        ),
    ],
    runs: options.CompareRuns = options.DEFAULT_RUNS,
    seed: options.Seed = None,
    jobs: options.Jobs = None,
    confidence: options.Confidence = options.DEFAULT_CONFIDENCE,
    warm_up: options.WarmUp = None,
    set_values: options.Sets = None,
    duration: options.Duration = None,
    metric: options.Metrics = None,
    goodput_within: Annotated[
        float | None,
        typer.Option(
            "--goodput-within",
            metavar="SECONDS",
            help="Report goodput: requests answered within SECONDS, per second.",
            show_default=False,
        ),
    ] = None,
    correction: Annotated[
        str | None,
        typer.Option(
            "--correction",
            metavar="holm|bonferroni|none",
            help="Correction for multiple comparisons of variants; default holm.",
            show_default=False,
        ),
    ] = None,
    slo: options.Slo = None,
    slo_confidence: options.SloConfidence = options.DEFAULT_SLO_CONFIDENCE,
    dask: options.Dask = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for summary.json and bands.png (compare.png with variants).",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    summary_json: options.SummaryJson = None,
    report: options.Report = None,
    quiet: options.Quiet = False,
) -> None:
    """Compare scenarios run with common random numbers, figure by figure.

    Replication i of every scenario shares a seed, so components present in
    all draw the same random numbers. With two full scenario files A B,
    each figure is reported as the paired difference B - A with its
    interval and a verdict; --slo objectives gate on B (exit code 3 when B
    misses one). With several variants, an overlay (a file without
    topology_graph and sim_settings, merged into BASE as a JSON Merge Patch),
    NAME=PATH, --goodput-within or --correction, each variant is compared
    with BASE on goodput, p99, error rates, wasted work and attempts, with
    the family corrected for multiple comparisons; --slo gates on every
    variant. --set and --duration change every scenario.
    """
    second = _two_designs(others, goodput_within, correction)
    if second is None:
        _compare_variants(
            first, others, runs=runs, seed=seed, jobs=jobs, confidence=confidence,
            warm_up=warm_up, set_values=set_values, duration=duration, metric=metric,
            goodput_within=goodput_within, correction=correction, slo=slo,
            slo_confidence=slo_confidence, dask=dask, out=out, summary_json=summary_json,
            report=report, quiet=quiet,
        )  # fmt: skip
        return
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


def _two_designs(
    others: list[str], goodput_within: float | None, correction: str | None
) -> Path | None:
    """B of the two-design form ``compare A B``, or ``None`` for a comparison of variants.

    The two-design form is kept for one variant that is a full scenario
    file (or a file that cannot be read: the error is then reported as it
    always was), given without NAME=, --goodput-within or --correction.
    """
    from asyncflow.cli.compare_variants import parse_variant
    from asyncflow.experiment.overlay import is_overlay, read_mapping

    if len(others) != 1 or goodput_within is not None or correction is not None:
        return None
    variant = parse_variant(others[0])
    if variant.name is not None:
        return None
    try:
        data = read_mapping(variant.path)
    except (ScenarioFileError, OSError):
        return variant.path
    return None if is_overlay(data) else variant.path


def _compare_variants(
    first: Path,
    others: list[str],
    *,
    goodput_within: float | None,
    correction: str | None,
    set_values: list[str] | None,
    duration: float | None,
    metric: list[str] | None,
    slo: list[str] | None,
    slo_confidence: float,
    dask: str | None,
    out: str | None,
    summary_json: str | None,
    report: str | None,
    quiet: bool,
    **replication: Any,
) -> None:
    """``compare BASE VARIANT...``: check the options, then run the comparison of variants."""
    from asyncflow.cli.compare_variants import Request, compare_variants, parse_variant
    from asyncflow.experiment.comparison_stats import CORRECTIONS

    if correction is not None and correction not in CORRECTIONS:
        exit_usage(f"error: --correction: expected holm, bonferroni or none (got {correction!r})")
    if goodput_within is not None and not 0.0 < goodput_within < float("inf"):
        exit_usage(
            f"error: --goodput-within must be a number of seconds > 0 (got {goodput_within:g})"
        )
    if report is not None:
        exit_usage(
            "error: --report compares two full scenario files (compare A B); with variants "
            "or overlays use --out or --summary-json"
        )
    variants = [parse_variant(text) for text in others]
    request = Request(
        base=first,
        variants=variants,
        options=replication_options(**replication),
        changes=scenario_changes(set_values, duration),
        correction=correction or "holm",
        goodput_within_s=goodput_within,
        metrics=list(metric or []),
        goals=objectives(slo),
        required=check_required(slo_confidence),
        outputs=plan_outputs(
            inputs=[first, *(v.path for v in variants)],
            out=out,
            under_out=("compare.png", "summary.json"),
            files={"--summary-json": summary_json},
        ),
        quiet=quiet,
        dask=dask,
    )
    compare_variants(request)


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
