"""The evaluation harness: common random numbers, intervals, the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from rl_scenarios import group_scenario
from typer.testing import CliRunner

from asyncflow.cli import app
from asyncflow.rl.evaluate import METRICS, evaluate
from asyncflow.scenario import parse_scenario


def small() -> dict[str, Any]:
    replicas = {
        "max_replicas": 5,
        "startup_s": 5.0,
        "autoscaler": {"policy": "hpa", "target_utilization": 0.5},
    }
    profile = [{"t_s": 0, "users": 60}, {"t_s": 40, "users": 60}, {"t_s": 41, "users": 200}]
    return group_scenario(replicas, users=60, horizon=120.0, profile=profile)


def test_every_policy_runs_the_same_episodes_and_gets_intervals() -> None:
    result = evaluate(
        parse_scenario(small()), env="autoscaling", policies=["static", "hpa"], episodes=3, seed=4
    )
    assert result.seeds == [4, 5, 6]
    static, hpa = result.episodes["static"], result.episodes["hpa"]
    assert len(static) == len(hpa) == 3
    assert all(set(e) == set(METRICS) for e in static)
    assert [e["replica_s"] for e in static] == [240.0] * 3  # 2 replicas for 120 s
    assert all(e["replica_s"] != 240.0 for e in hpa)
    stats = result.stats("hpa", "p99_s")
    assert stats.n == 3
    assert stats.ci_low <= stats.mean <= stats.ci_high
    data = result.as_dict()
    assert data["policies"]["hpa"]["metrics"]["p99_s"]["n"] == 3
    json.dumps(data, allow_nan=False)


def test_an_agent_that_keeps_the_replicas_matches_the_static_baseline_exactly() -> None:
    scenario = parse_scenario(small())
    result = evaluate(
        scenario,
        env="autoscaling",
        policies=["static"],
        agents={"keep": lambda obs: 2},  # action 2 of 5: no change
        episodes=2,
    )
    assert result.episodes["keep"] == result.episodes["static"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "chess"}, "env: must be autoscaling or load_balancing (got 'chess')"),
        (
            {"policies": ["hpx"]},
            "policy: unknown autoscaling baseline 'hpx': one of scenario, "
            "static, threshold, hpa, target_tracking, step_scaling, knative",
        ),
        ({"episodes": 0}, "episodes: must be >= 1 (got 0)"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"env": "autoscaling", "policies": ["static"], **kwargs}
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(parse_scenario(small()), **settings)


def test_the_command_prints_a_table_and_writes_json_and_a_chart(tmp_path: Path) -> None:
    path = tmp_path / "group.yml"
    path.write_text(yaml.safe_dump(small()), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "rl",
            "evaluate",
            str(path),
            "--policy",
            "static",
            "--policy",
            "hpa",
            "--episodes",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "hpa" in result.output
    assert "p99" in result.output
    data = json.loads((out / "evaluation.json").read_text(encoding="utf-8"))
    assert list(data["policies"]) == ["static", "hpa"]
    assert (out / "evaluation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_command_refuses_an_unknown_policy_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "group.yml"
    path.write_text(yaml.safe_dump(small()), encoding="utf-8")
    result = CliRunner().invoke(app, ["rl", "evaluate", str(path), "--policy", "nope"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --policy: policy: unknown autoscaling baseline 'nope'")


def test_the_command_evaluates_a_saved_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb3 = pytest.importorskip("stable_baselines3", reason="the train extra (CI installs it)")
    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path / "sb3"))  # its logger's folder, else in /tmp
    from asyncflow.rl.autoscaling import AutoscalingEnv

    scenario = small()
    model = sb3.PPO(
        "MlpPolicy", AutoscalingEnv(scenario), n_steps=16, batch_size=16, seed=0, device="cpu"
    )
    model.learn(total_timesteps=16)
    model.save(tmp_path / "tiny.zip")
    path = tmp_path / "group.yml"
    path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
    report = tmp_path / "e.json"
    result = CliRunner().invoke(
        app,
        [
            "rl",
            "evaluate",
            str(path),
            "--agent",
            str(tmp_path / "tiny.zip"),
            "--policy",
            "hpa",
            "--episodes",
            "1",
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert list(data["policies"]) == ["hpa", "agent:tiny"]
    assert data["policies"]["agent:tiny"]["metrics"]["return"]["n"] == 1
