from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app


def test_out_writes_node_pages_and_time_series(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(short_copy("event_inj_lb.yml")), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in (out / "nodes").iterdir())
    assert "server-srv-1.png" in pages
    assert "server-srv-2.png" in pages
    assert sum(name.startswith("edge-") for name in pages) == 6
    header = (out / "timeseries.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("t_s,bin_s,srv-1.ready_queue.mean")


def test_report_and_trace_are_written(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    pytest.importorskip("plotly")
    report, trace = tmp_path / "report.html", tmp_path / "trace.json"
    result = runner.invoke(
        app,
        [
            "run",
            str(short_copy("event_inj_lb.yml")),
            "--quiet",
            "--report",
            str(report),
            "--trace",
            str(trace),
            "--trace-rate",
            "0.05",
            "--trace-slowest",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    html = report.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "event_inj_lb" in html
    events = json.loads(trace.read_text(encoding="utf-8"))
    spans = events["traceEvents"] if isinstance(events, dict) else events
    assert any(event.get("ph") == "X" for event in spans)


@pytest.mark.parametrize("option", ["--trace"])
def test_reports_of_single_runs_refuse_runs(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path, option: str
) -> None:
    result = runner.invoke(
        app,
        ["run", str(short_copy("single_server.yml")), "--runs", "2", option, str(tmp_path / "x")],
    )
    assert result.exit_code == 2
    assert result.stderr == f"error: {option} describes a single run; drop --runs\n"
    assert "Traceback" not in result.output
