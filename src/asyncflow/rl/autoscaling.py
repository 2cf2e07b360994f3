"""``asyncflow/Autoscaling-v0``: decide a replica group's size every interval.

Every ``interval_s`` simulated seconds (default 15) the agent picks a change
of the group's replicas, from ``-max_step`` to ``+max_step`` (action ``a``
means ``a - max_step``), kept within the group's bounds. Replicas added
start (billed, not serving) and join the balancer's rotation when ready;
replicas removed drain (see ``docs/reference/replicas.md``).

Observation (float32, each in [0, 1], clipped), over the last interval
ending ``metric_lag_s`` ago unless said otherwise:

====  ==========================================================
0     CPU utilisation of the ready replicas
1     replicas ready / ``max_replicas`` (now)
2     replicas starting / ``max_replicas`` (now)
3     replicas draining / ``max_replicas`` (now)
4     arrival rate / ``rate_scale`` (requests per second)
5     mean requests in the system per ready replica / ``queue_scale``
6-8   latency p50, p95, p99 of requests answered / ``latency_scale_s``
9     share of the requests ended that failed
====  ==========================================================

Reward of a step, in request-seconds (always <= 0)::

    -(∫ requests in system dt  +  failure_weight_s × failures
      +  cost_weight × replica-seconds billed)

over the step, so that by Little's law the first term is the sojourn time
the step's requests spent (``failure_weight_s``: request-seconds a failure
costs; ``cost_weight``: request-seconds a replica-second costs). The task
continues: an episode is truncated at the scenario's horizon, never
terminated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from asyncflow.components.replicas import DRAINING, READY, STARTING
from asyncflow.rl._window import LogWindow
from asyncflow.rl.scenarios import bundled, control_group, group_spec
from asyncflow.scenario import Scenario
from asyncflow.simulation import Simulation

__all__ = ["AutoscalingEnv"]

FEATURES = 10


class AutoscalingEnv(gym.Env[np.ndarray, np.int64]):
    """A replica group's size, decided every interval by the agent."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium's API

    def __init__(
        self,
        scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        group: str | None = None,
        interval_s: float = 15.0,
        max_step: int = 2,
        metric_lag_s: float = 15.0,
        failure_weight_s: float = 10.0,
        cost_weight: float = 1.0,
        rate_scale: float | None = None,
        queue_scale: float = 20.0,
        latency_scale_s: float = 1.0,
    ) -> None:
        """Build the environment of ``scenario`` (the bundled one when none is given).

        Args:
            scenario: A scenario, its mapping, or the path of its file.
            group: The replica group to scale (the only one when left out).
            interval_s: Simulated seconds between two decisions.
            max_step: Largest change of replicas a decision.
            metric_lag_s: Age of the newest window of metrics observed.
            failure_weight_s: Request-seconds of reward a failed request costs.
            cost_weight: Request-seconds of reward a billed replica-second costs.
            rate_scale: Arrival rate observed as 1 (default: three times the
                workloads' mean rate).
            queue_scale: Requests in the system per ready replica observed as 1.
            latency_scale_s: Latency observed as 1.

        Raises:
            ValueError: A bad argument, or a scenario without that group.
        """
        if not interval_s > 0 or not math.isfinite(interval_s):
            raise ValueError(f"interval_s: must be > 0 (got {interval_s!r})")
        if not isinstance(max_step, int) or max_step < 1:
            raise ValueError(f"max_step: must be an integer >= 1 (got {max_step!r})")
        for name, value in (
            ("metric_lag_s", metric_lag_s),
            ("failure_weight_s", failure_weight_s),
            ("cost_weight", cost_weight),
        ):
            if not 0 <= value < math.inf:
                raise ValueError(f"{name}: must be >= 0 (got {value!r})")
        self.scenario, self.group_id = control_group(
            bundled("autoscaling") if scenario is None else scenario, group
        )
        self.replica_spec = group_spec(self.scenario, self.group_id)
        self.interval_s = float(interval_s)
        self.max_step = max_step
        self.metric_lag_s = float(metric_lag_s)
        self.failure_weight_s = float(failure_weight_s)
        self.cost_weight = float(cost_weight)
        horizon = float(self.scenario.sim_settings.total_simulation_time)
        self.horizon_s = horizon
        mean_rate = sum(w.expected_requests(horizon) for w in self.scenario.workload_list) / horizon
        self.rate_scale = float(rate_scale) if rate_scale is not None else 3.0 * mean_rate
        self.queue_scale = float(queue_scale)
        self.latency_scale_s = float(latency_scale_s)
        self._steps = 2 * max_step + 1
        self.action_space = spaces.Discrete(self._steps)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(FEATURES,), dtype=np.float32)
        self.sim: Simulation | None = None

    # ------------------------------------------------------------------ the API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode: a new run whose replication seed is ``seed``.

        Without a seed the next one is drawn from the environment's own
        generator (seeded by the first ``reset(seed=...)``).
        """
        super().reset(seed=seed)
        run_seed = seed if seed is not None else int(self.np_random.integers(0, 2**63))
        self.sim = sim = Simulation(self.scenario, run_seed)
        self._group = sim.groups[self.group_id]
        keep = self.metric_lag_s + 2 * self.interval_s
        self._group.watch(0.0, self.interval_s, keep_s=keep, lag_s=self.metric_lag_s)
        ordered = len(self.scenario.workload_list) == 1
        self._metrics = LogWindow(sim.ctx.log, ordered)
        self._rewards = LogWindow(sim.ctx.log, ordered)
        self._billed = 0.0
        self.run_seed = run_seed
        return self._observe(0.0), self._info(0.0, {})

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply a change of replicas, run one interval, observe and reward it."""
        sim = self.sim
        if sim is None:
            raise RuntimeError("call reset() before step()")
        plain = type(action) is int and 0 <= action < self._steps  # the space's check, fast
        if not plain and not self.action_space.contains(action):
            raise ValueError(f"action: must be in {self.action_space} (got {action!r})")
        now = sim.now
        self._group.scale_to(now, self._group.desired + int(action) - self.max_step)
        end = min(now + self.interval_s, self.horizon_s)
        sim.advance(end)
        in_system_s, failed = self._rewards.reward(now, end)
        billed = self._group.billed_seconds(end)
        replica_s, self._billed = billed - self._billed, billed
        parts = {
            "in_system_s": in_system_s,
            "failures": float(failed),
            "replica_s": replica_s,
        }
        reward = -(in_system_s + self.failure_weight_s * failed + self.cost_weight * replica_s)
        truncated = end >= self.horizon_s
        return self._observe(end), float(reward), False, truncated, self._info(end, parts)

    # ------------------------------------------------------------------ observing

    def _observe(self, now: float) -> np.ndarray:
        group = self._group
        top = float(self.replica_spec.max_replicas)
        end = max(0.0, now - self.metric_lag_s)
        start = max(0.0, end - self.interval_s)
        stats = self._metrics.read(start, end)
        self._seen = {
            "window_s": (start, end),
            "arrived": stats.arrived,
            "completed": stats.completed,
            "failed": stats.failed,
        }
        scrapes = group.scrapes
        util = scrapes.utilization(start, end) if scrapes is not None else None
        span = end - start
        ready = group.count(READY)
        ended = stats.completed + stats.failed
        p50, p95, p99 = stats.percentiles([50.0, 95.0, 99.0])
        values = [
            util or 0.0,
            ready / top,
            group.count(STARTING) / top,
            group.count(DRAINING) / top,
            stats.arrived / span / self.rate_scale if span > 0 else 0.0,
            stats.in_system_s / span / max(ready, 1) / self.queue_scale if span > 0 else 0.0,
            p50 / self.latency_scale_s,
            p95 / self.latency_scale_s,
            p99 / self.latency_scale_s,
            stats.failed / ended if ended else 0.0,
        ]
        return np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)

    def _info(self, now: float, parts: dict[str, float]) -> dict[str, Any]:
        group = self._group
        return {
            "time_s": now,
            "seed": self.run_seed,
            "replicas": group.desired,
            "ready": group.count(READY),
            "starting": group.count(STARTING),
            "reward_parts": parts,
            "observed": self._seen,
        }
