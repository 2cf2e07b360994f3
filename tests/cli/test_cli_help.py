"""Help text, --version and the wording of usage errors."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import asyncflow
from asyncflow.cli import app
from asyncflow.cli.app import core_name

COMMANDS = ["run", "compare", "validate", "schema", "examples"]


def help_text(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_shows_no_value_types_beside_flags(runner: CliRunner, command: list[str]) -> None:
    text = help_text(runner, *command)
    assert "<bool>" not in text
    assert not re.search(r"<(int|float|str|path)[^>]*>", text)
    assert "{SCENARIO}" not in text
    for line in text.splitlines():
        if "--quiet" in line or "--help" in line or "--version" in line:
            # a flag's row: its name(s), then straight to the help sentence
            assert re.search(r"--(quiet|help|version)\s+(-q\s+)?[A-Z]", line), line


def test_value_options_show_their_metavar(runner: CliRunner) -> None:
    text = help_text(runner, "run")
    for option, metavar in [
        ("--seed", "N"),
        ("--runs", "N"),
        ("--jobs", "J"),
        ("--out", "DIR"),
        ("--summary-json", "PATH"),
        ("--report", "PATH.html"),
        ("--warm-up", "S|auto"),
        ("--requests-format", "[csv|parquet|none]"),
        ("--metric", "PATTERN"),
    ]:
        assert re.search(rf"{re.escape(option)}\s+{re.escape(metavar)}\s", text), option


def test_version_prints_the_one_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"asyncflow {asyncflow.__version__} ({core_name()} core)\n"
    assert core_name() in ("compiled", "pure-Python")


def test_every_command_is_listed(runner: CliRunner) -> None:
    text = help_text(runner)
    for command in COMMANDS:
        assert re.search(rf"^\W*{command}\s", text, flags=re.MULTILINE), command
