"""Output paths: refused when they overwrite an input or collide; written whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow._files import atomic_path, write_atomic, write_text_atomic
from asyncflow.cli import app


@pytest.fixture
def scenario(short_copy: ShortCopy) -> Path:
    return short_copy("single_server.yml", horizon=10.0)


def refused(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return result.stderr


def test_an_output_never_overwrites_the_scenario(runner: CliRunner, scenario: Path) -> None:
    before = scenario.read_bytes()
    message = refused(runner, "run", str(scenario), "--summary-json", str(scenario))
    assert message == (
        f"error: --summary-json {scenario} would overwrite the scenario file {scenario}; "
        "choose another path\n"
    )
    other = scenario.parent / "other.yml"
    other.write_bytes(before)
    message = refused(runner, "compare", str(scenario), str(other), "--summary-json", str(other))
    assert "would overwrite the scenario file" in message
    assert scenario.read_bytes() == before == other.read_bytes()


def test_a_scenario_inside_out_is_not_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "o"
    (out / "nodes").mkdir(parents=True)
    inside = out / "summary.json"
    inside.write_text("{}")
    message = refused(runner, "run", str(inside), "--out", str(out))
    assert message.startswith(f"error: --out {inside} would overwrite the scenario file")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", ""], "error: --out: expected a path (got '')\n"),
        (["--summary-json", " "], "error: --summary-json: expected a path (got ' ')\n"),
        (
            ["--summary-json", "t.json", "--trace", "t.json"],
            "error: --summary-json and --trace both write t.json; choose another path\n",
        ),
        (
            ["--out", "o", "--summary-json", "o/summary.json"],
            "error: --summary-json o/summary.json is also written by --out; choose another path\n",
        ),
        (
            ["--out", "o", "--report", "o/dashboard.png"],
            "error: --report o/dashboard.png is also written by --out; choose another path\n",
        ),
        (
            ["--out", "o", "--trace", "o/nodes/t.json"],
            "error: --trace o/nodes/t.json is also written by --out; choose another path\n",
        ),
    ],
)
def test_colliding_or_empty_outputs_exit_2(
    runner: CliRunner,
    scenario: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert refused(runner, "run", str(scenario), *args) == message
    assert not (tmp_path / "o").exists()
    assert not (tmp_path / "t.json").exists()


def test_out_must_not_be_a_file_and_files_must_not_be_directories(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    assert refused(runner, "run", str(scenario), "--out", str(taken)) == (
        f"error: --out: {taken} exists and is not a directory\n"
    )
    assert refused(runner, "run", str(scenario), "--summary-json", str(tmp_path)) == (
        f"error: --summary-json: {tmp_path} is a directory\n"
    )


def test_summary_inside_out_is_written_whatever_the_order(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "xo"
    deep = tmp_path / "a" / "b" / "s.json"
    result = runner.invoke(
        app,
        ["run", str(scenario), "-q", "--summary-json", str(out / "s.json"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "s.json").read_text()) == json.loads(
        (out / "summary.json").read_text()
    )
    result = runner.invoke(app, ["run", str(scenario), "-q", "--summary-json", str(deep)])
    assert result.exit_code == 0, result.output
    assert deep.is_file()
    assert not [p for p in tmp_path.rglob(".*") if ".tmp" in p.name]


@pytest.mark.parametrize(
    ("fmt", "table"), [("csv", "requests.csv"), ("parquet", "requests.parquet"), ("none", None)]
)
def test_the_request_table_format_is_chosen(
    runner: CliRunner, scenario: Path, tmp_path: Path, fmt: str, table: str | None
) -> None:
    out = tmp_path / "o"
    args = ["run", str(scenario), "--out", str(out), "--requests-format", fmt]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert names - {"nodes"} == {"dashboard.png", "timeseries.csv", "summary.json"} | (
        {table} if table else set()
    )
    generated = json.loads((out / "summary.json").read_text())["requests"]["generated"]
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        assert pq.read_table(out / table).num_rows == generated
    if fmt == "csv":
        assert len((out / table).read_text().splitlines()) == generated + 1
    assert (
        ("wrote " + str(out / table)) in result.stdout
        if table
        else "requests." not in result.stdout
    )


def test_parquet_without_pyarrow_exits_1_before_running(
    runner: CliRunner, scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    out = tmp_path / "o"
    result = runner.invoke(
        app, ["run", str(scenario), "--out", str(out), "--requests-format", "parquet"]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --requests-format parquet needs pyarrow: pip install 'asyncflow[parquet]'\n"
    )
    assert result.stdout == ""  # refused before the run: no summary
    assert not out.exists()


def test_an_interrupted_write_leaves_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "summary.json"
    write_text_atomic(target, "old\n")

    def interrupted(path: Path) -> None:
        path.write_text("half of a ne")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, interrupted)
    assert target.read_text() == "old\n"
    assert os.listdir(target.parent) == ["summary.json"]
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent
        assert temporary.suffix == ".json"
        temporary.write_text("new\n")
    assert target.read_text() == "new\n"
