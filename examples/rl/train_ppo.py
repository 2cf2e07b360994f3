"""Train PPO to autoscale, then compare it with the baselines on another day.

Needs the train extra (``pip install 'asyncflow[train]'``, PyTorch from the
CPU wheel index keeps it small). Run from the repository root::

    .venv/bin/python examples/rl/train_ppo.py [--timesteps 4800] [--episodes 3] [--out out/ppo]

It trains on the bundled ``autoscaling_train`` day (two environments, one
decision every 15 simulated seconds, rewards normalised), saves the agent,
and evaluates it against the HPA, target tracking and a static group on the
``autoscaling_test`` day with the same seeds for everyone (common random
numbers). The defaults took 14 minutes on a 2-core machine shared with
other jobs (see docs/rl.md for what they gave).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from asyncflow.rl.autoscaling import AutoscalingEnv
from asyncflow.rl.evaluate import METRICS, evaluate
from asyncflow.rl.scenarios import bundled
from asyncflow.scenario import load_scenario


def train(timesteps: int, out: Path) -> PPO:
    """PPO on the training day; the agent is saved as ``out/ppo_autoscaling.zip``."""
    train_day = load_scenario(bundled("autoscaling_train"))
    envs = make_vec_env(lambda: AutoscalingEnv(train_day), n_envs=2, seed=0)
    envs = VecNormalize(envs, norm_obs=False, norm_reward=True, gamma=0.99)
    model = PPO("MlpPolicy", envs, n_steps=240, batch_size=120, seed=0, device="cpu", verbose=0)
    model.learn(total_timesteps=timesteps)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "ppo_autoscaling.zip")
    return model


def main() -> None:
    """Train, then print each policy's metrics on the test day."""
    parser = argparse.ArgumentParser(description="Train PPO to autoscale; compare it.")
    parser.add_argument("--timesteps", type=int, default=4800)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("out/ppo"))
    args = parser.parse_args()
    model = train(args.timesteps, args.out)

    def agent(obs: np.ndarray) -> int:
        action, _ = model.predict(obs, deterministic=True)
        return int(action)

    test_day = load_scenario(bundled("autoscaling_test"))
    result = evaluate(
        test_day,
        env="autoscaling",
        policies=["static", "hpa", "target_tracking"],
        agents={"ppo": agent},
        episodes=args.episodes,
        seed=1000,
    )
    print(f"{'policy':<16}" + "".join(f"{m:>16}" for m in METRICS))
    for policy in result.episodes:
        cells = []
        for metric in METRICS:
            stats = result.stats(policy, metric)
            cells.append(f"{stats.mean:>9.4g} ±{stats.half_width:<6.2g}")
        print(f"{policy:<16}" + "".join(cells))


if __name__ == "__main__":
    main()
