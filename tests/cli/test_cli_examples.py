"""The example scenarios ship in the package and run by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.cli.examples import bundled_examples

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_holds_every_example_of_the_repository() -> None:
    repository = {p.stem for p in (ROOT / "examples").rglob("*.yml")}
    assert set(bundled_examples()) == repository
    assert len(repository) >= 6


def test_examples_lists_them_and_prints_one(runner: CliRunner) -> None:
    listing = runner.invoke(app, ["examples"])
    assert listing.exit_code == 0
    for name in bundled_examples():
        assert f"\n{name} " in "\n" + listing.stdout
    assert "asyncflow run --example NAME" in listing.stdout
    shown = runner.invoke(app, ["examples", "single_server"])
    assert shown.exit_code == 0
    expected = (ROOT / "examples" / "asyncflow-0.1" / "single_server.yml").read_text()
    assert shown.stdout == expected


def test_run_example_by_name(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    result = runner.invoke(
        app, ["run", "--example", "single_server", "-q", "--summary-json", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text())["scenario"] == "single_server"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--example", "single_servr"],
            "error: --example: no example named 'single_servr' (did you mean 'single_server'",
        ),
        (["examples", "nope"], "error: NAME: no example named 'nope'"),
        (["run"], "error: missing SCENARIO (a scenario file, or --example NAME)\n"),
        (
            ["run", "x.yml", "--example", "single_server"],
            "error: give a SCENARIO file or --example NAME, not both\n",
        ),
    ],
)
def test_unknown_or_ambiguous_examples_exit_2(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
