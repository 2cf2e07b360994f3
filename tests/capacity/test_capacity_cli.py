"""run, compare and sweep on the command line: --set, --duration, gates, sweeps, searches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from capacity_scenarios import queue
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.scenario.builder import cpu, exponential
from asyncflow.scenario.overrides import scenario_data

USERS = "rqs_input.avg_active_users.mean"
CORES = "topology_graph.nodes.servers.srv-1.server_resources.cpu_cores"
SUMMARY_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.md"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def mm1(tmp_path: Path) -> Path:
    """M/M/1 at 50 req/s, μ = 100/s, 30 s (priced: 1 core at 0.36 an hour)."""
    scenario = queue(50.0, cpu(exponential(0.01)), horizon_s=30.0, warm_up_s=3.0, name="mm1")
    data = scenario_data(scenario)
    data.pop("name")
    data["cost"] = {"per_core_hour": 0.36}
    path = tmp_path / "mm1.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def json_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# ---------------------------------------------------------------------- run


def test_set_and_duration_change_the_run(runner: CliRunner, mm1: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = invoke(
        runner, "run", mm1, "-q", "--set", f"{CORES}=2", "--duration", "12", "--summary-json", out
    )
    assert result.exit_code == 0, result.output
    summary = json_of(out)
    assert summary["simulated_s"] == 12
    queues = summary["theory"]["queues"]["srv-1"]["cpu"]
    assert (queues["model"], queues["servers"]) == ("M/M/2", 2)
    assert summary["cost"]["per_hour"] == pytest.approx(0.72)
    doc = SUMMARY_DOC.read_text(encoding="utf-8")
    theory = summary["theory"]
    keys = {"cost", "theory", *(f"cost.{k}" for k in summary["cost"])}
    keys |= {f"theory.{k}" for k in theory}
    keys |= {f"theory.predictions.<figure>.{k}" for v in theory["predictions"].values() for k in v}
    keys |= {f"theory.queues.<node>.<resource>.{k}" for k in queues}
    keys |= {f"theory.network.{k}" for k in theory["network"]}
    assert not {key for key in keys if f"| `{key}` |" not in doc}


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ["--set", f"{CORES[:-1]}=2"],
            "error: scenario {path} with --set/--duration is invalid:\n"
            f"{CORES[:-1]}: unknown key 'cpu_core' (did you mean '{CORES}'?)\n",
        ),
        (
            ["--set", f"{CORES}=0"],
            "error: scenario {path} with --set/--duration is invalid:\n"
            "topology_graph.nodes.servers[0].server_resources.cpu_cores: must be >= 1 (got 0)\n",
        ),
        (["--set", "cpu_cores"], "error: --set: expected PATH=VALUE (got 'cpu_cores')\n"),
        (["--duration", "0"], "error: --duration must be a number of seconds > 0 (got 0)\n"),
        (
            ["--duration", "2"],
            "error: scenario {path} with --set/--duration is invalid:\n"
            "sim_settings.warm_up_s: must be < total_simulation_time (2) (got 3.0)\n",
        ),
        (["--slo", "latency_s.p59<1"], "error: bad --slo: unknown figure 'latency_s.p59'"),
        (["--slo", "fast"], "error: bad --slo: objective 'fast': expected PATH OP NUMBER"),
    ],
)
def test_bad_changes_and_objectives_exit_2(
    runner: CliRunner, mm1: Path, args: list[str], stderr: str
) -> None:
    result = invoke(runner, "run", mm1, "-q", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(stderr.format(path=mm1))
    assert "Traceback" not in result.output


def test_a_single_run_is_gated_by_its_objectives(
    runner: CliRunner, mm1: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    met = invoke(runner, "run", mm1, "--slo", "latency_s.p95<0.5", "--summary-json", out)
    assert met.exit_code == 0, met.output
    assert "Objectives" in met.stdout
    assert "pass" in met.stdout
    assert "Theory beside the simulation" in met.stdout
    assert "Cost:" in met.stdout
    assert json_of(out)["slo"]["latency_s.p95<0.5"]["passed"] is True
    out.unlink()
    missed = invoke(
        runner,
        "run",
        mm1,
        "-q",
        "--slo",
        "latency_s.p95<0.01",
        "--slo",
        "latency_s.p50<1",
        "--summary-json",
        out,
    )
    assert missed.exit_code == 3
    assert re.fullmatch(
        r"objective missed: latency_s\.p95<0\.01: latency_s\.p95 = [0-9.]+\n", missed.stderr
    )
    slo = json_of(out)["slo"]  # the outputs are written before the exit
    assert slo["latency_s.p95<0.01"]["passed"] is False
    assert slo["latency_s.p50<1"] == {
        "value": pytest.approx(slo["latency_s.p50<1"]["value"]),
        "passed": True,
    }
    doc = SUMMARY_DOC.read_text(encoding="utf-8")
    for key in ("slo", "slo.<objective>.value", "slo.<objective>.passed"):
        assert f"| `{key}` |" in doc


def test_replications_gate_on_the_share_of_runs(
    runner: CliRunner, mm1: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    args = ["run", mm1, "-q", "--runs", "3", "--jobs", "1", "--summary-json", out]
    result = invoke(runner, *args, "--slo", "latency_s.p95<0.5", "--report", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    summary = json_of(out)
    assert summary["slo"]["latency_s.p95<0.5"]["passed"] is True
    assert "latency_s.mean" in summary["theory"]["predictions"]
    assert "ci_low" in summary["theory"]["predictions"]["latency_s.mean"]
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    result = invoke(runner, *args, "--slo", "requests.completed>1e9", "--slo-confidence", "0.5")
    assert result.exit_code == 3
    assert result.stderr == (
        "objective missed: requests.completed>1000000000: met in 0 of 3 runs (0%), 50% needed\n"
    )


# ---------------------------------------------------------------------- compare


def test_compare_changes_both_designs_and_gates_on_b(
    runner: CliRunner, mm1: Path, tmp_path: Path
) -> None:
    faster = tmp_path / "b.yml"
    data = yaml.safe_load(mm1.read_text(encoding="utf-8"))
    data["topology_graph"]["nodes"]["servers"][0]["server_resources"]["cpu_cores"] = 2
    faster.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "c.json"
    report = tmp_path / "c.html"
    result = invoke(
        runner,
        "compare",
        mm1,
        faster,
        "--runs",
        "2",
        "--jobs",
        "1",
        "--duration",
        "10",
        "--set",
        f"{USERS}=80",
        "--slo",
        "latency_s.p95<0.05",
        "--summary-json",
        out,
        "--report",
        report,
        "-q",
    )
    assert result.exit_code == 0, result.output  # B (2 cores) meets it; A (1 core at 80%) not
    summary = json_of(out)
    assert summary["slo"]["a"]["latency_s.p95<0.05"]["passed"] is False
    assert summary["slo"]["b"]["latency_s.p95<0.05"]["passed"] is True
    assert summary["differences"]["cost.per_hour"]["verdict"] == "worse"
    page = report.read_text(encoding="utf-8")
    assert 'id="table-differences"' in page
    assert "better when" in page
    result = invoke(
        runner,
        "compare",
        faster,
        mm1,
        "--runs",
        "2",
        "--jobs",
        "1",
        "--duration",
        "10",
        "--set",
        f"{USERS}=80",
        "--slo",
        "latency_s.p95<0.05",
        "-q",
    )
    assert result.exit_code == 3
    assert result.stderr.startswith("objective missed: B: latency_s.p95<0.05: met in 0 of 2 runs")


# ---------------------------------------------------------------------- sweep


def test_a_sweep_writes_points_knees_and_files(
    runner: CliRunner, mm1: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--param",
        USERS,
        "--values",
        "10,40,70,85,95",
        "--runs",
        "2",
        "--jobs",
        "1",
        "--out",
        out,
        "--report",
        tmp_path / "s.html",
        "--slo",
        "latency_s.p95<1",
    )
    assert result.exit_code == 0, result.output
    assert "Knee of latency_s.p95" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["points.csv", "summary.json", "sweep.png"]
    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    summary = json_of(out / "summary.json")
    assert [p["values"][USERS] for p in summary["points"]] == [10, 40, 70, 85, 95]
    assert summary["knees"][0]["value"] in (70, 85)
    assert all(p["passed"] for p in summary["points"])
    assert_sweep_keys_documented(summary)
    lines = (out / "points.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    assert lines[0].startswith(f"{USERS},latency_s.p50.mean,")


def assert_sweep_keys_documented(summary: dict[str, Any]) -> None:
    doc = SUMMARY_DOC.read_text(encoding="utf-8").split("## Sweep summary")[1]
    keys = set(summary)
    keys |= {f"points[].{k}" for k in summary["points"][0]}
    keys |= {f"knees[].{k}" for knee in summary["knees"] for k in knee}
    keys |= {f"found.{k}" for k in summary.get("found", {})}
    keys |= {f"search.{k}" for k in summary.get("search", {})}
    assert not {key for key in keys if f"| `{key}` |" not in doc}


def test_a_grid_pairs_each_param_with_what_follows_it(
    runner: CliRunner, mm1: Path, tmp_path: Path
) -> None:
    out = tmp_path / "s.json"
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--param",
        USERS,
        "--range",
        "20:60:40",
        "--param",
        CORES,
        "--values",
        "1,2",
        "--runs",
        "2",
        "--jobs",
        "1",
        "--summary-json",
        out,
        "-q",
        "--slo",
        "latency_s.p95<0.05",
    )
    assert result.exit_code == 3  # 60 req/s on one core misses it
    summary = json_of(out)
    assert [tuple(p["values"].values()) for p in summary["points"]] == [
        (20, 1),
        (20, 2),
        (60, 1),
        (60, 2),
    ]
    assert result.stderr == (
        f"objective missed: at {USERS}=60, {CORES}=1: latency_s.p95<0.05: met in 0 of 2 runs "
        "(0%), 95% needed\n"
    )


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (["--values", "1,2", "--param", USERS], "error: --values '1,2' comes before any --param"),
        (["--param", USERS], f"error: --param {USERS} needs --values V1,V2,... or --range"),
        (
            ["--param", USERS, "--values", "1", "--range", "1:2:1"],
            f"error: --param {USERS} has two value lists (--range 1:2:1)",
        ),
        ([], "error: nothing to sweep: give --param PATH --values ... (or --find-max)"),
        (["--find-max", USERS], "error: --find-max needs an objective: add --slo"),
        (
            ["--find-max", USERS, "--find-min", CORES, "--slo", "latency_s.p95<1"],
            "error: give one of --find-max and --find-min",
        ),
        (
            ["--find-max", USERS, "--param", CORES, "--values", "1", "--slo", "latency_s.p95<1"],
            "error: --find-max searches one parameter: drop --param",
        ),
        (
            ["--param", USERS, "--range", "1:5"],
            f"error: --range for {USERS}: expected START:STOP:STEP",
        ),
        (
            ["--param", CORES, "--values", "1,0"],
            f"error: scenario {{path}} with these values is invalid:\nat {CORES}=0: "
            "topology_graph.nodes.servers[0].server_resources.cpu_cores: must be >= 1 (got 0)\n",
        ),
        (
            ["--param", CORES + "s", "--values", "1"],
            f"error: scenario {{path}} with these values is invalid:\n{CORES}s: unknown key",
        ),
        (
            ["--param", USERS, "--range", "1:200:1", "--param", CORES, "--range", "1:100:1"],
            "error: a grid of 20,000 points; at most 10,000\n",
        ),
        (
            ["--find-min", CORES, "--range", "0:8", "--slo", "latency_s.p95<1"],
            f"error: scenario {{path}} with these values is invalid:\nat {CORES}=0:",
        ),
    ],
)
def test_bad_sweeps_exit_2_before_running(
    runner: CliRunner, mm1: Path, args: list[str], stderr: str
) -> None:
    result = invoke(runner, "sweep", mm1, "--runs", "2", "--jobs", "1", "-q", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(stderr.format(path=mm1))


def test_searches_find_a_load_and_a_capacity(runner: CliRunner, mm1: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--find-max",
        USERS,
        "--range",
        "10:100:5",
        "--slo",
        "latency_s.p95<0.1",
        "--runs",
        "3",
        "--jobs",
        "1",
        "--summary-json",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "Found:" in result.stdout
    found = json_of(out)["found"]
    assert set(found) == {"param", "value", "confidence"}
    assert found["param"] == USERS
    assert 55 <= found["value"] <= 70  # theory: 100 − ln 20 / 0.1 = 70.0
    out.unlink()
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--find-min",
        CORES,
        "--set",
        f"{USERS}=150",
        "--slo",
        "latency_s.p95<0.05",
        "--runs",
        "2",
        "--jobs",
        "1",
        "--summary-json",
        out,
        "-q",
    )
    assert result.exit_code == 0, result.output
    summary = json_of(out)
    assert summary["found"]["value"] == 3  # 2 cores at 75%: p95 ≈ 62 ms; 3 cores: ≈ 34 ms
    assert summary["search"]["next_value"] == 2
    assert [p["values"][CORES] for p in summary["points"]] == [1, 2, 3, 4]
    assert_sweep_keys_documented(summary)


def test_a_search_that_finds_nothing_exits_3(runner: CliRunner, mm1: Path) -> None:
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--find-max",
        USERS,
        "--values",
        "80,90",
        "--slo",
        "latency_s.p95<0.01",
        "--runs",
        "2",
        "--jobs",
        "1",
        "-q",
    )
    assert result.exit_code == 3
    assert result.stderr == (
        f"objective missed: {USERS}: no value tried meets the objectives in at least 95% of runs\n"
    )


def test_a_sweep_chooses_each_points_warm_up(runner: CliRunner, mm1: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = invoke(
        runner,
        "sweep",
        mm1,
        "--param",
        USERS,
        "--values",
        "20,80",
        "--runs",
        "2",
        "--jobs",
        "1",
        "--warm-up",
        "auto",
        "--summary-json",
        out,
        "-q",
    )
    assert result.exit_code == 0, result.output
    points = json_of(out)["points"]
    assert all(0 <= p["warm_up_s"] <= 15 for p in points)
    fixed = invoke(
        runner,
        "sweep",
        mm1,
        "--param",
        USERS,
        "--values",
        "20",
        "--runs",
        "2",
        "--jobs",
        "1",
        "--warm-up",
        "5",
        "--summary-json",
        out,
        "-q",
    )
    assert fixed.exit_code == 0, fixed.output
    assert json_of(out)["points"][0]["warm_up_s"] == 5


def test_a_broken_file_is_reported_as_the_file_even_with_changes(
    runner: CliRunner, mm1: Path
) -> None:
    text = mm1.read_text(encoding="utf-8").replace("cpu_cores: 1", "cpu_cores: 0")
    mm1.write_text(text, encoding="utf-8")
    for command in (["run", mm1], ["sweep", mm1, "--param", USERS, "--values", "10"]):
        result = invoke(runner, *command, "--set", f"{USERS}=5", "-q")
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: scenario {mm1} is invalid:\n"
            "topology_graph.nodes.servers[0].server_resources.cpu_cores: must be >= 1 (got 0)\n"
        )
