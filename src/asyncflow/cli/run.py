"""``asyncflow run``: one run of a scenario (``--runs N``: see :mod:`asyncflow.cli.ensemble`)."""

from __future__ import annotations

import dataclasses
import importlib.util
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from asyncflow.cli import options
from asyncflow.cli.common import (
    any_of,
    as_option,
    console,
    echo_written,
    exit_bad_input,
    exit_failed,
    exit_missed,
    exit_usage,
    invalid,
    load,
    objectives,
    refuse_unless,
    safe,
    scenario_changes,
)
from asyncflow.cli.ensemble import EnsembleRequest, run_ensemble
from asyncflow.cli.examples import example_path
from asyncflow.cli.outputs import Outputs, plan_outputs, write_directory, write_file, writing
from asyncflow.errors import AsyncFlowError, ExperimentError, ScenarioError

if TYPE_CHECKING:
    from rich.console import Console

    from asyncflow.experiment import Objective
    from asyncflow.experiment.gates import RunGate
    from asyncflow.results import Results
    from asyncflow.scenario import Scenario

__all__ = ["SINGLE_RUN_FILES", "check_report_extra", "run", "simulate"]

SINGLE_RUN_FILES = ("dashboard.png", "nodes/", "timeseries.csv", "summary.json")
"""What ``--out`` holds after a single run, besides the request table."""

PROGRESS_AFTER_S = 0.5
"""A single run draws its progress bar only once it has taken this long."""

_EXTRAS = {
    "plotly": "--report needs plotly: pip install 'asyncflow[report]'",
    "pyarrow": "--requests-format parquet needs pyarrow: pip install 'asyncflow[parquet]'",
}


def run(
    scenario: options.ScenarioPath = None,
    example: Annotated[
        str | None,
        typer.Option(
            "--example",
            metavar="NAME",
            help="Run a bundled example instead of a file (asyncflow examples lists them).",
            show_default=False,
        ),
    ] = None,
    seed: options.Seed = None,
    quiet: options.Quiet = False,
    warm_up: options.WarmUp = None,
    set_values: options.Sets = None,
    duration: options.Duration = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for dashboard.png, nodes/ (a page per node), the request table, "
            "timeseries.csv and summary.json; with --runs: bands.png, runs.csv and "
            "summary.json (created if needed).",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    requests_format: options.RequestsFormatOption = options.RequestsFormat.CSV,
    summary_json: options.SummaryJson = None,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            metavar="PATH.html",
            help="Write a self-contained HTML report (interactive charts, works offline; "
            "with --runs: bands and intervals; pip install 'asyncflow\\[report]').",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    trace: Annotated[
        str | None,
        typer.Option(
            "--trace",
            metavar="PATH.json",
            help="Write a sample of requests as Chrome trace events (open in Perfetto).",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    trace_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            metavar="R",
            help="Share of requests sampled into --trace.",
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = 0.01,
    trace_slowest: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="N",
            help="The slowest requests added to --trace.",
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = 50,
    runs: options.Runs = None,
    jobs: options.Jobs = None,
    confidence: options.Confidence = options.DEFAULT_CONFIDENCE,
    slo: options.Slo = None,
    slo_confidence: options.SloConfidence = options.DEFAULT_SLO_CONFIDENCE,
    precision: options.Precision = None,
    max_runs: options.MaxRuns = options.DEFAULT_MAX_RUNS,
    metric: options.Metrics = None,
    dask: options.Dask = None,
    streaming: options.Streaming = False,
    memory_budget: options.MemoryBudget = None,
    no_phases: options.NoPhases = False,
) -> None:
    """Run a scenario, print its summary and optionally write reports.

    With --runs (or --precision), run independent replications instead and
    report each figure's mean with a confidence interval. With --slo, exit
    with code 3 when an objective is missed.
    """
    path = _scenario_path(scenario, example)
    changes = scenario_changes(set_values, duration)
    goals = objectives(slo)
    budget = _budget(memory_budget)
    phases = not no_phases
    if streaming:
        single = runs is None and precision is None
        _refuse_row_outputs(out=out, trace=trace, report=report, single=single)
    if runs is not None or precision is not None:
        if memory_budget is not None:
            exit_usage("error: --memory-budget is for a single run; with --runs use --streaming")
        if trace is not None:
            exit_usage("error: --trace describes a single run; drop --runs")
        request = EnsembleRequest.from_options(
            runs=runs,
            seed=seed,
            jobs=jobs,
            confidence=confidence,
            warm_up=warm_up,
            slo=goals,
            slo_confidence=slo_confidence,
            precision=precision,
            max_runs=max_runs,
            metric=metric or [],
            dask=dask,
        )
        outputs = plan_outputs(
            inputs=[path],
            out=out,
            under_out=("bands.png", "runs.csv", "summary.json"),
            files={"--summary-json": summary_json, "--report": report},
        )
        _check_extras(report=report is not None, parquet=False)
        model = load(path, changes)
        if streaming:
            chosen = dataclasses.replace(request.options, streaming=True)
            request = dataclasses.replace(request, options=chosen)
        run_ensemble(path, model, request, outputs, quiet=quiet, changed=bool(changes))
        return
    given: dict[str, Any] = {"jobs": jobs, "dask": dask, "confidence": confidence}
    given["max_runs"] = max_runs
    given |= {"metric": metric, "slo_confidence": slo_confidence}
    defaults = {
        "confidence": options.DEFAULT_CONFIDENCE,
        "max_runs": options.DEFAULT_MAX_RUNS,
        "slo_confidence": options.DEFAULT_SLO_CONFIDENCE,
    }
    refuse_unless(False, any_of(given, defaults), "--runs N (or --precision P)")
    table = requests_format.value
    outputs = plan_outputs(
        inputs=[path],
        out=out,
        under_out=(*SINGLE_RUN_FILES, *(() if table == "none" else (f"requests.{table}",))),
        files={"--summary-json": summary_json, "--report": report, "--trace": trace},
    )
    _check_extras(report=report is not None, parquet=table == "parquet")
    model = _single_warm_up(path, load(path, changes), warm_up)
    if not streaming:
        needs = _row_outputs(out=out, trace=trace, report=report)
        streaming = _outgrows(model, budget, phases=phases, needs=needs, quiet=quiet)
    # The call table is kept when something reads it: the trace.
    results = simulate(
        path,
        model,
        seed,
        quiet=quiet,
        record_calls=trace is not None,
        changed=bool(changes),
        record_phases=phases,
        streaming=streaming,
    )
    gates = check_objectives(results, goals)
    if not quiet:
        print_run_summary(results, console())
        print_capacity(results, gates, console(markup=True))
    extra = {"slo": {str(g.objective): g.as_dict() for g in gates}} if gates else {}
    with writing():
        written = write_run(results, outputs, table, extra)
        written += _write_extras(results, outputs, trace_rate, trace_slowest)
    echo_written(written, quiet=quiet)
    from asyncflow.experiment.gates import missed

    exit_missed(missed(gates))


def _budget(text: str | None) -> float | None:
    """The memory budget in bytes: ``--memory-budget``, else half the available memory."""
    if text is not None:
        try:
            return float(options.parse_size(text))
        except ValueError as error:
            exit_usage(f"error: {error}")
    available = available_memory()
    return available / 2 if available is not None else None


def available_memory() -> float | None:
    """Bytes of memory available to a new process (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _row_outputs(*, out: str | None, trace: str | None, report: str | None) -> str | None:
    """The first option given whose output needs the per-request table, if any."""
    given = (("--out", out), ("--trace", trace), ("--report", report))
    return next((name for name, value in given if value is not None), None)


def _refuse_row_outputs(
    *, out: str | None, trace: str | None, report: str | None, single: bool
) -> None:
    """Exit 2 when a single --streaming run is asked for an output that needs the table.

    (Replications write their bands and tables from each run's record, which
    a streaming run keeps.)
    """
    needs = _row_outputs(out=out, trace=trace, report=report) if single else None
    if needs is not None:
        exit_usage(
            f"error: {needs} needs the per-request table, which --streaming does not keep; "
            "write the summary with --summary-json PATH instead"
        )


def _outgrows(
    model: Scenario, budget: float | None, *, phases: bool, needs: str | None, quiet: bool
) -> bool:
    """Whether to stream because the request table would outgrow ``budget``.

    Prints a one-line notice when it does; exits 2 when an output that needs
    the table (``needs``) was asked for.
    """
    from asyncflow.simulation import expected_requests, expected_table_bytes

    if budget is None:
        return False
    size = expected_table_bytes(model, record_phases=phases)
    if size <= budget:
        return False
    requests = f"about {expected_requests(model):,.0f} requests expected"
    sizes = f"~{_megabytes(size)} for their table, over the budget of {_megabytes(budget)}"
    if needs is not None:
        exit_usage(
            f"error: {requests} ({sizes}), and {needs} needs that table; run with "
            "--streaming (and --summary-json PATH), a shorter --duration or a larger "
            "--memory-budget"
        )
    if not quiet:
        console(stderr=True).print(
            f"note: {requests} ({sizes}): running in streaming mode (--streaming); "
            "--memory-budget SIZE changes the budget",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return True


def _megabytes(size: float) -> str:
    return f"{size / 2**30:,.1f} GiB" if size >= 2**30 else f"{size / 2**20:,.0f} MiB"


def check_objectives(results: Results, goals: list[Objective]) -> list[RunGate]:
    """Check ``--slo`` objectives on a single run; exit 2 naming an unknown figure."""
    if not goals:
        return []
    from asyncflow.experiment.gates import check_run
    from asyncflow.experiment.record import flatten_summary

    try:
        return check_run(flatten_summary(results.summary()), goals)
    except ExperimentError as error:
        exit_usage(f"error: bad --slo: {error}")


def print_capacity(results: Results, gates: list[RunGate], out: Console) -> None:
    """Print the cost, the objectives and theory beside the run."""
    from asyncflow.experiment.display_capacity import run_capacity_renderable

    out.print(run_capacity_renderable(results.summary(), gates))


def _scenario_path(scenario: Path | None, example: str | None) -> Path:
    if scenario is not None and example is not None:
        exit_usage("error: give a SCENARIO file or --example NAME, not both")
    if example is not None:
        return example_path(example)
    if scenario is None:
        exit_usage("error: missing SCENARIO (a scenario file, or --example NAME)")
    return scenario


def check_report_extra(report: str | None) -> None:
    """Exit 1 before running when ``--report`` is asked for without plotly."""
    _check_extras(report=report is not None, parquet=False)


def _check_extras(*, report: bool, parquet: bool) -> None:
    """Exit 1 before running when an output needs an extra that is not installed."""
    for module, wanted in (("plotly", report), ("pyarrow", parquet)):
        if wanted and importlib.util.find_spec(module) is None:
            exit_failed(f"error: {_EXTRAS[module]}")


def _single_warm_up(path: Path, model: Scenario, text: str | None) -> Scenario:
    from asyncflow.cli.ensemble import parse_warm_up
    from asyncflow.experiment.replicate import with_warm_up

    chosen = parse_warm_up(text)
    if chosen is None:
        return model
    if chosen == "auto":
        exit_usage("error: --warm-up auto needs --runs N")
    try:
        return with_warm_up(model, float(chosen))
    except ExperimentError as error:
        exit_usage(f"error: {as_option(str(error))}")


def simulate(
    path: Path,
    model: Scenario,
    seed: int | None,
    *,
    quiet: bool = False,
    record_calls: bool = False,
    changed: bool = False,
    record_phases: bool = True,
    streaming: bool = False,
) -> Results:
    """Run a validated scenario with a progress bar, turning deliberate errors into exits."""
    from asyncflow.simulation import Simulation

    if seed is None:
        seed = model.sim_settings.seed if model.sim_settings.seed is not None else 0
    try:
        simulation = Simulation(
            model,
            seed,
            record_calls=record_calls,
            record_phases=record_phases,
            streaming=streaming,
        )
        bar = console(stderr=True)
        with run_progress(bar, simulation.end_s, enabled=not quiet and bar.is_terminal) as step:
            return simulation.run(progress=step)
    except ScenarioError as error:
        exit_bad_input(f"error: {invalid(path, changed)}:", error.problems)
    except AsyncFlowError as error:
        exit_failed(f"error: the run of {path} failed: {error}")


@contextmanager
def run_progress(
    bar_console: Console, end_s: float, *, enabled: bool, after_s: float = PROGRESS_AFTER_S
) -> Iterator[Callable[[float], None] | None]:
    """Yield ``step(simulated_s)`` drawing a bar with the time left, or ``None``.

    The bar appears only once the run has lasted ``after_s`` of wall time, so
    short runs print nothing; it is removed when the run ends.
    """
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} / {task.total:,.0f} s simulated"),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=bar_console,
        transient=True,
    )
    task = bar.add_task("run", total=end_s)
    started = time.perf_counter()

    def step(now_s: float) -> None:
        if not bar.live.is_started and time.perf_counter() - started >= after_s:
            bar.start()
        bar.update(task, completed=now_s)

    try:
        yield step
    finally:
        bar.stop()


def print_run_summary(results: Results, out: Console) -> None:
    """Print the run's summary with every user-given string made safe for the terminal."""
    from asyncflow.report.console import print_summary

    windows = [
        dataclasses.replace(w, event_id=safe(w.event_id), target=safe(w.target))
        for w in results.fault_windows
    ]
    print_summary(_safe_strings(results.summary()), out, fault_windows=windows)


def _safe_strings(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {safe(k): _safe_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe_strings(v) for v in value]
    return safe(value) if isinstance(value, str) else value


def write_run(
    results: Results, outputs: Outputs, table: str, extra: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write the summary JSON (with ``extra`` keys) and the files under ``--out``."""
    from asyncflow.report.dashboard import write_dashboard, write_node_pages
    from asyncflow.report.export import write_summary_json
    from asyncflow.report.replicas import write_replica_chart
    from asyncflow.report.tables import write_timeseries_csv

    written: list[Path] = []
    summary = {**results.summary(), **(extra or {})}
    summary_path = outputs.file("--summary-json")
    if summary_path is not None:
        written.append(write_summary_json(summary, summary_path))
    if outputs.out is None:
        return written
    under = outputs.under_out
    written.append(write_file(under("dashboard.png"), lambda p: write_dashboard(results, p)))
    written += write_replica_chart(results, under)  # runs with replica groups only
    written += write_directory(under("nodes"), lambda d: write_node_pages(results, d))
    if table == "csv":
        written.append(write_file(under("requests.csv"), results.write_csv))
    elif table == "parquet":
        written.append(write_file(under("requests.parquet"), results.write_parquet))
    timeseries = under("timeseries.csv")
    written.append(write_file(timeseries, lambda p: write_timeseries_csv(results, p)))
    written.append(write_summary_json(summary, under("summary.json")))
    return written


def _write_extras(
    results: Results, outputs: Outputs, trace_rate: float, trace_slowest: int
) -> list[Path]:
    """Write the HTML report and the trace when asked for."""
    written: list[Path] = []
    report = outputs.file("--report")
    if report is not None:
        from asyncflow.report.html import write_html_report

        written.append(write_file(report, lambda p: write_html_report(results, p)))
    trace = outputs.file("--trace")
    if trace is not None:
        from asyncflow.report.trace import write_trace

        def draw(path: Path) -> None:
            write_trace(results, path, sample_rate=trace_rate, slowest=trace_slowest)

        written.append(write_file(trace, draw))
    return written
