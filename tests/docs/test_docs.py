"""The documentation matches the code: CLI synopsis, references, runnable snippets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import asyncflow
from asyncflow.cli import app
from asyncflow.results import Results

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = ROOT / "docs" / "reference" / "cli.md"
COMMANDS = typer.main.get_command(app).commands  # type: ignore[attr-defined]


def options_of(command: str) -> set[str]:
    params = COMMANDS[command].params
    return {opt for p in params for opt in p.opts if opt.startswith("--")} - {"--help"}


def synopsis() -> dict[str, set[str]]:
    """The options each command shows in the first code block of cli.md."""
    block = CLI_DOC.read_text(encoding="utf-8").split("```")[1]
    shown: dict[str, set[str]] = {}
    current = ""
    for line in block.splitlines():
        match = re.match(r"^asyncflow (\S+)", line)
        if match:
            current = "" if match.group(1).startswith("-") else match.group(1)
        if current:
            shown.setdefault(current, set()).update(re.findall(r"--[a-z][a-z-]*", line))
    return shown


def test_the_cli_synopsis_lists_every_option_of_every_command() -> None:
    shown = synopsis()
    assert set(shown) == set(COMMANDS)
    for command in COMMANDS:
        assert shown[command] == options_of(command), command


def test_every_option_has_a_row_in_the_reference() -> None:
    text = CLI_DOC.read_text(encoding="utf-8")
    for command in ("run", "compare"):
        for option in options_of(command):
            assert f"`{option}" in text, option
    assert "`--version`" in text or "asyncflow --version" in text


def test_the_index_and_readme_name_every_command() -> None:
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"`{command}`" in index or f"asyncflow {command}" in index, command
        assert f"asyncflow {command}" in readme, command


def test_the_results_reference_names_every_public_member() -> None:
    text = (ROOT / "docs" / "reference" / "results-api.md").read_text(encoding="utf-8")
    members = {name for name in dir(Results) if not name.startswith("_")} - {"from_simulation"}
    sample = asyncflow.run(ROOT / "examples" / "asyncflow-0.1" / "single_server.yml", seed=1)
    members |= {name for name in vars(sample) if not name.startswith("_")}
    missing = {name for name in members if not re.search(rf"`{name}\b", text)}
    assert not missing
    for writer in ("write_html_report", "write_trace", "write_summary_json", "write_dashboard"):
        assert f"{writer}(" in text, writer


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_python_snippet_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas", reason="the snippet calls to_pandas (pip install pandas)")
    (snippet,) = python_blocks(ROOT / "README.md")
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    results = namespace["res"]
    assert isinstance(results, Results)
    assert len(namespace["df"]) == results.summary()["requests"]["generated"]  # type: ignore[arg-type]


EXAMPLE_SCRIPTS = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLE_SCRIPTS, ids=lambda p: p.name)
def test_every_example_script_runs(script: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{script.stem}.png"
    done = subprocess.run(
        [sys.executable, str(script), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote {out}\n"
    assert out.read_bytes().startswith(b"\x89PNG")


_MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def test_no_text_file_keeps_a_conflict_marker() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.md", "*.py", "*.yml", "*.yaml", "*.toml", "*.cfg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    marked = [
        name
        for name in tracked.stdout.splitlines()
        if (ROOT / name).is_file()
        and _MARKER.search((ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]
    assert marked == []
