"""What reaches the terminal: grouped tables in the units of single runs, no
markup or control characters from user input, a progress bar only where it helps."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from cli_helpers import ShortCopy
from rich.console import Console
from typer.testing import CliRunner

import asyncflow
from asyncflow.cli import app
from asyncflow.cli.run import run_progress
from asyncflow.experiment import Ensemble, compare, replicate
from asyncflow.experiment.display import (
    comparison_renderable,
    ensemble_renderable,
    markup_text,
    terminal_text,
)
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint
from asyncflow.simulation import Simulation

HOSTILE = "[link=http://x]click[/link] srv[/] \x1b[31mred\u202e"


def rendered(renderable: object, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, markup=True)
    console.print(renderable)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


def test_user_text_is_shown_as_written_never_interpreted() -> None:
    assert terminal_text("a\x1b[31mb\u202ec\x00") == "a\\x1b[31mb\\u202ec\\x00"
    assert markup_text("srv[/]") == "srv\\[/]"
    shown = rendered(markup_text(HOSTILE))
    assert "[link=http://x]click[/link] srv[/]" in shown
    assert "\\x1b[31mred\\u202e" in shown
    assert "\x1b" not in shown


def small(name: str = "small", cpu_s: float = 0.004) -> asyncflow.Scenario:
    return (
        ScenarioBuilder(name)
        .workload(users=20, requests_per_minute=60)
        .client()
        .server("srv-1", endpoints=[endpoint("/api", cpu(cpu_s))])
        .wire(latency=0.001)
        .settings(horizon_s=10)
        .build()
    )


@pytest.fixture(scope="module")
def ensemble() -> Ensemble:
    return replicate(small(), runs=2, jobs=1)


def test_ensemble_table_is_grouped_in_units_of_single_runs(ensemble: Ensemble) -> None:
    ensemble.name = HOSTILE
    text = rendered(ensemble_renderable(ensemble))
    assert "[link=http://x]click[/link] srv[/]" in text
    assert "\x1b" not in text
    for group in ("Requests (whole run)", "Latency", "Servers", "Edges", "Endpoints"):
        assert re.search(rf"^\s+{re.escape(group)}\s*$", text, flags=re.MULTILINE), group
    mean_ms = ensemble.stats("latency_s.mean").mean * 1000
    assert re.search(rf"mean \(ms\)\s+{mean_ms:.2f}\s", text)
    assert not re.search(r"\de[-+]\d", text)  # no scientific notation
    assert "ram_wait_queue" not in text  # 0 in every run: hidden
    assert "figures equal to 0 in every run are not shown" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_metric_patterns_filter_the_tables(ensemble: Ensemble) -> None:
    text = rendered(ensemble_renderable(ensemble, metrics=["latency_s.p9*"]))
    assert "p95 (ms)" in text
    assert "p90 (ms)" in text
    assert "p50 (ms)" not in text
    assert "Servers" not in text
    comparison = compare(small("a"), small("b", cpu_s=0.008), runs=2, jobs=1)
    text = rendered(comparison_renderable(comparison, metrics=["servers.srv-1.cpu_utilization"]))
    assert "srv-1 cpu_utilization (%)" in text
    assert "higher" in text
    assert "Latency" not in text


def test_compare_warns_when_horizons_differ(runner: CliRunner, short_copy: ShortCopy) -> None:
    a = short_copy("single_server.yml", horizon=10.0)
    b_dir = a.parent / "b"
    b_dir.mkdir()
    b = b_dir / "longer.yml"
    b.write_text(
        a.read_text().replace("total_simulation_time: 10.0", "total_simulation_time: 20.0")
    )
    result = runner.invoke(app, ["compare", str(a), str(b), "--runs", "2", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "warning: A simulates 10 s and B 20 s" in result.stdout
    assert "not judged" in result.stdout


def test_compare_and_runs_filter_with_metric_and_refuse_unknown(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    a = short_copy("single_server.yml", horizon=10.0)
    path = tmp_path / "c.json"
    args = ["compare", str(a), str(a), "--runs", "2", "--jobs", "1", "--metric", "latency_s.p95"]
    result = runner.invoke(app, [*args, "--summary-json", str(path)])
    assert result.exit_code == 0, result.output
    assert "p95 (ms)" in result.stdout
    assert "p50 (ms)" not in result.stdout
    assert "servers.srv-1.cpu_utilization" in json.loads(path.read_text())["differences"]
    result = runner.invoke(app, [*args[:-1], "latency_s.p59"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --metric 'latency_s.p59' matches no figure (did you mean"
    )


def test_progress_bar_draws_and_leaves_the_run_unchanged(short_copy: ShortCopy) -> None:
    model = asyncflow.load_scenario(short_copy("single_server.yml", horizon=30.0))
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    seen: list[float] = []
    with run_progress(console, 30.0, enabled=True, after_s=0.0) as step:
        assert step is not None

        def track(now: float) -> None:
            seen.append(now)
            step(now)

        with_bar = Simulation(model, 3).run(progress=track)
    plain = asyncflow.run(model, seed=3)
    assert "s simulated" in console.file.getvalue()  # type: ignore[attr-defined]
    assert seen == sorted(seen)
    assert seen[0] == pytest.approx(0.3)
    assert len(seen) == 99
    first, second = with_bar.summary(), plain.summary()
    first.pop("wall_s")
    second.pop("wall_s")
    assert first == second


def test_no_progress_bar_when_not_on_a_terminal(runner: CliRunner, short_copy: ShortCopy) -> None:
    result = runner.invoke(app, ["run", str(short_copy("single_server.yml", horizon=10.0))])
    assert result.exit_code == 0
    assert result.stderr == ""
    with run_progress(Console(file=io.StringIO()), 1.0, enabled=False) as step:
        assert step is None


def test_single_run_summary_escapes_hostile_ids(runner: CliRunner, tmp_path: Path) -> None:
    scenario = (
        ScenarioBuilder("hostile")
        .workload(users=5, requests_per_minute=60)
        .client()
        .server("srv[/]", endpoints=[endpoint("/api", cpu(0.001))])
        .wire(latency=0.001)
        .settings(horizon_s=5)
    )
    try:
        model = scenario.build()
    except asyncflow.ScenarioError:
        pytest.skip("the validator refuses such ids, which is safe too")
    path = tmp_path / "hostile.json"
    path.write_text(model.model_dump_json(exclude_none=True))
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "srv[/]" in result.stdout
