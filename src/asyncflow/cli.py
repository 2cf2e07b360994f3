"""The ``asyncflow`` command line.

Commands::

    asyncflow run SCENARIO [--seed N] [--out DIR] [--summary-json PATH] [--quiet]
                  [--report PATH.html] [--trace PATH.json] [--trace-rate R] [--trace-slowest N]
                  [--runs N] [--jobs J] [--confidence C] [--slo OBJECTIVE]...
                  [--precision P] [--max-runs M] [--metric PATH] [--warm-up S|auto]
                  [--dask ADDRESS]
    asyncflow compare A B [--runs N] [--seed N] [--jobs J] [--confidence C]
                  [--warm-up S|auto] [--dask ADDRESS] [--out DIR] [--summary-json PATH] [--quiet]
    asyncflow validate SCENARIO
    asyncflow schema

Exit codes: 0 success; 1 a run failed or an output could not be written;
2 the scenario is missing, unreadable or invalid, or the command line is
wrong. Problems with the user's input are printed one per line on stderr,
never as a traceback; genuine bugs still raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from asyncflow.errors import AsyncFlowError, ScenarioError, ScenarioFileError

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from asyncflow.experiment import Comparison, Ensemble, Objective
    from asyncflow.experiment.replicate import WarmUpArg
    from asyncflow.results import Results
    from asyncflow.scenario import Scenario

__all__ = ["app", "main"]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="asyncflow",
    help="Simulate asynchronous backends described by a scenario file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ScenarioPath = Annotated[
    Path,
    typer.Argument(
        metavar="SCENARIO",
        help="Scenario file (YAML or JSON; AsyncFlow 0.1 files are accepted).",
        show_default=False,
    ),
]
_ENSEMBLE = "Monte Carlo"
_OUTPUTS = "Reports"
Runs = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Run N independent replications and report every figure with an interval.",
        show_default=False,
        rich_help_panel=_ENSEMBLE,
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Local worker processes; default: all cores (1 runs in this process).",
        show_default=False,
        rich_help_panel=_ENSEMBLE,
    ),
]
Confidence = Annotated[
    float,
    typer.Option(
        min=0.5, max=0.999, help="Confidence level of intervals.", rich_help_panel=_ENSEMBLE
    ),
]
WarmUpOption = Annotated[
    str | None,
    typer.Option(
        "--warm-up",
        metavar="SECONDS|auto",
        help="Warm-up cut: seconds, or 'auto' (MSER-5 on a pilot); default: the scenario's.",
        show_default=False,
        rich_help_panel=_ENSEMBLE,
    ),
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Run on a Dask cluster, e.g. tcp://host:8786 (pip install 'asyncflow\\[dask]').",
        show_default=False,
        rich_help_panel=_ENSEMBLE,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing except errors.")]
SummaryJson = Annotated[
    Path | None,
    typer.Option(
        "--summary-json",
        metavar="PATH",
        dir_okay=False,
        help="Write the summary as JSON to PATH.",
        show_default=False,
    ),
]


@app.command()
def run(
    scenario: ScenarioPath,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Seed of the run; default: sim_settings.seed, else 0.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            file_okay=False,
            help="Directory for dashboard.png, a page per node (nodes/), requests.csv, "
            "timeseries.csv and summary.json (created if needed).",
            show_default=False,
        ),
    ] = None,
    summary_json: SummaryJson = None,
    quiet: Quiet = False,
    runs: Runs = None,
    jobs: Jobs = None,
    confidence: Confidence = 0.95,
    slo: Annotated[
        list[str] | None,
        typer.Option(
            "--slo",
            metavar="OBJECTIVE",
            help="Objective such as 'latency_s.p95<0.2': report the probability of meeting it "
            "(repeatable).",
            show_default=False,
            rich_help_panel=_ENSEMBLE,
        ),
    ] = None,
    precision: Annotated[
        float | None,
        typer.Option(
            help="Add runs until the interval half-width of --metric is at most this fraction "
            "of its mean (e.g. 0.02).",
            show_default=False,
            rich_help_panel=_ENSEMBLE,
        ),
    ] = None,
    max_runs: Annotated[
        int,
        typer.Option(min=1, help="Cap on runs with --precision.", rich_help_panel=_ENSEMBLE),
    ] = 1000,
    metric: Annotated[
        str,
        typer.Option(
            metavar="PATH", help="Figure watched by --precision.", rich_help_panel=_ENSEMBLE
        ),
    ] = "latency_s.mean",
    warm_up: WarmUpOption = None,
    dask: DaskOption = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="PATH.html",
            dir_okay=False,
            help="Write a self-contained HTML report (interactive charts, works offline; "
            "pip install 'asyncflow\\[report]').",
            show_default=False,
            rich_help_panel=_OUTPUTS,
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(
            "--trace",
            metavar="PATH.json",
            dir_okay=False,
            help="Write a sample of requests as Chrome trace events (open in Perfetto).",
            show_default=False,
            rich_help_panel=_OUTPUTS,
        ),
    ] = None,
    trace_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of requests sampled into --trace.",
            rich_help_panel=_OUTPUTS,
        ),
    ] = 0.01,
    trace_slowest: Annotated[
        int,
        typer.Option(
            min=0, help="The slowest requests added to --trace.", rich_help_panel=_OUTPUTS
        ),
    ] = 50,
) -> None:
    """Run a scenario, print its summary and optionally write reports.

    With --runs (or --precision), run independent replications instead and
    report each figure's mean with a confidence interval.
    """
    model = _load(scenario)
    if runs is not None or precision is not None:
        plan = _EnsemblePlan(
            runs=runs if runs is not None else 10,
            seed=seed,
            jobs=jobs,
            confidence=confidence,
            objectives=_objectives(slo or []),
            precision=precision,
            max_runs=max_runs,
            metric=metric,
            warm_up=_warm_up(warm_up),
            dask=dask,
        )
        if report is not None or trace is not None:
            _exit_usage("error: --report and --trace describe a single run; drop --runs")
        _run_ensemble(scenario, model, plan, out=out, summary_json=summary_json, quiet=quiet)
        return
    _refuse_ensemble_options(
        jobs=jobs, slo=slo, dask=dask, confidence=confidence, max_runs=max_runs, metric=metric
    )
    if warm_up is not None:
        chosen = _warm_up(warm_up)
        if chosen == "auto":
            _exit_usage("error: --warm-up auto needs --runs N")
        model = _with_warm_up(scenario, model, chosen)
    results = _simulate(scenario, model, seed)
    if not quiet:
        from rich.console import Console

        from asyncflow.report.console import print_summary

        print_summary(results, Console())
    written = _write_outputs(results, out=out, summary_json=summary_json)
    written += _write_extras(
        results, report=report, trace=trace, trace_rate=trace_rate, trace_slowest=trace_slowest
    )
    if not quiet:
        for path in written:
            typer.echo(f"wrote {path}")


@app.command()
def compare(
    first: Annotated[
        Path,
        typer.Argument(metavar="A", help="Baseline scenario file.", show_default=False),
    ],
    second: Annotated[
        Path,
        typer.Argument(metavar="B", help="Scenario file to compare with A.", show_default=False),
    ],
    runs: Annotated[
        int,
        typer.Option(min=2, help="Replications of each scenario (paired by seed)."),
    ] = 10,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Master seed shared by A and B; default: A's sim_settings.seed, else 0.",
            show_default=False,
        ),
    ] = None,
    jobs: Jobs = None,
    confidence: Confidence = 0.95,
    warm_up: WarmUpOption = None,
    dask: DaskOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            file_okay=False,
            help="Directory for summary.json and bands.png (created if needed).",
            show_default=False,
        ),
    ] = None,
    summary_json: SummaryJson = None,
    quiet: Quiet = False,
) -> None:
    """Compare two scenarios run with common random numbers, figure by figure.

    Replication i of A and of B share a seed, so components present in both
    draw the same random numbers; each figure is reported as the paired
    difference B - A with its interval and a verdict.
    """
    model_a, model_b = _load(first), _load(second)
    from asyncflow.experiment import compare as compare_designs
    from asyncflow.experiment.display import comparison_renderable, progress_bar

    console = _console()
    chosen = _warm_up(warm_up)
    with (
        _experiment_errors(first),
        _executor(dask) as executor,
        progress_bar(_console(stderr=True), enabled=not quiet) as progress,
    ):
        comparison = compare_designs(
            model_a,
            model_b,
            runs=runs,
            seed=seed,
            executor=executor,
            jobs=jobs,
            confidence=confidence,
            warm_up=chosen,
            progress=progress,
        )
    if not quiet:
        console.print(comparison_renderable(comparison))
    written = _write_comparison(comparison, out=out, summary_json=summary_json)
    if not quiet:
        for path in written:
            typer.echo(f"wrote {path}")


@app.command()
def validate(scenario: ScenarioPath) -> None:
    """Check a scenario file and list every problem found."""
    _load(scenario)
    typer.echo(f"ok: {scenario} is a valid scenario")


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    import json

    from asyncflow.scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))


def main() -> None:
    """Entry point of the ``asyncflow`` command."""
    app(prog_name="asyncflow")


def _load(path: Path) -> Scenario:
    """Load and validate a scenario file, exiting with code 2 on any problem."""
    from asyncflow.scenario import load_scenario

    try:
        return load_scenario(path)
    except ScenarioFileError as error:
        _exit_bad_input(f"error: cannot read scenario {path}:", error.problems)
    except ScenarioError as error:
        _exit_bad_input(f"error: scenario {path} is invalid:", error.problems)
    except OSError as error:
        _exit_bad_input(
            f"error: cannot read scenario {path}:", (f"{path}: {error.strerror or error}",)
        )


def _simulate(path: Path, model: Scenario, seed: int | None) -> Results:
    """Run a validated scenario, turning deliberate errors into clean exits."""
    import asyncflow

    try:
        return asyncflow.run(model, seed=seed)
    except ScenarioError as error:
        _exit_bad_input(f"error: scenario {path} is invalid:", error.problems)
    except AsyncFlowError as error:
        typer.echo(f"error: the run of {path} failed: {error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None


def _write_outputs(results: Results, *, out: Path | None, summary_json: Path | None) -> list[Path]:
    """Write the requested files and return their paths in writing order."""
    from asyncflow.report.dashboard import write_dashboard, write_node_pages
    from asyncflow.report.export import write_summary_json
    from asyncflow.report.tables import write_timeseries_csv

    written: list[Path] = []
    try:
        summary = results.summary()
        if summary_json is not None:
            written.append(write_summary_json(summary, summary_json))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            written.append(write_dashboard(results, out / "dashboard.png"))
            written += write_node_pages(results, out / "nodes")
            results.write_csv(out / "requests.csv")
            written.append(out / "requests.csv")
            written.append(write_timeseries_csv(results, out / "timeseries.csv"))
            written.append(write_summary_json(summary, out / "summary.json"))
    except OSError as error:
        where = error.filename if error.filename is not None else (out or summary_json)
        typer.echo(f"error: cannot write {where}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    return written


def _write_extras(
    results: Results,
    *,
    report: Path | None,
    trace: Path | None,
    trace_rate: float,
    trace_slowest: int,
) -> list[Path]:
    """Write the HTML report and the trace when asked for."""
    written: list[Path] = []
    try:
        if report is not None:
            from asyncflow.report.html import write_html_report

            written.append(write_html_report(results, report))
        if trace is not None:
            from asyncflow.report.trace import write_trace

            written.append(
                write_trace(results, trace, sample_rate=trace_rate, slowest=trace_slowest)
            )
    except ImportError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    except OSError as error:
        where = error.filename if error.filename is not None else (report or trace)
        typer.echo(f"error: cannot write {where}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    return written


def _exit_usage(message: str) -> NoReturn:
    """Print one line on stderr and exit with code 2."""
    typer.echo(message, err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _exit_bad_input(header: str, problems: tuple[str, ...]) -> NoReturn:
    """Print a header and each problem line on stderr, then exit with code 2."""
    typer.echo(header, err=True)
    for problem in problems or ("(no detail given)",):
        typer.echo(problem, err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


# ---------------------------------------------------------------------- ensembles


@dataclass(frozen=True)
class _EnsemblePlan:
    """What ``run --runs`` was asked to do."""

    runs: int
    seed: int | None
    jobs: int | None
    confidence: float
    objectives: list[Objective]
    precision: float | None
    max_runs: int
    metric: str
    warm_up: WarmUpArg
    dask: str | None


def _console(*, stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr)


def _objectives(texts: list[str]) -> list[Objective]:
    """Parse every --slo, exiting with code 2 on the first that does not parse."""
    from asyncflow.experiment import ExperimentError, Objective

    try:
        return [Objective.parse(text) for text in texts]
    except ExperimentError as error:
        _exit_usage(f"error: bad --slo: {error}")


def _warm_up(text: str | None) -> WarmUpArg:
    """Read --warm-up: None, 'auto' or a number of seconds >= 0."""
    if text is None:
        return None
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0.0:
        _exit_usage(f"error: --warm-up must be a number of seconds >= 0 or 'auto' (got {text!r})")
    return value


def _with_warm_up(path: Path, model: Scenario, seconds: float | str | None) -> Scenario:
    from asyncflow.experiment import ExperimentError
    from asyncflow.experiment.replicate import with_warm_up

    try:
        return with_warm_up(model, float(seconds or 0.0))
    except ExperimentError as error:
        _exit_usage(f"error: bad --warm-up for {path}: {error}")


def _refuse_ensemble_options(**given: Any) -> None:
    """Options that only mean something with --runs must not be given alone."""
    defaults = {"confidence": 0.95, "max_runs": 1000, "metric": "latency_s.mean"}
    used = [
        "--" + name.replace("_", "-")
        for name, value in given.items()
        if value not in (None, [], defaults.get(name))
    ]
    if used:
        _exit_usage(f"error: {', '.join(used)} need --runs N (or --precision P)")


@contextmanager
def _executor(dask: str | None) -> Iterator[Executor | None]:
    """The Dask executor for --dask, else None (local processes)."""
    if dask is None:
        yield None
        return
    from asyncflow.experiment import dask_executor

    with ExitStack() as stack:
        try:
            executor = stack.enter_context(dask_executor(dask))
        except ImportError as error:
            _exit_usage(f"error: {error}")
        except (OSError, TimeoutError, ValueError) as error:
            typer.echo(f"error: cannot reach the Dask scheduler at {dask}: {error}", err=True)
            raise typer.Exit(EXIT_RUN_FAILED) from None
        yield executor


@contextmanager
def _experiment_errors(path: Path) -> Iterator[None]:
    """Turn deliberate errors of an experiment into clean exits."""
    from asyncflow.experiment import ExperimentError

    try:
        yield
    except ExperimentError as error:
        _exit_usage(f"error: {error}")
    except ScenarioError as error:
        _exit_bad_input(f"error: scenario {path} is invalid:", error.problems)
    except AsyncFlowError as error:
        typer.echo(f"error: a run of {path} failed: {error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None


def _run_ensemble(
    path: Path,
    model: Scenario,
    plan: _EnsemblePlan,
    *,
    out: Path | None,
    summary_json: Path | None,
    quiet: bool,
) -> None:
    """``run --runs``: replicate, print the tables, write the files."""
    from asyncflow.experiment import ExperimentError, replicate
    from asyncflow.experiment.display import ensemble_renderable, progress_bar

    with _experiment_errors(path), _executor(plan.dask) as executor:
        with progress_bar(_console(stderr=True), enabled=not quiet) as progress:
            ensemble = replicate(
                model,
                runs=plan.runs,
                seed=plan.seed,
                executor=executor,
                jobs=plan.jobs,
                confidence=plan.confidence,
                warm_up=plan.warm_up,
                precision=plan.precision,
                metric=plan.metric,
                max_runs=plan.max_runs,
                progress=progress,
            )
        try:
            for goal in plan.objectives:
                ensemble.values(goal.path)
        except ExperimentError as error:
            _exit_usage(f"error: bad --slo: {error}")
    if not quiet:
        _console().print(ensemble_renderable(ensemble, plan.objectives))
    written = _write_ensemble(ensemble, plan.objectives, out=out, summary_json=summary_json)
    if not quiet:
        for written_path in written:
            typer.echo(f"wrote {written_path}")


def _write_ensemble(
    ensemble: Ensemble,
    objectives: list[Objective],
    *,
    out: Path | None,
    summary_json: Path | None,
) -> list[Path]:
    """Write summary JSON, and under --out also runs.csv and bands.png."""
    from asyncflow.report.bands import write_bands
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    with _writing(out or summary_json):
        summary = ensemble.summary(objectives)
        if summary_json is not None:
            written.append(write_summary_json(summary, summary_json))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            written.append(write_bands(ensemble, out / "bands.png"))
            ensemble.write_csv(out / "runs.csv")
            written.append(out / "runs.csv")
            written.append(write_summary_json(summary, out / "summary.json"))
    return written


def _write_comparison(
    comparison: Comparison, *, out: Path | None, summary_json: Path | None
) -> list[Path]:
    """Write the comparison's JSON, and under --out the overlaid bands."""
    from asyncflow.report.bands import write_bands
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    with _writing(out or summary_json):
        summary = comparison.summary()
        if summary_json is not None:
            written.append(write_summary_json(summary, summary_json))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            pairs = [
                (f"A: {comparison.a.name}", comparison.a),
                (f"B: {comparison.b.name}", comparison.b),
            ]
            written.append(write_bands(pairs, out / "bands.png"))
            written.append(write_summary_json(summary, out / "summary.json"))
    return written


@contextmanager
def _writing(target: Path | None) -> Iterator[None]:
    """Exit with code 1 and a one-line message when an output cannot be written."""
    try:
        yield
    except OSError as error:
        where = error.filename if error.filename is not None else target
        typer.echo(f"error: cannot write {where}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
