"""``run --streaming``, ``--memory-budget`` and ``--no-phases`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.cli.options import parse_size

EXAMPLE = "two_servers_lb.yml"


def _summary(path: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_streaming_writes_the_summary_of_the_same_run(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy(EXAMPLE, 30.0)
    full, streamed = tmp_path / "full.json", tmp_path / "streamed.json"
    for target, extra in ((full, []), (streamed, ["--streaming"])):
        args = ["run", str(scenario), "--quiet", "--summary-json", str(target), *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert _summary(full)["requests"] == _summary(streamed)["requests"]
    assert _summary(full)["servers"] == _summary(streamed)["servers"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--streaming", "--out", "o"], "error: --out needs the per-request table"),
        (["--streaming", "--trace", "t.json"], "error: --trace needs the per-request table"),
        (
            ["--memory-budget", "100K", "--out", "o"],
            "and --out needs that table; run with --streaming",
        ),
        (["--memory-budget", "lots"], "error: --memory-budget: a size such as 512M or 4G"),
        (["--memory-budget", "0"], "error: --memory-budget: a size such as 512M or 4G"),
        (["--memory-budget", "1G", "--runs", "2"], "with --runs use --streaming"),
    ],
)
def test_what_streaming_cannot_write_is_refused(
    runner: CliRunner,
    short_copy: ShortCopy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    message: str,
) -> None:
    scenario = short_copy(EXAMPLE, 30.0)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(scenario), "--quiet", *extra])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "o").exists()


def test_a_run_over_the_budget_streams_with_a_notice(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy(EXAMPLE, 30.0)
    target = tmp_path / "s.json"
    args = ["run", str(scenario), "--memory-budget", "100K", "--summary-json", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "note: about 4,000 requests expected" in result.output
    assert "running in streaming mode (--streaming)" in result.output
    assert _summary(target)["requests"]["generated"] > 3000  # type: ignore[index]


def test_no_phases_leaves_the_phase_figures_empty(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy(EXAMPLE, 30.0)
    target = tmp_path / "s.json"
    args = ["run", str(scenario), "--quiet", "--no-phases", "--summary-json", str(target)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = _summary(target)
    assert set(summary["latency_breakdown_s"].values()) == {None}  # type: ignore[attr-defined]
    assert summary["latency_s"]["p99"] is not None  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "size"),
    [("512M", 512 * 2**20), ("4G", 4 * 2**30), ("1.5GB", int(1.5 * 2**30)), ("1000", 1000)],
)
def test_sizes_are_read_in_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size
