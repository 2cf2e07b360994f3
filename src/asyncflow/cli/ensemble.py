"""``asyncflow run --runs N``: replications of one scenario, reduced to intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from asyncflow.cli.common import (
    as_option,
    console,
    echo_written,
    executor,
    exit_missed,
    exit_usage,
    experiment_errors,
)
from asyncflow.cli.options import DEFAULT_METRIC, DEFAULT_RUNS
from asyncflow.cli.outputs import Outputs, write_file, writing
from asyncflow.errors import ExperimentError

if TYPE_CHECKING:
    from asyncflow.experiment import Ensemble, Objective, ReplicationOptions, StoppingRule
    from asyncflow.experiment.options import WarmUpArg
    from asyncflow.scenario import Scenario

__all__ = [
    "EnsembleRequest",
    "check_metrics",
    "parse_warm_up",
    "replication_options",
    "run_ensemble",
]


def parse_warm_up(text: str | None) -> WarmUpArg:
    """Read ``--warm-up``: None, 'auto' or a number of seconds >= 0 (exit 2 otherwise)."""
    if text is None:
        return None
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0 or value == float("inf"):
        exit_usage(f"error: --warm-up must be a number of seconds >= 0 or 'auto' (got {text!r})")
    return value


def replication_options(
    *,
    runs: int,
    seed: int | None,
    jobs: int | None,
    confidence: float,
    warm_up: str | None,
) -> ReplicationOptions:
    """The :class:`~asyncflow.experiment.ReplicationOptions` of the command line's options."""
    from asyncflow.experiment import ReplicationOptions

    try:
        return ReplicationOptions(runs, seed, jobs, confidence, parse_warm_up(warm_up))
    except (ExperimentError, TypeError) as error:
        exit_usage(f"error: {as_option(str(error))}")


@dataclass(frozen=True)
class EnsembleRequest:
    """What ``run --runs`` was asked to do."""

    options: ReplicationOptions
    stopping: StoppingRule | None
    objectives: list[Objective]
    metrics: list[str]
    dask: str | None
    slo_confidence: float = 0.95

    @classmethod
    def from_options(
        cls,
        *,
        runs: int | None,
        seed: int | None,
        jobs: int | None,
        confidence: float,
        warm_up: str | None,
        slo: list[Objective],
        slo_confidence: float,
        precision: float | None,
        max_runs: int,
        metric: list[str],
        dask: str | None,
    ) -> EnsembleRequest:
        """Check the options of ``run --runs``, exiting with code 2 on the first bad one."""
        from asyncflow.experiment import StoppingRule

        chosen = replication_options(
            runs=runs if runs is not None else DEFAULT_RUNS,
            seed=seed,
            jobs=jobs,
            confidence=confidence,
            warm_up=warm_up,
        )
        try:
            stopping = None
            if precision is not None:
                watched = metric[0] if metric else DEFAULT_METRIC
                stopping = StoppingRule(precision, watched, max_runs)
                stopping.check_runs(chosen.runs)
        except (ExperimentError, TypeError) as error:
            exit_usage(f"error: {as_option(str(error))}")
        return cls(chosen, stopping, list(slo), list(metric), dask, check_required(slo_confidence))


def check_required(slo_confidence: float) -> float:
    """Check ``--slo-confidence`` (a share of runs in (0, 1]); exit 2 otherwise."""
    from asyncflow.experiment.gates import check_slo_confidence

    try:
        return check_slo_confidence(slo_confidence)
    except (ExperimentError, TypeError) as error:
        exit_usage(f"error: {as_option(str(error))}")


def check_metrics(patterns: Sequence[str], figures: Sequence[str]) -> None:
    """Exit 2 when a ``--metric`` pattern matches no figure, suggesting close ones."""
    import difflib

    from asyncflow.experiment.figures import select

    _, unmatched = select(figures, patterns)
    for pattern in unmatched:
        close = difflib.get_close_matches(pattern, list(figures), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        exit_usage(f"error: --metric {pattern!r} matches no figure{hint}")


def run_ensemble(
    path: Path,
    model: Scenario,
    request: EnsembleRequest,
    outputs: Outputs,
    *,
    quiet: bool,
    changed: bool = False,
) -> None:
    """Replicate, print the tables, write the files, exit 3 when an objective is missed."""
    from asyncflow.experiment.display import ensemble_renderable, progress_bar
    from asyncflow.experiment.display_capacity import theory_renderable
    from asyncflow.experiment.gates import check_ensemble, missed
    from asyncflow.experiment.replicate import run_replications

    bar = console(stderr=True)
    with experiment_errors(path, changed), executor(request.dask) as pool:
        with progress_bar(bar, enabled=not quiet and bar.is_terminal) as progress:
            ensemble = run_replications(
                model, request.options, request.stopping, executor=pool, progress=progress
            )
        try:
            gates = check_ensemble(ensemble, request.objectives, request.slo_confidence)
        except ExperimentError as error:
            exit_usage(f"error: bad --slo: {error}")
    check_metrics(request.metrics, ensemble.figures)
    if not quiet:
        table = ensemble_renderable(ensemble, gates, request.metrics)
        shown = console(markup=True)
        shown.print(table)
        shown.print(theory_renderable(ensemble.theory(), ensemble=True))
    with writing():
        written = write_ensemble(ensemble, request, outputs)
    echo_written(written, quiet=quiet)
    exit_missed(missed(gates))


def write_ensemble(ensemble: Ensemble, request: EnsembleRequest, outputs: Outputs) -> list[Path]:
    """Write the summary JSON and the HTML report, and under ``--out`` runs.csv and bands.png."""
    from asyncflow.report.bands import write_bands
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    summary = ensemble.summary(request.objectives, slo_confidence=request.slo_confidence)
    summary_path = outputs.file("--summary-json")
    if summary_path is not None:
        written.append(write_summary_json(summary, summary_path))
    report = outputs.file("--report")
    if report is not None:
        from asyncflow.report.experiment_html import write_ensemble_report

        def draw(target: Path) -> None:
            write_ensemble_report(ensemble, target, request.objectives, request.slo_confidence)

        written.append(write_file(report, draw))
    if outputs.out is not None:
        written.append(write_bands(ensemble, outputs.under_out("bands.png")))
        written.append(write_file(outputs.under_out("runs.csv"), ensemble.write_csv))
        written.append(write_summary_json(summary, outputs.under_out("summary.json")))
    return written
