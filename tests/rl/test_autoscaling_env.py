"""asyncflow/Autoscaling-v0: the API contract, reproducibility, no look-ahead."""

from __future__ import annotations

import re
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rl_scenarios import group_scenario

import asyncflow.rl
from asyncflow.rl.autoscaling import AutoscalingEnv
from asyncflow.scenario import parse_scenario


def small(**kwargs: Any) -> dict[str, Any]:
    replicas = {
        "max_replicas": 6,
        "startup_s": 5.0,
        "autoscaler": {"policy": "hpa", "target_utilization": 0.5},
    }
    return group_scenario(replicas, users=150, horizon=150.0, **kwargs)


def test_the_environment_is_registered_and_runs_its_bundled_scenario() -> None:
    assert asyncflow.rl.AUTOSCALING_ID == "asyncflow/Autoscaling-v0"
    env = gymnasium.make("asyncflow/Autoscaling-v0")
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    assert info["replicas"] == 2
    env.close()


def test_gymnasium_check_env_passes() -> None:
    check_env(AutoscalingEnv(small()), skip_render_check=True)


def test_stable_baselines3_check_env_passes() -> None:
    sb3_checker = pytest.importorskip(
        "stable_baselines3.common.env_checker",
        reason="stable-baselines3 is in the train extra (CI installs it)",
    )
    sb3_checker.check_env(AutoscalingEnv(small()), warn=True)


def _episode(env: AutoscalingEnv, seed: int, actions: list[int]) -> list[tuple[Any, ...]]:
    obs, _ = env.reset(seed=seed)
    trace: list[tuple[Any, ...]] = [(obs.tobytes(),)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs.tobytes(), reward, terminated, truncated, info["replicas"]))
    return trace


def test_same_seed_same_actions_same_trajectory_bit_for_bit() -> None:
    actions = [4, 4, 0, 2, 3, 1, 2, 2, 2, 2]
    first = _episode(AutoscalingEnv(small()), 7, actions)
    second = _episode(AutoscalingEnv(small()), 7, actions)
    assert first == second
    assert first != _episode(AutoscalingEnv(small()), 8, actions)


def test_the_episode_is_truncated_at_the_horizon_and_never_terminated() -> None:
    env = AutoscalingEnv(small(), interval_s=20.0)
    env.reset(seed=1)
    ends = [env.step(2)[2:4] for _ in range(8)]
    assert ends == [(False, False)] * 7 + [(False, True)]  # 150 s: the 8th step ends at 150
    assert env.sim is not None
    assert env.sim.now == 150.0


def test_actions_change_the_replicas_within_the_bounds() -> None:
    env = AutoscalingEnv(small(), max_step=3)
    env.reset(seed=2)
    assert env.action_space.n == 7
    assert env.step(6)[4]["replicas"] == 5  # 2 + 3
    assert env.step(6)[4]["replicas"] == 6  # max_replicas
    assert env.step(0)[4]["replicas"] == 3
    assert env.step(0)[4]["replicas"] == 1  # min_replicas


def test_the_reward_is_minus_its_parts_in_request_seconds() -> None:
    env = AutoscalingEnv(small(), failure_weight_s=3.0, cost_weight=2.0)
    env.reset(seed=3)
    _, reward, _, _, info = env.step(4)
    parts = info["reward_parts"]
    assert parts["replica_s"] == pytest.approx(4 * 15.0)  # billed while starting too
    assert reward == pytest.approx(
        -(parts["in_system_s"] + 3.0 * parts["failures"] + 2.0 * parts["replica_s"])
    )
    assert parts["in_system_s"] > 0


def test_observations_count_only_what_happened_by_the_end_of_their_window() -> None:
    # Answers take 5 s to travel back: the log knows them 5 s before they arrive.
    env = AutoscalingEnv(small(reply_s=5.0), interval_s=2.0, metric_lag_s=0.0)
    env.reset(seed=4)
    seen = [env.step(2)[4]["observed"] for _ in range(30)]
    assert env.sim is not None
    requests = env.sim.results().requests
    generated, finished, outcome = requests.generated_s, requests.finished_s, requests.outcome
    for window in seen:
        t0, t1 = window["window_s"]
        ended = (finished > t0) & (finished <= t1)
        assert window["arrived"] == np.count_nonzero((generated > t0) & (generated <= t1))
        assert window["completed"] == np.count_nonzero(ended & (outcome == 1))
    assert seen[1]["completed"] == 0  # nothing answered yet at 4 s
    assert seen[-1]["completed"] > 0


def test_vector_environments_each_build_their_own_simulation() -> None:
    envs = gymnasium.vector.SyncVectorEnv([lambda: AutoscalingEnv(small())] * 2)
    obs, _ = envs.reset(seed=[5, 6])
    assert obs.shape == (2, 10)
    obs, rewards, _, _, _ = envs.step(np.array([4, 0]))
    assert rewards.shape == (2,)
    assert rewards[0] != rewards[1]
    envs.close()


BAD = [
    ({"interval_s": 0.0}, "interval_s: must be > 0 (got 0.0)"),
    ({"max_step": 0}, "max_step: must be an integer >= 1 (got 0)"),
    ({"cost_weight": -1.0}, "cost_weight: must be >= 0 (got -1.0)"),
    ({"group": "web"}, "group: 'web' is not a replica group of the scenario (groups: 'api')"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_arguments_are_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        AutoscalingEnv(small(), **kwargs)


def test_a_scenario_without_a_group_is_refused() -> None:
    data = small()
    del data["topology_graph"]["nodes"]["servers"][0]["replicas"]
    with pytest.raises(ValueError, match=r"^group: required, the scenario has no replica group$"):
        AutoscalingEnv(parse_scenario(data))


def test_an_action_outside_the_space_is_refused() -> None:
    env = AutoscalingEnv(small())
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"^action: must be in Discrete\(5\) \(got 9\)$"):
        env.step(9)


def test_the_reward_path_agrees_with_the_full_window() -> None:
    from asyncflow.rl._window import LogWindow

    data = small(reply_s=2.0)
    from asyncflow.simulation import Simulation

    for ordered in (False, True):
        sim = Simulation(parse_scenario(data), 3)
        full, fast = LogWindow(sim.ctx.log, ordered), LogWindow(sim.ctx.log, ordered)
        t = 0.0
        for end in np.arange(0.7, 60.0, 0.7):
            sim.advance(float(end))
            stats = full.read(t, float(end))
            assert fast.reward(t, float(end)) == pytest.approx((stats.in_system_s, stats.failed))
            t = float(end)


def test_window_percentiles_are_numpys_bit_for_bit() -> None:
    from asyncflow.rl._window import WindowStats

    rng = np.random.default_rng(7)
    qs = [0.0, 33.3, 50.0, 95.0, 99.0, 100.0]
    for trial in range(2_000):
        n = int(rng.integers(1, 2_000))
        # Ties (small integers) and continuous values, odd and even sizes.
        x = rng.integers(0, 5, n).astype(float) if trial % 3 == 0 else rng.exponential(0.1, n)
        window = WindowStats(0, 0, 0, 0.0, x, np.zeros(0, dtype=np.int64))
        assert window.percentiles(qs) == np.percentile(x, qs).tolist()
    empty = WindowStats(0, 0, 0, 0.0, np.zeros(0), np.zeros(0, dtype=np.int64))
    assert empty.percentiles([50.0, 99.0]) == [0.0, 0.0]
