"""asyncflow/LoadBalancing-v0: the API contract, reproducibility, refusals."""

from __future__ import annotations

import itertools
import re
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rl_scenarios import group_scenario

import asyncflow.rl
from asyncflow.rl.load_balancing import LoadBalancingEnv
from asyncflow.rl.scenarios import bundled
from asyncflow.scenario import load_scenario


def short(horizon: float = 5.0) -> Any:
    scenario = load_scenario(bundled("load_balancing"))
    settings = scenario.sim_settings.model_copy(update={"total_simulation_time": horizon})
    return scenario.model_copy(update={"sim_settings": settings})


def test_the_environment_is_registered_and_runs_its_bundled_scenario() -> None:
    assert asyncflow.rl.LOAD_BALANCING_ID == "asyncflow/LoadBalancing-v0"
    env = gymnasium.make("asyncflow/LoadBalancing-v0")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16,)
    assert obs.dtype == np.float32
    assert list(obs.reshape(4, 4)[:, 3]) == [1.0, 1.0, 1.0, 1.0]  # all in rotation
    env.close()


def test_gymnasium_check_env_passes() -> None:
    check_env(LoadBalancingEnv(short()), skip_render_check=True)


def test_stable_baselines3_check_env_passes() -> None:
    sb3_checker = pytest.importorskip(
        "stable_baselines3.common.env_checker",
        reason="stable-baselines3 is in the train extra (CI installs it)",
    )
    sb3_checker.check_env(LoadBalancingEnv(short()), warn=True)


def _episode(seed: int, pick: Any) -> tuple[list[bytes], list[float], int]:
    env = LoadBalancingEnv(short())
    obs, _ = env.reset(seed=seed)
    seen, rewards, done, steps = [obs.tobytes()], [], False, 0
    while not done:
        obs, reward, terminated, truncated, _ = env.step(pick(obs, steps))
        seen.append(obs.tobytes())
        rewards.append(reward)
        done, steps = terminated or truncated, steps + 1
    return seen, rewards, steps


def test_same_seed_same_actions_same_trajectory_and_every_request_is_one_step() -> None:
    def shortest(obs: np.ndarray, _: int) -> int:
        return int(np.argmin(obs.reshape(-1, 4)[:, 0]))

    first = _episode(3, shortest)
    assert first == _episode(3, shortest)
    # 250 requests/s for 5 s: one decision each (those that reached the balancer).
    assert first[2] == pytest.approx(1250, rel=0.1)


def test_the_returns_rank_the_choices() -> None:
    def old_only(_: np.ndarray, __: int) -> int:
        return 3  # the slowest server: overloaded

    def shortest(obs: np.ndarray, _: int) -> int:
        return int(np.argmin(obs.reshape(-1, 4)[:, 0]))

    bad = sum(_episode(4, old_only)[1])
    good = sum(_episode(4, shortest)[1])
    assert good > 10 * bad  # rewards are negative: far less time in the system


def test_a_server_out_of_rotation_or_past_the_last_refuses_the_request() -> None:
    env = LoadBalancingEnv(short(), max_servers=6)
    env.reset(seed=5)
    assert env.observation_space.shape == (24,)
    for _ in range(20):
        env.step(5)  # a padding slot
    assert env.sim is not None
    env.sim.advance(1.0)
    assert env.sim.results().failed_by_reason()["server_down"] == 20


def test_replicas_of_a_group_are_servers_of_their_own() -> None:
    data = group_scenario({"max_replicas": 3, "initial_replicas": 1}, horizon=5.0)
    env = LoadBalancingEnv(data)
    obs, _ = env.reset(seed=0)
    assert env.action_space.n == 3
    assert list(obs.reshape(3, 4)[:, 3]) == [1.0, 0.0, 0.0]  # one replica in rotation


def test_vector_environments_each_build_their_own_simulation() -> None:
    envs = gymnasium.vector.SyncVectorEnv([lambda: LoadBalancingEnv(short())] * 2)
    obs, _ = envs.reset(seed=[1, 2])
    assert obs.shape == (2, 16)
    _, rewards, _, _, _ = envs.step(np.array([0, 2]))
    assert rewards.shape == (2,)
    envs.close()


BAD = [
    ({"balancer": "lb2"}, "balancer: unknown balancer 'lb2' (the scenario's: 'lb')"),
    ({"max_servers": 2}, "max_servers: must be an integer >= the balancer's 4 servers (got 2)"),
    ({"queue_scale": 0.0}, "queue_scale: must be > 0 (got 0.0)"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD)
def test_bad_arguments_are_refused_by_name(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        LoadBalancingEnv(short(), **kwargs)


def test_by_interval_the_agent_sets_weights_and_passes_check_env() -> None:
    env = LoadBalancingEnv(short(), decision="interval", interval_s=0.5)
    check_env(env, skip_render_check=True)
    env.reset(seed=6)
    assert env.action_space.shape == (4,)
    steps = 0
    done = False
    while not done:
        weights = np.array([0.0, 0.0, 1.0, 0.0], dtype=np.float32)  # everything to "big"
        done = env.step(weights)[3]
        steps += 1
    assert steps == 10  # 5 s of 0.5 s intervals
    assert env.sim is not None
    served = env.sim.results().requests.server
    assert set(np.unique(served[served >= 0]).tolist()) == {2}


def test_weights_of_zero_everywhere_mean_uniform() -> None:
    from asyncflow.rl.load_balancing import AgentWeights

    class Up:
        up = True
        in_progress = 0
        connections = 0

    policy = AgentWeights(np.random.default_rng(0), 3)
    policy.weights = [0.0, 0.0, 0.0]
    picks = [policy.choose([Up(), Up(), Up()]) for _ in range(300)]
    assert set(picks) == {0, 1, 2}
    policy.weights = [0.0, 1.0, 3.0]
    picks = [policy.choose([Up(), Up(), Up()]) for _ in range(4000)]
    assert picks.count(0) == 0
    assert picks.count(2) / picks.count(1) == pytest.approx(3.0, rel=0.15)


def _two_workloads() -> Any:
    data = short(4.0).model_dump(mode="json", exclude_none=True)
    users = data.pop("rqs_input")
    other = {**users, "id": "batch", "avg_active_users": {"mean": 80, "distribution": "poisson"}}
    data["workloads"] = [users, other]
    data["topology_graph"]["edges"].append(
        {**data["topology_graph"]["edges"][0], "id": "batch-client", "source": "batch"}
    )
    return data


@pytest.mark.parametrize("scenario", [short, _two_workloads], ids=["one workload", "two"])
def test_per_request_rewards_match_the_windows_read_from_the_log_afterwards(
    scenario: Any,
) -> None:
    """The running sums give each step what the request log says of its window."""
    from asyncflow.rl._window import LogWindow

    env = LoadBalancingEnv(scenario(), max_servers=5)
    env.reset(seed=8)
    times, areas, failures, done, steps = [0.0], [], [], False, 0
    while not done:
        _, _, _, done, info = env.step(4 if steps % 9 == 0 else steps % 4)  # 4: refused
        times.append(info["time_s"])
        areas.append(info["reward_parts"]["in_system_s"])
        failures.append(info["reward_parts"]["failures"])
        steps += 1
    assert env.sim is not None
    window = LogWindow(env.sim.ctx.log)
    reads = [window.read(t0, t1) for t0, t1 in itertools.pairwise(times)]
    assert sum(failures) == sum(r.failed for r in reads) >= steps // 9
    assert areas == pytest.approx([r.in_system_s for r in reads], rel=1e-9, abs=1e-9)
    assert sum(areas) > 0.01 * steps
