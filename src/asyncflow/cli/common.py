"""What every command shares: exit codes, loading scenarios, clean exits, safe output.

Problems with the user's input are printed on stderr, one per line, and the
command exits with code 2; a run that fails or a file that cannot be written
exits with code 1; an objective (``--slo``) that is missed, with code 3,
once every output is written. Nothing the user wrote (ids, names, paths) reaches the
terminal with its control characters or as Rich markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from asyncflow.errors import AsyncFlowError, ExperimentError, ScenarioError, ScenarioFileError

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from rich.console import Console

    from asyncflow.scenario import Scenario
    from asyncflow.scenario.overrides import Override

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_RUN_FAILED",
    "EXIT_SLO_MISSED",
    "any_of",
    "as_option",
    "console",
    "echo_written",
    "executor",
    "exit_bad_input",
    "exit_failed",
    "exit_missed",
    "exit_usage",
    "experiment_errors",
    "invalid",
    "load",
    "objectives",
    "refuse_unless",
    "safe",
    "scenario_changes",
]

EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SLO_MISSED = 3


def safe(text: object) -> str:
    """``text`` with control characters made visible (for plain terminal lines)."""
    from asyncflow.experiment.display import terminal_text

    return terminal_text(text)


def console(*, stderr: bool = False, markup: bool = False) -> Console:
    """A Rich console; by default it reads no markup or emoji codes in what it prints.

    Strings printed through it are then shown as written, so a node id such
    as ``srv[/]`` or ``[link=...]`` stays text. The experiment tables use
    markup on purpose (``markup=True``) and escape every user string
    themselves (:func:`asyncflow.experiment.display.markup_text`).
    """
    from rich.console import Console

    return Console(stderr=stderr, markup=markup, emoji=False)


def exit_usage(message: str) -> NoReturn:
    """Print one line on stderr and exit with code 2."""
    typer.echo(safe(message), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def exit_failed(message: str) -> NoReturn:
    """Print one line on stderr and exit with code 1."""
    typer.echo(safe(message), err=True)
    raise typer.Exit(EXIT_RUN_FAILED)


def exit_bad_input(header: str, problems: Iterable[str]) -> NoReturn:
    """Print a header and each problem line on stderr, then exit with code 2."""
    typer.echo(safe(header), err=True)
    for problem in tuple(problems) or ("(no detail given)",):
        typer.echo(safe(problem), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def echo_written(paths: Iterable[Path], *, quiet: bool) -> None:
    """One ``wrote PATH`` line per file, unless quiet."""
    if not quiet:
        for path in paths:
            typer.echo(f"wrote {safe(path)}")


def load(path: Path, changes: Sequence[Override] = ()) -> Scenario:
    """Load and validate a scenario file, then apply ``changes``; exit 2 on any problem.

    A file that breaks a rule is reported as such; a change that does, or a
    wrong path, under ``scenario PATH with --set/--duration is invalid``.
    """
    from asyncflow.scenario import load_scenario
    from asyncflow.scenario.overrides import with_overrides

    try:
        scenario = load_scenario(path)
    except ScenarioFileError as error:
        exit_bad_input(f"error: cannot read scenario {path}:", error.problems)
    except ScenarioError as error:
        exit_bad_input(f"error: {invalid(path)}:", error.problems)
    except OSError as error:
        exit_bad_input(
            f"error: cannot read scenario {path}:", (f"{path}: {error.strerror or error}",)
        )
    try:
        return with_overrides(scenario, changes)
    except ScenarioError as error:
        exit_bad_input(f"error: {invalid(path, True)}:", error.problems)


def invalid(path: Path, changed: bool = False) -> str:
    """``scenario PATH is invalid`` (``with --set/--duration`` when changed)."""
    return f"scenario {path} {'with --set/--duration ' if changed else ''}is invalid"


def scenario_changes(sets: Sequence[str] | None, duration: float | None) -> list[Override]:
    """The overrides of ``--set PATH=VALUE`` and ``--duration SECONDS``; exit 2 on a bad one."""
    from asyncflow.scenario.overrides import Override, duration_override

    changes: list[Override] = []
    for text in sets or ():
        try:
            changes.append(Override.parse(text))
        except ScenarioError as error:
            problem = error.problems[0]
            exit_usage(f"error: {problem if problem.startswith('--set') else '--set ' + problem}")
    if duration is not None:
        if not (duration > 0 and duration != float("inf")):
            exit_usage(f"error: --duration must be a number of seconds > 0 (got {duration:g})")
        changes.append(duration_override(duration))
    return changes


def objectives(texts: Sequence[str] | None) -> list[Any]:
    """The parsed ``--slo`` objectives; exit 2 on one that does not parse."""
    from asyncflow.experiment import Objective

    try:
        return [Objective.parse(text) for text in texts or ()]
    except ExperimentError as error:
        exit_usage(f"error: bad --slo: {error}")


def exit_missed(sentences: Sequence[str]) -> None:
    """When objectives were missed: one line each on stderr, then exit 3."""
    if not sentences:
        return
    for sentence in sentences:
        typer.echo(f"objective missed: {safe(sentence)}", err=True)
    raise typer.Exit(EXIT_SLO_MISSED)


@contextmanager
def experiment_errors(path: Path, changed: bool = False) -> Iterator[None]:
    """Turn deliberate errors of an experiment or a run into clean exits."""
    try:
        yield
    except ExperimentError as error:
        exit_usage(f"error: {as_option(str(error))}")
    except ScenarioError as error:
        exit_bad_input(f"error: {invalid(path, changed)}:", error.problems)
    except AsyncFlowError as error:
        exit_failed(f"error: a run of {path} failed: {error}")


def as_option(message: str) -> str:
    """``max_runs: expected ...`` → ``--max-runs: expected ...`` (the option's spelling)."""
    name, colon, rest = message.partition(":")
    if colon and name.isidentifier():
        return f"--{name.replace('_', '-')}:{rest}"
    return message


@contextmanager
def executor(dask: str | None) -> Iterator[Executor | None]:
    """The Dask executor for ``--dask``, else ``None`` (local processes)."""
    if dask is None:
        yield None
        return
    from asyncflow.experiment import dask_executor

    with ExitStack() as stack:
        try:
            pool = stack.enter_context(dask_executor(dask))
        except ImportError as error:
            exit_usage(f"error: {error}")
        except (OSError, TimeoutError, ValueError) as error:
            exit_failed(f"error: cannot reach the Dask scheduler at {dask}: {error}")
        yield pool


def refuse_unless(condition: bool, options: list[str], needed: str) -> None:
    """Exit 2 naming ``options`` when they are given without what they need.

    ``--jobs needs --runs N``; ``--jobs and --dask need --runs N``.
    """
    if condition or not options:
        return
    names = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " and " + options[-1]
    verb = "needs" if len(options) == 1 else "need"
    exit_usage(f"error: {names} {verb} {needed}")


def any_of(values: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """The ``--option`` names whose value differs from its default (None, [] or given)."""
    return [
        "--" + name.replace("_", "-")
        for name, value in values.items()
        if value not in (None, [], defaults.get(name))
    ]
