"""Evaluate policies over seeded episodes with common random numbers.

Every policy runs the same episodes: episode ``i`` is the scenario run with
replication seed ``seed + i``, so the requests and their demands are the
same whatever the policy (common random numbers: differences between
policies are sharper than their spreads suggest). Baselines run as plain
simulations (the group's autoscaler, or the balancer's algorithm, replaced
by the baseline); a saved agent runs through its environment.

Each episode gives:

* ``mean_sojourn_s``, ``p99_s``: latency of the completed requests (those
  still queued at the end are not in them: compare ``return`` too);
* ``slo_violations``: share of the requests that ended (completed or failed)
  that failed or took longer than ``slo_s``;
* ``failures``: failed requests;
* ``replica_s``, ``cost``: replica-seconds billed and their price
  (``cost_per_replica_s``; 0 without replica groups);
* ``return``: the environment's return for the episode (request-seconds),
  computed from the records with the environment's default weights (the
  replica-seconds count for autoscaling only, as in that reward).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asyncflow.analysis.replicas import replica_groups
from asyncflow.analysis.stats import FigureStats, describe
from asyncflow.results import Results
from asyncflow.scenario import Scenario
from asyncflow.scenario.replicas import ReplicaGroup
from asyncflow.simulation import Simulation

__all__ = [
    "AUTOSCALING_BASELINES",
    "BALANCING_BASELINES",
    "METRICS",
    "Evaluation",
    "episode_metrics",
    "evaluate",
]

METRICS = ("mean_sojourn_s", "p99_s", "slo_violations", "failures", "replica_s", "cost", "return")

AUTOSCALING_BASELINES: dict[str, dict[str, Any]] = {
    "static": {"policy": "static"},
    "threshold": {"policy": "threshold", "scale_out_above": 0.8, "scale_in_below": 0.3},
    "hpa": {"policy": "hpa", "target_utilization": 0.6},
    "target_tracking": {"policy": "target_tracking", "target_utilization": 0.6},
    "step_scaling": {
        "policy": "step_scaling",
        "steps": [
            {"lower": 0.85, "change": 2},
            {"lower": 0.7, "upper": 0.85, "change": 1},
            {"lower": 0.0, "upper": 0.3, "change": -1},
        ],
    },
    "knative": {"policy": "knative", "target_concurrency": 2.0},
}
"""The autoscaling baselines with their default settings (``scenario``: the file's own)."""

BALANCING_BASELINES = (
    "random",
    "round_robin",
    "least_connection",
    "power_of_two_choices",
    "least_work_left",
    "shortest_expected_delay",
    "join_idle_queue",
)

FAILURE_WEIGHT_S = 10.0
COST_WEIGHT = 1.0

Agent = Callable[[np.ndarray], int]


@dataclass(slots=True)
class Evaluation:
    """The episodes of every policy, and their statistics."""

    env: str
    scenario: str
    seeds: list[int]
    slo_s: float
    confidence: float
    episodes: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def stats(self, policy: str, metric: str) -> FigureStats:
        """Mean and confidence interval of a metric of a policy over its episodes."""
        return describe([e[metric] for e in self.episodes[policy]], self.confidence)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: settings, every episode, and every metric's interval."""
        return {
            "env": self.env,
            "scenario": self.scenario,
            "seeds": self.seeds,
            "slo_s": self.slo_s,
            "confidence": self.confidence,
            "policies": {
                policy: {
                    "episodes": episodes,
                    "metrics": {m: self.stats(policy, m).as_dict() for m in METRICS},
                }
                for policy, episodes in self.episodes.items()
            },
        }


def evaluate(
    scenario: Scenario,
    *,
    env: str,
    policies: Sequence[str],
    agents: Mapping[str, Agent] | None = None,
    episodes: int = 10,
    seed: int = 0,
    slo_s: float = 0.5,
    confidence: float = 0.95,
    progress: Callable[[str, int], None] | None = None,
) -> Evaluation:
    """Run every policy (and agent) over the same ``episodes`` seeds.

    Args:
        scenario: The scenario (with a replica group for autoscaling).
        env: ``autoscaling`` or ``load_balancing``.
        policies: Baseline names (``scenario`` for the file's own setting).
        agents: Named agents: functions from an observation to an action.
        episodes: Episodes per policy.
        seed: Seed of the first episode.
        slo_s: Latency above which a request violates the objective.
        confidence: Level of the intervals.
        progress: Called with (policy, episode) after each episode.

    Raises:
        ValueError: An unknown environment or policy, or bad counts.
    """
    if env not in ("autoscaling", "load_balancing"):
        raise ValueError(f"env: must be autoscaling or load_balancing (got {env!r})")
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1 (got {episodes})")
    if not slo_s > 0 or not math.isfinite(slo_s):
        raise ValueError(f"slo_s: must be > 0 (got {slo_s!r})")
    known = ("scenario", *(AUTOSCALING_BASELINES if env == "autoscaling" else BALANCING_BASELINES))
    for name in policies:
        if name not in known:
            raise ValueError(f"policy: unknown {env} baseline {name!r}: one of {', '.join(known)}")
    seeds = [seed + i for i in range(episodes)]
    priced = env == "autoscaling"
    result = Evaluation(env, scenario.name, seeds, slo_s, confidence)
    for name in policies:
        variant = _variant(scenario, env, name)
        result.episodes[name] = []
        for i, s in enumerate(seeds):
            results = Simulation(variant, s).run()
            result.episodes[name].append(episode_metrics(results, slo_s, priced))
            if progress is not None:
                progress(name, i)
    for name, agent in (agents or {}).items():
        result.episodes[name] = []
        for i, s in enumerate(seeds):
            played = _play(scenario, env, agent, s)
            result.episodes[name].append(episode_metrics(played, slo_s, priced))
            if progress is not None:
                progress(name, i)
    return result


def _variant(scenario: Scenario, env: str, name: str) -> Scenario:
    """The scenario with the baseline ``name`` in charge."""
    if name == "scenario":
        return scenario
    nodes = scenario.topology_graph.nodes
    if env == "autoscaling":
        servers = tuple(
            s.model_copy(update={"replicas": _with_scaler(s.replicas, name)})
            if s.replicas is not None
            else s
            for s in nodes.servers
        )
        update: dict[str, Any] = {"servers": servers}
    else:
        update = {}
        if nodes.load_balancer is not None:
            update["load_balancer"] = nodes.load_balancer.model_copy(
                update={"algorithms": name, "weights": None}
            )
        if nodes.load_balancers is not None:
            update["load_balancers"] = tuple(
                b.model_copy(update={"algorithms": name, "weights": None})
                for b in nodes.load_balancers
            )
    topology = scenario.topology_graph.model_copy(update={"nodes": nodes.model_copy(update=update)})
    return scenario.model_copy(update={"topology_graph": topology})


def _with_scaler(group: ReplicaGroup, name: str) -> ReplicaGroup:
    data = group.model_dump(mode="python", exclude_none=True)
    data["autoscaler"] = AUTOSCALING_BASELINES[name]
    return ReplicaGroup.model_validate(data)


def _play(scenario: Scenario, env_name: str, agent: Agent, seed: int) -> Results:
    """One episode of an agent in its environment; the run's results."""
    if env_name == "autoscaling":
        from asyncflow.rl.autoscaling import AutoscalingEnv

        env: Any = AutoscalingEnv(scenario)
    else:
        from asyncflow.rl.load_balancing import LoadBalancingEnv

        env = LoadBalancingEnv(scenario)
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = env.step(agent(obs))
        done = terminated or truncated
    return env.sim.results()  # type: ignore[no-any-return]


def episode_metrics(results: Results, slo_s: float, priced: bool = True) -> dict[str, float]:
    """The metrics of one finished run (see the module's docstring).

    ``priced``: whether the return counts replica-seconds (as the autoscaling
    environment's reward does; the load-balancing one does not).
    """
    r = results.requests
    end = results.end_s
    latencies = results.latencies()
    done = r.outcome > 0
    failed = int(np.count_nonzero(r.outcome > 1))
    slow = int(np.count_nonzero(latencies > slo_s))
    ended = int(np.count_nonzero(done))
    finished = np.where(np.isnan(r.finished_s), end, np.minimum(r.finished_s, end))
    in_system = float(np.sum(np.clip(finished - r.generated_s, 0.0, None)[r.generated_s <= end]))
    replica_s = cost = 0.0
    nodes = results.scenario.topology_graph.nodes
    for group, ids in replica_groups(results).items():
        spec = nodes.server(ids[0]).replicas
        seconds = results.level_mean("replicas_billed", group) * results.measured_s
        replica_s += seconds
        cost += seconds * (spec.cost_per_replica_s if spec is not None else 0.0)
    return {
        "mean_sojourn_s": float(np.mean(latencies)) if latencies.size else math.nan,
        "p99_s": float(np.percentile(latencies, 99)) if latencies.size else math.nan,
        "slo_violations": (failed + slow) / ended if ended else math.nan,
        "failures": float(failed),
        "replica_s": replica_s,
        "cost": cost,
        "return": -(in_system + FAILURE_WEIGHT_S * failed + priced * COST_WEIGHT * replica_s),
    }
