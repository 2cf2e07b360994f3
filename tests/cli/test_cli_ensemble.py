"""``asyncflow run --runs`` and ``asyncflow compare`` end to end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app

ENSEMBLE_KEYS = {
    "scenario",
    "seed",
    "runs",
    "confidence",
    "simulated_s",
    "warm_up_s",
    "warm_up",
    "wall_s",
    "run_seeds",
    "ensemble",
    "theory",
}
FIGURE_KEYS = {"mean", "std", "min", "max", "ci_low", "ci_high", "n"}
SUMMARY_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.md"


def invoke(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, list(args))


def summary_of(runner: CliRunner, *args: str, path: Path, code: int = 0) -> dict[str, Any]:
    result = invoke(runner, *args, "--quiet", "--summary-json", str(path))
    assert result.exit_code == code, result.output
    if code == 0:
        assert result.output == ""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def scenario(short_copy: ShortCopy) -> Path:
    return short_copy("event_inj_lb.yml", horizon=20.0)


def test_runs_write_the_ensemble_and_objectives(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    summary = summary_of(
        runner,
        "run",
        str(scenario),
        "--runs",
        "3",
        "--jobs",
        "1",
        "--seed",
        "5",
        "--slo",
        "latency_s.p95<0.2",
        "--slo",
        "requests.failed_by_reason.server_down <= 0",
        path=tmp_path / "s.json",
        code=3,  # every run has an outage: the second objective is missed
    )
    assert set(summary) == ENSEMBLE_KEYS | {"slo"}
    assert summary["slo"]["requests.failed_by_reason.server_down<=0"]["passed"] is False
    assert (summary["runs"], summary["seed"], summary["confidence"]) == (3, 5, 0.95)
    assert len(summary["run_seeds"]) == 3
    p95 = summary["ensemble"]["latency_s.p95"]
    assert set(p95) == FIGURE_KEYS
    assert p95["n"] == 3
    assert p95["ci_low"] <= p95["mean"] <= p95["ci_high"]
    assert "servers.srv-1.cpu_utilization" in summary["ensemble"]
    assert summary["slo"]["latency_s.p95<0.2"] == {
        "p": 1.0,
        "ci_low": pytest.approx(0.4385, abs=1e-4),
        "ci_high": 1.0,
        "met": 3,
        "n": 3,
        "required": 0.95,
        "passed": True,
    }
    assert set(summary["slo"]) == {"latency_s.p95<0.2", "requests.failed_by_reason.server_down<=0"}


def test_every_ensemble_key_is_documented(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    summary = summary_of(
        runner,
        "run",
        str(scenario),
        "--runs",
        "2",
        "--jobs",
        "1",
        "--precision",
        "0.5",
        "--max-runs",
        "5",
        "--slo",
        "latency_s.p95<1",
        path=tmp_path / "s.json",
    )
    doc = SUMMARY_DOC.read_text(encoding="utf-8")
    keys = set(summary) | {f"warm_up.{k}" for k in summary["warm_up"]}
    keys |= {f"stopping.{k}" for k in summary["stopping"]}
    keys |= {f"ensemble.<path>.{k}" for k in FIGURE_KEYS}
    keys |= {f"slo.<objective>.{k}" for k in summary["slo"]["latency_s.p95<1"]}
    assert not {key for key in keys if f"| `{key}` |" not in doc}


def test_output_directory_and_terminal_tables(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = invoke(
        runner,
        "run",
        str(scenario),
        "--runs",
        "2",
        "--jobs",
        "1",
        "--out",
        str(out),
        "--slo",
        "latency_s.p95<0.2",
        "--warm-up",
        "2",
    )
    assert result.exit_code == 0, result.output
    for heading in ("event_inj_lb: 2 runs", "latency_s.p95", "Objectives", "warm-up 2 s (fixed)"):
        assert heading in result.stdout
    for name in ("bands.png", "runs.csv", "summary.json"):
        assert f"wrote {out / name}" in result.stdout
    assert (out / "bands.png").read_bytes().startswith(b"\x89PNG")
    assert len((out / "runs.csv").read_text(encoding="utf-8").splitlines()) == 3
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["warm_up"] == {"method": "fixed", "cut_s": 2.0, "pilot_runs": 0}


def test_precision_adds_runs_until_reached(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    summary = summary_of(
        runner,
        "run",
        str(scenario),
        "--jobs",
        "1",
        "--precision",
        "0.05",
        "--metric",
        "throughput_rps.mean",
        "--max-runs",
        "30",
        path=tmp_path / "s.json",
    )
    stopping = summary["stopping"]
    assert stopping["metric"] == "throughput_rps.mean"
    assert stopping["met"] is True
    assert stopping["relative_half_width"] <= 0.05
    assert summary["runs"] >= 10  # --runs defaults to 10, the minimum


def test_auto_warm_up_is_reported(runner: CliRunner, scenario: Path, tmp_path: Path) -> None:
    summary = summary_of(
        runner,
        "run",
        str(scenario),
        "--runs",
        "2",
        "--jobs",
        "1",
        "--warm-up",
        "auto",
        path=tmp_path / "s.json",
    )
    assert summary["warm_up"]["method"] == "mser-5"
    assert summary["warm_up"]["pilot_runs"] == 2
    assert summary["warm_up_s"] == summary["warm_up"]["cut_s"] <= 10.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--runs", "2", "--jobs", "1", "--slo", "latency<fast"],
            "error: bad --slo: objective 'latency<fast'",
        ),
        (
            ["--runs", "2", "--jobs", "1", "--slo", "latency_s.p59<1"],
            "unknown figure 'latency_s.p59'",
        ),
        (
            ["--slo-confidence", "0.9"],
            "error: --slo-confidence needs --runs N (or --precision P)\n",
        ),
        (["--slo", "latency_s.p59<1"], "error: bad --slo: unknown figure 'latency_s.p59'"),
        (["--runs", "2", "--slo-confidence", "0"], "error: --slo-confidence: expected a number"),
        (
            ["--jobs", "2", "--dask", "tcp://x:1"],
            "error: --jobs and --dask need --runs N (or --precision P)\n",
        ),
        (
            ["--jobs", "2", "--dask", "tcp://x:1", "--metric", "latency_s"],
            "error: --jobs, --dask and --metric need --runs N (or --precision P)\n",
        ),
        (["--warm-up", "auto"], "error: --warm-up auto needs --runs N"),
        (
            ["--warm-up", "25"],
            "error: --warm-up: expected seconds in [0, 20), below the horizon of 'event_inj_lb' "
            "(got 25)\n",
        ),
        (["--runs", "2", "--trace", "t.json"], "--trace describes a single run; drop --runs"),
        (["--runs", "2", "--warm-up", "soon"], "error: --warm-up must be a number of seconds"),
        (
            ["--runs", "2", "--jobs", "1", "--warm-up", "30"],
            "error: --warm-up: expected seconds in [0, 20), below the horizon of 'event_inj_lb' "
            "(got 30)\n",
        ),
        (["--precision", "0"], "error: --precision: expected a number > 0 (got 0.0)\n"),
        (
            ["--precision", "0.1", "--runs", "20", "--max-runs", "10"],
            "error: --max-runs: expected an integer >= runs (20) (got 10)\n",
        ),
        (
            ["--runs", "2", "--jobs", "1", "--metric", "latency_s.avg"],
            "error: --metric 'latency_s.avg' matches no figure (did you mean",
        ),
        (
            ["--runs", "2", "--jobs", "1", "--precision", "0.1", "--metric", "latency_s.avg"],
            "unknown figure",
        ),
        (["--runs", "0"], "Invalid value for '--runs'"),
    ],
)
def test_bad_ensemble_options_exit_2(
    runner: CliRunner, scenario: Path, args: list[str], message: str
) -> None:
    result = invoke(runner, "run", str(scenario), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_single_run_takes_a_fixed_warm_up(
    runner: CliRunner, scenario: Path, tmp_path: Path
) -> None:
    path = tmp_path / "single.json"
    result = invoke(
        runner, "run", str(scenario), "--warm-up", "4", "--quiet", "--summary-json", str(path)
    )
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text(encoding="utf-8"))["warm_up_s"] == 4.0


def test_compare_writes_differences_with_verdicts(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    a = short_copy("single_server.yml", horizon=20.0)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = short_copy("single_server.yml", horizon=20.0)
    text = b.read_text(encoding="utf-8").replace("cpu_time: 0.001", "cpu_time: 0.0002")
    b = b_dir / "faster.yml"
    b.write_text(text, encoding="utf-8")
    summary = summary_of(
        runner,
        "compare",
        str(a),
        str(b),
        "--runs",
        "3",
        "--jobs",
        "1",
        path=tmp_path / "c.json",
    )
    assert summary["scenarios"] == {"a": "single_server", "b": "faster"}
    assert summary["runs"] == 3
    assert summary["same_load"] is True
    assert summary["warnings"] == []
    doc = SUMMARY_DOC.read_text(encoding="utf-8").split("## Comparison summary")[1]
    keys = {k for k in summary if k not in {"a", "b"}} | {"a`, `b"}
    keys |= {f"differences.<path>.{k}" for k in summary["differences"]["latency_s.mean"]}
    assert not {key for key in keys if f"| `{key}` |" not in doc}
    latency = summary["differences"]["latency_s.mean"]
    assert set(latency) == {"mean", "ci_low", "ci_high", "n", "relative", "verdict"}
    assert latency["verdict"] == "better"
    assert summary["differences"]["requests.generated"]["verdict"] == "no significant difference"
    out = tmp_path / "out"
    result = invoke(
        runner, "compare", str(a), str(b), "--runs", "2", "--jobs", "1", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "B − A" in result.stdout
    assert "better" in result.stdout
    assert (out / "bands.png").read_bytes().startswith(b"\x89PNG")


def test_compare_of_a_missing_file_exits_2(runner: CliRunner, scenario: Path) -> None:
    result = invoke(runner, "compare", str(scenario), "missing.yml", "--runs", "2")
    assert result.exit_code == 2
    assert "cannot read scenario missing.yml" in result.output


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    distributed = pytest.importorskip(
        "distributed", reason="Dask is an optional extra: pip install 'asyncflow[dask]'"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def test_runs_on_a_dask_scheduler_match_local_runs(
    runner: CliRunner, scenario: Path, tmp_path: Path, scheduler: str
) -> None:
    here = summary_of(
        runner, "run", str(scenario), "--runs", "3", "--jobs", "1", path=tmp_path / "a.json"
    )
    there = summary_of(
        runner, "run", str(scenario), "--runs", "3", "--dask", scheduler, path=tmp_path / "b.json"
    )
    assert there["run_seeds"] == here["run_seeds"]
    assert there["ensemble"] == here["ensemble"]
