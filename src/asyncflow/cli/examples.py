"""The example scenarios shipped inside the package, by name.

``asyncflow examples`` lists them, ``asyncflow examples NAME`` prints one
(to start a scenario of your own from it) and ``asyncflow run --example
NAME`` runs it. They live in ``asyncflow/examples/`` of the installed
package (the repository's ``examples/`` directory).
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from asyncflow.cli.common import exit_usage, safe

__all__ = ["bundled_examples", "example_path", "examples"]


def bundled_examples() -> dict[str, Path]:
    """Every shipped scenario by name (its file stem), sorted by name."""
    root = Path(str(resources.files("asyncflow") / "examples"))
    found = {path.stem: path for path in root.rglob("*.yml")}
    return dict(sorted(found.items()))


def describe_example(path: Path) -> str:
    """The first line of the file's leading comment, without its decoration."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip(" ─-=:")
        if text:
            for prefix in ("AsyncFlow scenario: ", "AsyncFlow SimulationPayload — "):
                text = text.removeprefix(prefix)
            return text
    return ""


def example_path(name: str, given_as: str = "--example") -> Path:
    """The file of the example ``name``; exit 2 naming the close ones when unknown."""
    known = bundled_examples()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        exit_usage(
            f"error: {given_as}: no example named {name!r}{hint}; asyncflow examples lists them"
        )
    return known[name]


def examples(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="[NAME]",
            help="Print this example's scenario file (to start one of your own).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """List the bundled example scenarios, or print one of them."""
    if name is not None:
        typer.echo(example_path(name, "NAME").read_text(encoding="utf-8"), nl=False)
        return
    known = bundled_examples()
    width = max(len(n) for n in known)
    for example, path in known.items():
        typer.echo(f"{example:<{width}}  {safe(describe_example(path))}")
    typer.echo("\nRun one with: asyncflow run --example NAME")
