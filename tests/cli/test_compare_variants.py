"""``asyncflow compare BASE VARIANT...`` end to end: overlays, names, the table, JSON and chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import ShortCopy
from typer.testing import CliRunner

from asyncflow.cli import app

CAP = {"policies": [{"type": "concurrency_limit", "target": "srv-1", "max_in_flight": 2}]}
TIMEOUT = {"policies": [{"type": "timeout", "target": "rqs-1", "timeout_s": 0.15}]}


@pytest.fixture
def base(short_copy: ShortCopy) -> Path:
    """single_server.yml, 20 s, with a CPU step that loads its one core to about 0.9."""
    path = short_copy("single_server.yml", horizon=20.0)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = data["topology_graph"]["nodes"]["servers"][0]["endpoints"][0]["steps"]
    steps.append(
        {
            "kind": "cpu_bound_operation",
            "step_operation": {"cpu_time": {"mean": 0.025, "distribution": "exponential"}},
        }
    )
    data["rqs_input"]["avg_active_users"] = {"mean": 110}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write(path: Path, data: object) -> Path:
    text = json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_three_variants_end_to_end(base: Path, tmp_path: Path) -> None:
    variants = tmp_path / "variants"
    variants.mkdir()
    capped = write(variants / "capped.yml", CAP)
    timeout = write(variants / "t.json", TIMEOUT)
    full = yaml.safe_load(base.read_text(encoding="utf-8"))
    full["topology_graph"]["nodes"]["servers"][0]["server_resources"]["cpu_cores"] = 2
    bigger = write(variants / "two_cores.yml", full)
    out = tmp_path / "out"
    args = [
        "compare", str(base), str(capped), f"give-up={timeout}", str(bigger),
        "--runs", "3", "--jobs", "1", "--goodput-within", "0.2", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # the caption wraps
    assert "base = single_server, 3 variant(s): 3 paired runs each" in text
    for shown in ("capped", "give-up", "two_cores", "goodput (req/s within 0.2 s) ↑",
                  "p99 latency (ms) ↓", "error rate: shed (%) ↓", "wasted CPU (s) ↓",
                  "verdicts by Holm–Bonferroni-adjusted p-values < 0.05"):  # fmt: skip
        assert shown in text, shown
    assert (out / "compare.png").read_bytes().startswith(b"\x89PNG")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["base"] == "single_server"
    assert summary["variants"] == {
        "capped": {"path": str(capped), "overlay": True, "same_load": True},
        "give-up": {"path": str(timeout), "overlay": True, "same_load": True},
        "two_cores": {"path": str(bigger), "overlay": False, "same_load": True},
    }
    assert summary["goodput_within_s"] == 0.2
    correction = summary["correction"]
    assert correction["method"] == "holm"
    assert correction["alpha"] == 0.05
    assert correction["interval_level"] == pytest.approx(1 - 0.05 / correction["family"])
    figures = list(summary["figures"])
    assert figures[:4] == ["goodput_rps", "goodput_share", "latency_s.p99", "error_rate"]
    assert "attempts_per_request" not in figures  # no scenario retries
    assert summary["figures"]["goodput_rps"]["better"] == "higher"
    shed = summary["differences"]["capped"]["error_rate.shed"]
    assert shed["base_mean"] == 0.0
    assert shed["variant_mean"] > 0.0
    assert summary["differences"]["two_cores"]["wasted_cpu_s"]["difference"] == 0.0
    doubled = summary["differences"]["two_cores"]["latency_s.p99"]
    assert doubled["difference"] < 0.0
    assert set(doubled) == {"base_mean", "variant_mean", "difference", "ci_low", "ci_high", "n",
                            "relative", "p_value", "p_adjusted", "verdict"}  # fmt: skip


def test_an_overlay_with_two_files_and_metric_filter(base: Path, tmp_path: Path) -> None:
    capped = write(tmp_path / "capped.yml", CAP)
    path = tmp_path / "s.json"
    args = ["compare", str(base), str(capped), "--runs", "2", "--jobs", "1", "--quiet",
            "--metric", "error_rate.*", "--correction", "none",
            "--summary-json", str(path)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output == ""
    summary = json.loads(path.read_text(encoding="utf-8"))
    assert summary["correction"]["method"] == "none"
    assert "latency_s.p99" in summary["figures"]  # the JSON holds every figure


def test_slo_gates_on_every_variant(base: Path, tmp_path: Path) -> None:
    capped = write(tmp_path / "capped.yml", CAP)
    args = ["compare", str(base), f"a={capped}", f"b={capped}", "--runs", "2", "--jobs", "1",
            "--quiet", "--slo", "requests.failed<=0"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    lines = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["a", "b"]


BAD_INPUT = [
    ("list.yml", "- policies\n",
     "error: cannot read scenario {v}:\n"
     "{v}: the top level of an overlay or scenario must be a mapping (got list)\n"),
    ("unknown.yml", "policies: [{ type: concurrency_limit, target: srv-1, max_in: 2 }]\n",
     "error: variant {v} (merged into {b}) is invalid:\n"
     "policies[0].max_in: unknown field (did you mean 'max_in_flight'?)\n"),
    ("typo.yml", "sim_setings: { total_simulation_time: 5 }\n",
     "error: variant {v} (merged into {b}) is invalid:\n"
     "sim_setings: unknown field (did you mean 'sim_settings'?)\n"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "message"), BAD_INPUT)
def test_bad_overlays_exit_2_naming_the_path(
    base: Path, tmp_path: Path, name: str, text: str, message: str
) -> None:
    variant = tmp_path / name
    variant.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["compare", str(base), str(variant), f"x={variant}"])
    assert result.exit_code == 2
    assert result.stderr == message.format(v=variant, b=base)


def test_usage_errors(base: Path, tmp_path: Path) -> None:
    capped = write(tmp_path / "capped.yml", CAP)
    twin = tmp_path / "twin"
    twin.mkdir()
    same_name = write(twin / "capped.yml", CAP)
    cases = [
        ([str(capped), str(same_name)],
         f"error: two scenarios are named 'capped' ({capped} and {same_name}): "
         "name a variant with NAME=PATH\n"),
        ([str(capped), "--correction", "sidak"],
         "error: --correction: expected holm, bonferroni or none (got 'sidak')\n"),
        ([str(capped), "--goodput-within", "0"],
         "error: --goodput-within must be a number of seconds > 0 (got 0)\n"),
        ([str(capped), "--report", str(tmp_path / "r.html")],
         "error: --report compares two full scenario files (compare A B); with variants or "
         "overlays use --out or --summary-json\n"),
        ([str(capped), "--metric", "nothing"],
         "error: --metric 'nothing' matches no figure of the comparison (figures: "
         "latency_s.p99, error_rate, error_rate.shed)\n"),
    ]  # fmt: skip
    for args, message in cases:
        result = CliRunner().invoke(app, ["compare", str(base), *args, "--runs", "2", "--jobs",
                                          "1", "--quiet"])  # fmt: skip
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr == message, args
