from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.errors import SimulationError
from asyncflow.metrics.phases import PHASE_NAMES
from asyncflow.simulation import Simulation

SUMMARY_KEYS = {"scenario", "seed", "simulated_s", "warm_up_s", "wall_s"}
SUMMARY_SECTIONS = {
    "requests": {"generated", "completed", "failed", "in_flight", "failed_by_reason"},
    "latency_s": {"mean", "p50", "p90", "p95", "p99", "max"},
    "throughput_rps": {"mean"},
}
SERVER_KEYS = {
    "completed",
    "cpu_utilization",
    "ready_queue_mean",
    "ram_in_use_mb_mean",
    "ram_in_use_mb_max",
    "ram_wait_queue_mean",
}
# Beyond the Results contract, documented in docs/reference/summary.md.
SERVER_EXTRA_KEYS = {"ready_queue_max", "io_waiting_mean", "ram_wait_queue_max", "refused", "calls"}
SERVER_PHASE_KEYS = {f"{phase}_s_mean" for phase in PHASE_NAMES if phase != "network"} | {
    "service_s_mean",
    "ram_utilization",
}
EDGE_KEYS = {"in_transit_mean", "in_transit_max", "transit_s_mean"}
ATTRIBUTION_KEYS = {"endpoints", "latency_breakdown_s", "latency_breakdown_tail_s", "bottleneck"}
SUMMARY_DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "summary.md"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def dotted_keys(summary: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, value in summary.items():
        keys.add(key)
        if key in {"servers", "load_balancers", "edges", "workloads"}:
            for stats in value.values():
                keys.update(f"{key}.<id>.{name}" for name in stats)
        elif key == "endpoints":
            for endpoints in value.values():
                for stats in endpoints.values():
                    keys.update(f"endpoints.<server>.<endpoint>.{name}" for name in stats)
        elif isinstance(value, dict):
            keys.update(f"{key}.{name}" for name in value)
    return keys


def assert_every_key_is_documented(summary: dict[str, Any]) -> None:
    doc = SUMMARY_DOC.read_text(encoding="utf-8")
    undocumented = {key for key in dotted_keys(summary) if f"| `{key}` |" not in doc}
    assert not undocumented


def run_quiet(runner: CliRunner, scenario: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = runner.invoke(
        app, ["run", str(scenario), "--quiet", "--summary-json", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    summary: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return summary


def test_run_with_out_writes_dashboard_csv_and_summary(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("event_inj_lb.yml")
    out = tmp_path / "report" / "nested"
    summary_path = tmp_path / "summary.json"

    result = runner.invoke(
        app,
        [
            "run",
            str(scenario),
            "--seed",
            "3",
            "--out",
            str(out),
            "--summary-json",
            str(summary_path),
        ],
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert set(summary) == (
        SUMMARY_KEYS
        | set(SUMMARY_SECTIONS)
        | {"servers", "load_balancers", "edges", "workloads", "format_version", "theory"}
        | ATTRIBUTION_KEYS
    )
    for section, keys in SUMMARY_SECTIONS.items():
        assert set(summary[section]) == keys, section
    assert list(summary["servers"]) == ["srv-1", "srv-2"]
    for stats in summary["servers"].values():
        assert set(stats) == SERVER_KEYS | SERVER_EXTRA_KEYS | SERVER_PHASE_KEYS
    assert len(summary["edges"]) == 6
    spiked = {"client-lb", "lb-srv2", "gen-client"}  # the edges with latency spikes
    for edge_id, stats in summary["edges"].items():
        extra = {"spike_s_mean", "spike_s_max"} if edge_id in spiked else set()
        assert set(stats) == EDGE_KEYS | extra, edge_id
    assert_every_key_is_documented(summary)
    assert summary["scenario"] == "event_inj_lb"
    assert summary["seed"] == 3
    assert summary["simulated_s"] == 60.0

    requests = summary["requests"]
    assert requests["generated"] == (
        requests["completed"] + requests["failed"] + requests["in_flight"]
    )
    assert requests["failed"] == sum(requests["failed_by_reason"].values())

    png = (out / "dashboard.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 50_000
    with (out / "requests.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == requests["generated"]
    assert sum(row["outcome"] == "completed" for row in rows) == requests["completed"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary

    for heading in ("Requests", "Latency (ms)", "Servers", "Fault windows", "ev-srv1-down"):
        assert heading in result.stdout
    assert f"wrote {out / 'dashboard.png'}" in result.stdout


def test_same_seed_same_summary_other_seed_other_results(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("single_server.yml", horizon=30.0)

    first = run_quiet(runner, scenario, tmp_path / "a.json", "--seed", "11")
    again = run_quiet(runner, scenario, tmp_path / "b.json", "--seed", "11")
    other = run_quiet(runner, scenario, tmp_path / "c.json", "--seed", "12")

    for summary in (first, again, other):
        summary.pop("wall_s")
    assert first == again
    assert other["seed"] == 12
    other["seed"] = 11
    assert other != first


def test_seed_defaults_to_the_scenario_seed(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("single_server.yml", horizon=20.0, seed=5)

    summary = run_quiet(runner, scenario, tmp_path / "s.json")

    assert summary["seed"] == 5


def test_quiet_run_prints_nothing(runner: CliRunner, short_copy: ShortCopy, tmp_path: Path) -> None:
    scenario = short_copy("single_server.yml", horizon=20.0)

    result = runner.invoke(app, ["run", str(scenario), "--quiet", "--out", str(tmp_path / "o")])

    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""
    assert (tmp_path / "o" / "summary.json").is_file()


def test_out_must_not_be_an_existing_file(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("single_server.yml", horizon=10.0)
    taken = tmp_path / "taken"
    taken.write_text("")

    result = runner.invoke(app, ["run", str(scenario), "--out", str(taken)])

    assert result.exit_code == 2
    assert "Traceback" not in result.output


def python_m_asyncflow(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncflow", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_dash_m_asyncflow_runs_and_reports_errors(
    short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("single_server.yml", horizon=10.0)
    summary_path = tmp_path / "s.json"

    ran = python_m_asyncflow("run", str(scenario), "--quiet", "--summary-json", str(summary_path))
    missing = python_m_asyncflow("validate", str(tmp_path / "missing.yml"))

    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")
    assert json.loads(summary_path.read_text(encoding="utf-8"))["scenario"] == "single_server"
    assert missing.returncode == 2
    assert missing.stderr.endswith("missing.yml: file not found\n")
    assert "Traceback" not in missing.stderr


def test_a_failed_run_exits_1_with_its_message(
    runner: CliRunner, short_copy: ShortCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_run(*args: object, **kwargs: object) -> None:
        raise SimulationError("request 7 finished twice")

    monkeypatch.setattr(Simulation, "run", broken_run)
    scenario = short_copy("single_server.yml", horizon=10.0)

    result = runner.invoke(app, ["run", str(scenario)])

    assert result.exit_code == 1
    assert result.stderr == f"error: the run of {scenario} failed: request 7 finished twice\n"
    assert "Traceback" not in result.output


def test_unwritable_output_exits_1_naming_the_path(
    runner: CliRunner, short_copy: ShortCopy, tmp_path: Path
) -> None:
    scenario = short_copy("single_server.yml", horizon=10.0)
    (tmp_path / "file").write_text("")
    target = tmp_path / "file" / "s.json"  # a file cannot hold a directory

    result = runner.invoke(app, ["run", str(scenario), "--quiet", "--summary-json", str(target)])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot write {target}: ")
    assert "Traceback" not in result.output
