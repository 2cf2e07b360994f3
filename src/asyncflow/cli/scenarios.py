"""``asyncflow validate`` and ``asyncflow schema``: scenarios without running them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from asyncflow.cli.common import load, safe

__all__ = ["schema", "validate"]


def validate(
    scenario: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO",
            help="Scenario file (YAML or JSON; AsyncFlow 0.1 files are accepted).",
            show_default=False,
        ),
    ],
) -> None:
    """Check a scenario file and list every problem found."""
    load(scenario)
    typer.echo(f"ok: {safe(scenario)} is a valid scenario")


def schema() -> None:
    """Print the JSON Schema of scenario files."""
    import json

    from asyncflow.scenario import scenario_json_schema

    typer.echo(json.dumps(scenario_json_schema(), indent=2))
