"""The ``asyncflow`` command line.

Commands::

    asyncflow run SCENARIO [--seed N] [--out DIR] [--summary-json PATH] [--quiet]
    asyncflow validate SCENARIO
    asyncflow schema

Exit codes: 0 success; 1 a run failed or an output could not be written;
2 the scenario is missing, unreadable or invalid, or the command line is
wrong. Problems with the user's input are printed one per line on stderr,
never as a traceback; genuine bugs still raise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from asyncflow.errors import AsyncFlowError, ScenarioError, ScenarioFileError

if TYPE_CHECKING:
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
            help="Directory for dashboard.png, requests.csv and summary.json (created if needed).",
            show_default=False,
        ),
    ] = None,
    summary_json: Annotated[
        Path | None,
        typer.Option(
            "--summary-json",
            metavar="PATH",
            dir_okay=False,
            help="Write the summary as JSON to PATH.",
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print nothing except errors."),
    ] = False,
) -> None:
    """Run a scenario, print its summary and optionally write reports."""
    model = _load(scenario)
    results = _simulate(scenario, model, seed)
    if not quiet:
        from rich.console import Console

        from asyncflow.report.console import print_summary

        print_summary(results, Console())
    written = _write_outputs(results, out=out, summary_json=summary_json)
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
    from asyncflow.report.dashboard import write_dashboard
    from asyncflow.report.export import write_summary_json

    written: list[Path] = []
    try:
        summary = results.summary()
        if summary_json is not None:
            written.append(write_summary_json(summary, summary_json))
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            written.append(write_dashboard(results, out / "dashboard.png"))
            results.write_csv(out / "requests.csv")
            written.append(out / "requests.csv")
            written.append(write_summary_json(summary, out / "summary.json"))
    except OSError as error:
        where = error.filename if error.filename is not None else (out or summary_json)
        typer.echo(f"error: cannot write {where}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED) from None
    return written


def _exit_bad_input(header: str, problems: tuple[str, ...]) -> NoReturn:
    """Print a header and each problem line on stderr, then exit with code 2."""
    typer.echo(header, err=True)
    for problem in problems or ("(no detail given)",):
        typer.echo(problem, err=True)
    raise typer.Exit(EXIT_BAD_INPUT)
