"""The ``asyncflow`` Typer application: its commands and ``--version``."""

from __future__ import annotations

from typing import Annotated

import typer

from asyncflow.cli.compare import compare
from asyncflow.cli.examples import examples
from asyncflow.cli.rl import rl_app
from asyncflow.cli.run import run
from asyncflow.cli.scenarios import schema, validate
from asyncflow.cli.sweep import OrderedCommand, sweep

__all__ = ["app", "main"]

app = typer.Typer(
    name="asyncflow",
    help="Simulate asynchronous backends described by a scenario file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def core_name() -> str:
    """``compiled`` when the engine modules are extension modules, else ``pure-Python``."""
    from importlib.machinery import EXTENSION_SUFFIXES

    from asyncflow.engine import kernel

    compiled = (kernel.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))
    return "compiled" if compiled else "pure-Python"


def _print_version(value: bool) -> None:
    if value:
        from asyncflow import __version__

        typer.echo(f"asyncflow {__version__} ({core_name()} core)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Simulate asynchronous backends described by a scenario file."""


app.command()(run)
app.command()(compare)
app.command(cls=OrderedCommand)(sweep)
app.command()(validate)
app.command()(schema)
app.command()(examples)
app.add_typer(rl_app)


def main() -> None:
    """Entry point of the ``asyncflow`` command."""
    app(prog_name="asyncflow")
