"""``asyncflow sweep``: a scenario across values of its parameters, or a search for a limit.

Each ``--param PATH`` takes the ``--values`` or ``--range`` that follows it
on the command line (several ``--param`` make a grid); ``--find-max PATH`` or
``--find-min PATH`` searches one parameter instead, within the ``--range`` or
``--values`` that follows it, if any. Which option follows which is read from
the command line itself (:class:`OrderedCommand`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import typer
from typer.core import TyperCommand

from asyncflow.cli import options
from asyncflow.cli.common import (
    console,
    echo_written,
    executor,
    exit_bad_input,
    exit_missed,
    exit_usage,
    experiment_errors,
    invalid,
    objectives,
    scenario_changes,
)
from asyncflow.cli.ensemble import check_required, replication_options
from asyncflow.cli.outputs import Outputs, plan_outputs, write_file, writing
from asyncflow.errors import ExperimentError, ScenarioError, ScenarioFileError

if TYPE_CHECKING:
    from asyncflow.experiment import Objective, ReplicationOptions
    from asyncflow.experiment.parameters import Parameter
    from asyncflow.experiment.search import SearchSpace
    from asyncflow.experiment.sweep import Sweep
    from asyncflow.scenario import Scenario
    from asyncflow.scenario.overrides import Override

__all__ = ["ORDER", "SWEEP_FILES", "OrderedCommand", "sweep"]

ORDER: Final = "asyncflow.option_order"
"""Key of ``ctx.meta`` holding the names of the options in the order given."""

SWEEP_FILES: Final = ("sweep.png", "points.csv", "summary.json")
"""What ``--out`` holds after a sweep."""

SWEEP_PANEL: Final = "Sweep"


class OrderedCommand(TyperCommand):
    """A command that records the order of its options (``ctx.meta[ORDER]``).

    The parser lists each option every time it appears; ``--param A --values
    1,2 --param B --range 1:9:2`` then pairs each parameter with its values.
    """

    def make_parser(self, ctx: Any) -> Any:
        """The usual parser, whose ``parse_args`` also keeps the order of the options."""
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def recording(args: list[str]) -> Any:
            opts, rest, order = parse(args=args)
            ctx.meta[ORDER] = [getattr(p, "name", "") for p in order]
            return opts, rest, order

        parser.parse_args = recording  # type: ignore[method-assign]
        return parser


@dataclass(frozen=True)
class _Axis:
    option: str  # --param, --find-max, --find-min
    path: str
    values: str | None = None
    range: str | None = None


def _axes(
    order: Sequence[str],
    given: dict[str, list[str]],
) -> list[_Axis]:
    """Pair each --param / --find-max / --find-min with the --values or --range after it."""
    queues = {name: list(values) for name, values in given.items()}
    axes: list[_Axis] = []
    for given_name in order:
        name = given_name.rstrip("_")  # range_ is --range
        if name in ("param", "find_max", "find_min"):
            option = "--" + name.replace("_", "-")
            axes.append(_Axis(option, queues[name].pop(0)))
        elif name in ("values", "range"):
            text = queues[name].pop(0)
            flag = f"--{name}"
            if not axes:
                exit_usage(f"error: {flag} {text!r} comes before any --param: put it after one")
            last = axes[-1]
            if last.values is not None or last.range is not None:
                exit_usage(f"error: {last.option} {last.path} has two value lists ({flag} {text})")
            axes[-1] = _Axis(
                last.option, last.path, *((text, None) if name == "values" else (None, text))
            )
    return axes


def sweep(
    ctx: typer.Context,
    scenario: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO",
            help="Scenario file (YAML or JSON; AsyncFlow 0.1 files are accepted).",
            show_default=False,
        ),
    ],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="PATH",
            help="A parameter to sweep (dotted path, items by id), followed by its --values "
            "or --range; repeat for a grid.",
            show_default=False,
            rich_help_panel=SWEEP_PANEL,
        ),
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--values",
            metavar="V1,V2,...",
            help="The values of the --param (or search) before it.",
            show_default=False,
            rich_help_panel=SWEEP_PANEL,
        ),
    ] = None,
    range_: Annotated[
        list[str] | None,
        typer.Option(
            "--range",
            metavar="START:STOP:STEP",
            help="START, START+STEP, ... up to STOP, for the --param before it; for a search, "
            "its bounds START:STOP and resolution STEP (optional).",
            show_default=False,
            rich_help_panel=SWEEP_PANEL,
        ),
    ] = None,
    find_max: Annotated[
        str | None,
        typer.Option(
            "--find-max",
            metavar="PATH",
            help="Search the largest value of PATH (a load) that meets every --slo.",
            show_default=False,
            rich_help_panel=SWEEP_PANEL,
        ),
    ] = None,
    find_min: Annotated[
        str | None,
        typer.Option(
            "--find-min",
            metavar="PATH",
            help="Search the smallest value of PATH (a capacity) that meets every --slo.",
            show_default=False,
            rich_help_panel=SWEEP_PANEL,
        ),
    ] = None,
    slo: options.Slo = None,
    slo_confidence: options.SloConfidence = options.DEFAULT_SLO_CONFIDENCE,
    set_values: options.Sets = None,
    duration: options.Duration = None,
    runs: options.SweepRuns = options.DEFAULT_RUNS,
    seed: options.Seed = None,
    jobs: options.Jobs = None,
    confidence: options.Confidence = options.DEFAULT_CONFIDENCE,
    warm_up: options.WarmUp = None,
    dask: options.Dask = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Directory for sweep.png (the curves, knee marked), points.csv and "
            "summary.json (created if needed).",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    summary_json: options.SummaryJson = None,
    csv: Annotated[
        str | None,
        typer.Option(
            "--csv",
            metavar="PATH",
            help="Write one row per point (parameters, figures with intervals) to PATH.",
            show_default=False,
            rich_help_panel=options.OUTPUT_PANEL,
        ),
    ] = None,
    report: options.Report = None,
    quiet: options.Quiet = False,
) -> None:
    """Run a scenario across values of its parameters, or search for a limit.

    Every point runs --runs replications (locally in parallel, or on Dask),
    each with the same seeds at every point. Reports latency percentiles,
    throughput, the busiest resource's utilisation, failures and cost per
    point with intervals, and the knee of the latency curve. --find-max and
    --find-min search by bisection for the limit that meets every --slo in
    at least --slo-confidence of the runs. Exit code 3 when an objective is
    missed at a point, or a search finds no value that meets them.
    """
    axes = _axes(
        ctx.meta.get(ORDER, []),
        {
            "param": param or [],
            "values": values or [],
            "range": range_ or [],
            "find_max": [find_max] if find_max else [],
            "find_min": [find_min] if find_min else [],
        },
    )
    request = _Request.of(axes, slo, slo_confidence, runs, seed, jobs, confidence, warm_up)
    changes = scenario_changes(set_values, duration)
    outputs = plan_outputs(
        inputs=[scenario],
        out=out,
        under_out=SWEEP_FILES,
        files={"--summary-json": summary_json, "--csv": csv, "--report": report},
    )
    from asyncflow.cli.run import check_report_extra

    check_report_extra(report)
    result = _run(scenario, request, changes, dask, quiet=quiet)
    if not quiet:
        from asyncflow.experiment.display_capacity import sweep_renderable

        console(markup=True).print(sweep_renderable(result))
    with writing():
        written = write_sweep(result, outputs)
    echo_written(written, quiet=quiet)
    if result.found is not None and result.found.value is None:
        exit_missed([f"{result.found.param}: {result.found.limit}"])
    if result.found is None:
        exit_missed(result.missed)


@dataclass(frozen=True)
class _Request:
    params: list[Parameter]
    search: _Axis | None
    goals: list[Objective]
    required: float
    options: ReplicationOptions

    @classmethod
    def of(
        cls,
        axes: list[_Axis],
        slo: list[str] | None,
        slo_confidence: float,
        runs: int,
        seed: int | None,
        jobs: int | None,
        confidence: float,
        warm_up: str | None,
    ) -> _Request:
        """Check what was asked for; exit 2 on the first problem."""
        searches = [a for a in axes if a.option != "--param"]
        grid = [a for a in axes if a.option == "--param"]
        if len(searches) > 1:
            exit_usage("error: give one of --find-max and --find-min")
        if searches and grid:
            exit_usage(f"error: {searches[0].option} searches one parameter: drop --param")
        if not axes:
            exit_usage("error: nothing to sweep: give --param PATH --values ... (or --find-max)")
        goals = objectives(slo)
        if searches and not goals:
            exit_usage(f"error: {searches[0].option} needs an objective: add --slo")
        chosen = replication_options(
            runs=runs, seed=seed, jobs=jobs, confidence=confidence, warm_up=warm_up
        )
        params = [_parameter(axis) for axis in grid]
        required = check_required(slo_confidence)
        return cls(params, searches[0] if searches else None, goals, required, chosen)


def _parameter(axis: _Axis) -> Parameter:
    from asyncflow.experiment.parameters import Parameter

    if axis.values is None and axis.range is None:
        exit_usage(
            f"error: --param {axis.path} needs --values V1,V2,... or --range START:STOP:STEP"
        )
    try:
        if axis.values is not None:
            return Parameter.from_values(axis.path, axis.values)
        return Parameter.from_range(axis.path, axis.range or "")
    except ExperimentError as error:
        exit_usage(f"error: {error}")


def _run(
    path: Path, request: _Request, changes: list[Override], dask: str | None, *, quiet: bool
) -> Sweep:
    """Check every point, then run the sweep or the search."""
    from asyncflow.experiment.display import progress_bar
    from asyncflow.experiment.replicate import master_seed
    from asyncflow.experiment.search import run_search
    from asyncflow.experiment.sweep import build_points, run_sweep
    from asyncflow.scenario.overrides import read_scenario_data

    try:
        data = read_scenario_data(path)
    except ScenarioFileError as error:
        exit_bad_input(f"error: cannot read scenario {path}:", error.problems)
    except ScenarioError as error:
        exit_bad_input(f"error: {invalid(path)}:", error.problems)
    header = f"error: scenario {path} with these values is invalid:"
    name = str(data.get("name", path.stem))
    try:
        if request.search is not None:
            space, start, first = _space(data, request.search, changes)
        else:
            tasks = build_points(data, request.params, changes)
            first = tasks[0].scenario
    except ScenarioError as error:
        exit_bad_input(header, error.problems)
    except ExperimentError as error:
        exit_usage(f"error: {error}")
    seed = master_seed(first, request.options.seed)
    bar = console(stderr=True)
    with (
        experiment_errors(path, True),
        executor(dask) as pool,
        progress_bar(bar, enabled=not quiet and bar.is_terminal) as progress,
    ):
        if request.search is None:
            return run_sweep(
                name,
                tasks,
                request.params,
                request.options,
                request.goals,
                request.required,
                seed=seed,
                executor=pool,
                progress=progress,
            )
        return run_search(
            name,
            data,
            space,
            request.options,
            request.goals,
            seed=seed,
            start=start,
            slo_confidence=request.required,
            fixed=changes,
            executor=pool,
            progress=progress,
        )
    raise AssertionError("unreachable")  # pragma: no cover - experiment_errors exits


def _space(
    data: dict[str, Any], axis: _Axis, changes: list[Override]
) -> tuple[SearchSpace, float | None, Scenario]:
    """The search's space and start value; its ends are checked as scenarios before it runs."""
    from asyncflow.experiment.parameters import Parameter, parse_range
    from asyncflow.experiment.search import SearchSpace, current_value
    from asyncflow.experiment.sweep import build_points
    from asyncflow.scenario.overrides import apply_overrides, takes_integers, with_overrides

    changed = apply_overrides(data, changes)
    integer = takes_integers(changed, axis.path)
    direction: Literal["max", "min"] = "max" if axis.option == "--find-max" else "min"
    space = SearchSpace(axis.path, direction, integer=integer)
    try:
        if axis.values is not None:
            listed = Parameter.from_values(axis.path, axis.values).values
            numbers = tuple(sorted({_number(axis.path, v) for v in listed}))
            space = SearchSpace(axis.path, direction, candidates=numbers, integer=integer)
        elif axis.range is not None:
            low, high, step = parse_range(axis.path, axis.range, step_required=False)
            space = SearchSpace(
                axis.path, direction, float(low), float(high), float(step), (), integer
            )
    except ExperimentError as error:
        exit_usage(f"error: {error}")
    start = current_value(changed, axis.path)
    if space.candidates:
        ends: tuple[float, ...] = (space.candidates[0], space.candidates[-1])
    elif space.low is not None and space.high is not None:
        ends = (space.low, space.high)
    else:
        ends = (start,) if start is not None else ()
    shown = tuple(dict.fromkeys(int(v) if integer else v for v in ends))
    if not shown:
        return space, start, with_overrides(data, changes)
    return space, start, build_points(data, [Parameter(axis.path, shown)], changes)[0].scenario


def _number(path: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        exit_usage(f"error: --values for {path}: a search needs numbers (got {value!r})")
    return float(value)


def write_sweep(result: Sweep, outputs: Outputs) -> list[Path]:
    """Write the summary JSON, the CSV and the HTML report; under ``--out``, the chart too."""
    from asyncflow.report.export import write_summary_json
    from asyncflow.report.sweep_plot import write_sweep_chart

    written: list[Path] = []
    summary = result.summary()
    summary_path = outputs.file("--summary-json")
    if summary_path is not None:
        written.append(write_summary_json(summary, summary_path))
    csv_path = outputs.file("--csv")
    if csv_path is not None:
        written.append(write_file(csv_path, result.write_csv))
    report = outputs.file("--report")
    if report is not None:
        from asyncflow.report.experiment_html import write_sweep_report

        written.append(write_file(report, lambda target: write_sweep_report(result, target)))
    if outputs.out is not None:
        written.append(write_sweep_chart(result, outputs.under_out("sweep.png")))
        written.append(write_file(outputs.under_out("points.csv"), result.write_csv))
        written.append(write_summary_json(summary, outputs.under_out("summary.json")))
    return written
