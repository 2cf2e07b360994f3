"""``asyncflow/LoadBalancing-v0``: choose the servers of the requests at a balancer.

With ``decision="request"`` (the default) the run pauses whenever a request
reaches the chosen balancer; the agent picks a server index
(``Discrete(max_servers)``, the balancer's servers in order, replicas of a
group one by one). With ``decision="interval"`` the agent sets a weight per
server (``Box(0, 1, (max_servers,))``) every ``interval_s``, and each request
of the interval goes to a server in rotation drawn in proportion to them.
Per request, a server that is not in the balancer's rotation, or an index
past the last server, makes the balancer refuse the request: it fails with
``server_down``.

Observation (float32, each in [0, 1], clipped), four values per server,
padded with zeros to ``max_servers``:

====  ==============================================================
0     calls inside the server / ``queue_scale``
1     calls waiting for a core or for RAM / ``queue_scale``
2     mean latency of the requests it served that were answered in the
      last ``latency_window_s`` / ``latency_scale_s`` (refreshed once a
      simulated second, from answers that have arrived)
3     1 when the server is in the balancer's rotation, else 0
====  ==============================================================

Reward of a step (the time from one decision to the next), in
request-seconds: ``-(∫ requests in system dt + failure_weight_s ×
failures)``. Truncated at the scenario's horizon, never terminated.
"""

from __future__ import annotations

import math
import os
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from asyncflow._arguments import scenario_argument
from asyncflow.components.calls import Call
from asyncflow.components.policies import ServerView
from asyncflow.engine.streams import blocks
from asyncflow.rl._running import RunningLog
from asyncflow.rl.scenarios import bundled
from asyncflow.scenario import Scenario
from asyncflow.simulation import Simulation, uses_connections

__all__ = ["AgentChoice", "AgentWeights", "LoadBalancingEnv"]

PER_SERVER = 4
REFRESH_S = 1.0

Send = Callable[[float, Call], None]


class AgentChoice:
    """A balancing policy that plays the index it was given (once)."""

    __slots__ = ("choice",)

    def __init__(self) -> None:
        self.choice = -1

    def choose(self, servers: Sequence[ServerView]) -> int:
        """The given index when that server is in rotation, else -1 (refused)."""
        i, self.choice = self.choice, -1
        return i if 0 <= i < len(servers) and servers[i].up else -1


class AgentWeights:
    """A balancing policy drawing servers in proportion to weights the agent sets."""

    __slots__ = ("_u", "weights")

    def __init__(self, rng: np.random.Generator, servers: int) -> None:
        self._u = blocks(rng.random)
        self.weights = [1.0] * servers

    def choose(self, servers: Sequence[ServerView]) -> int:
        """A server in rotation, drawn by weight (uniformly when their weights are all 0)."""
        up = [i for i, s in enumerate(servers) if s.up]
        if not up:
            return -1
        weights = self.weights
        total = sum(weights[i] for i in up)
        if total <= 0.0:
            return up[int(self._u() * len(up))]
        target = self._u() * total
        for i in up:
            target -= weights[i]
            if target < 0.0:
                return i
        return up[-1]


class LoadBalancingEnv(gym.Env[np.ndarray, Any]):
    """Server choices at one load balancer: per request, or weights per interval."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium's API

    def __init__(
        self,
        scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        *,
        balancer: str | None = None,
        max_servers: int | None = None,
        failure_weight_s: float = 10.0,
        queue_scale: float = 20.0,
        latency_scale_s: float = 1.0,
        latency_window_s: float = 5.0,
        decision: str = "request",
        interval_s: float = 1.0,
    ) -> None:
        """Build the environment of ``scenario`` (the bundled one when none is given).

        Args:
            scenario: A scenario, its mapping, or the path of its file.
            balancer: The balancer whose choices the agent makes (the only one
                when left out).
            max_servers: Servers the observation and actions are padded to
                (default: the balancer's).
            failure_weight_s: Request-seconds of reward a failed request costs.
            queue_scale: Calls observed as 1.
            latency_scale_s: Latency observed as 1.
            latency_window_s: Answers the recent latency is the mean of.
            decision: ``request`` (a server per request) or ``interval`` (a
                weight per server every ``interval_s``; requests are drawn
                among the servers in rotation in proportion to them).
            interval_s: Simulated seconds between two decisions by interval.

        Raises:
            ValueError: A bad argument, or a scenario the environment cannot drive.
        """
        if decision not in ("request", "interval"):
            raise ValueError(f"decision: must be request or interval (got {decision!r})")
        if not 0 < interval_s < math.inf:
            raise ValueError(f"interval_s: must be > 0 (got {interval_s!r})")
        self.decision = decision
        self._by_interval = decision == "interval"
        self.interval_s = float(interval_s)
        model = scenario_argument(bundled("load_balancing") if scenario is None else scenario)
        balancers = [b.id for b in model.topology_graph.nodes.balancers]
        if balancer is None:
            if len(balancers) != 1:
                raise ValueError(f"balancer: required, the scenario has {len(balancers)} balancers")
            balancer = balancers[0]
        if balancer not in balancers:
            known = ", ".join(repr(b) for b in balancers) or "none"
            raise ValueError(f"balancer: unknown balancer {balancer!r} (the scenario's: {known})")
        if uses_connections(model):
            raise ValueError(
                "scenario: models connections (sockets or pools); the per-request "
                "environment decides where a request arrives and needs them left out"
            )
        for name, value in (
            ("failure_weight_s", failure_weight_s),
            ("queue_scale", queue_scale),
            ("latency_scale_s", latency_scale_s),
            ("latency_window_s", latency_window_s),
        ):
            if not 0 <= value < math.inf or (value == 0 and name != "failure_weight_s"):
                rule = ">= 0" if name == "failure_weight_s" else "> 0"
                raise ValueError(f"{name}: must be {rule} (got {value!r})")
        self.scenario = model
        self.balancer_id = balancer
        self._covered = _covered(model, balancer)
        self.servers = len(self._covered)
        top = self.servers if max_servers is None else max_servers
        if not isinstance(top, int) or top < self.servers:
            raise ValueError(
                f"max_servers: must be an integer >= the balancer's {self.servers} servers "
                f"(got {max_servers!r})"
            )
        self.max_servers = top
        self.failure_weight_s = float(failure_weight_s)
        self.queue_scale = float(queue_scale)
        self.latency_scale_s = float(latency_scale_s)
        self.latency_window_s = float(latency_window_s)
        self.horizon_s = float(model.sim_settings.total_simulation_time)
        self.action_space: spaces.Space[Any] = (
            spaces.Discrete(top)
            if decision == "request"
            else spaces.Box(0.0, 1.0, shape=(top,), dtype=np.float32)
        )
        self.observation_space = spaces.Box(0.0, 1.0, shape=(top * PER_SERVER,), dtype=np.float32)
        self.sim: Simulation | None = None

    # ------------------------------------------------------------------ the API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode (replication seed ``seed``) and run to the first request."""
        super().reset(seed=seed)
        run_seed = seed if seed is not None else int(self.np_random.integers(0, 2**63))
        self._agent = AgentChoice()
        self._weights = AgentWeights(np.random.default_rng([run_seed, 1]), self.max_servers)
        self._pending: tuple[float, Call, Send] | None = None
        by_request = self.decision == "request"
        self.sim = sim = Simulation(
            self.scenario,
            run_seed,
            policies={self.balancer_id: self._agent if by_request else self._weights},
            gates={self.balancer_id: self._gate} if by_request else {},
        )
        replicas = {r.server.id: r for g in sim.groups.values() for r in g.replicas}
        self._views: list[Any] = [replicas.get(s) or sim.servers[s] for s in self._covered]
        self._index = [view_server(v).index for v in self._views]
        slot_of = [-1] * (max(self._index, default=-1) + 1)
        for slot, index in enumerate(self._index):
            slot_of[index] = slot
        ordered = len(self.scenario.workload_list) == 1
        self._running = RunningLog(sim.ctx.log, slot_of, ordered)
        sim.client.on_end = self._running.ended
        servers = [view_server(view) for view in self._views]
        self._watch = [(v, s, s.cores, s.ram) for v, s in zip(self._views, servers, strict=True)]
        # The observation, written in place (a copy is handed out each step).
        self._obs = array("f", bytes(4 * PER_SERVER * self.max_servers))
        self._obs_view = np.frombuffer(self._obs, dtype=np.float32)
        self._kernel = sim.ctx.kernel
        self._stop = sim.ctx.kernel.stop
        self._kernel_run = sim.ctx.kernel.run
        self._refreshed = 0.0
        self.run_seed = run_seed
        if by_request:
            self._run()
        return self._observe(), self._info({})

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Send the waiting request to server ``action``; run to the next request.

        By interval: set the weights, run one interval.
        """
        sim = self.sim
        if sim is None:
            raise RuntimeError("call reset() before step()")
        if self._by_interval:
            return self._step_interval(sim, action)
        # Checked by hand: Discrete.contains costs more than the rest of a step.
        if (type(action) is not int and not isinstance(action, np.integer)) or not (
            0 <= action < self.max_servers
        ):
            raise ValueError(f"action: must be in {self.action_space} (got {action!r})")
        pending = self._pending
        if pending is not None:
            self._pending = None
            time, call, arrive = pending
            self._agent.choice = int(action)
            arrive(time, call)
            self._kernel_run(self.horizon_s)
        obs = self._observe()
        running = self._running
        in_system, failed = running.in_system_s, running.failed
        running.in_system_s, running.failed = 0.0, 0
        info = {
            "time_s": self._kernel.now,
            "seed": self.run_seed,
            "reward_parts": {"in_system_s": in_system, "failures": float(failed)},
        }
        reward = -(in_system + self.failure_weight_s * failed)
        return obs, reward, False, self._pending is None, info

    def _step_interval(
        self, sim: Simulation, action: Any
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action: must be in {self.action_space} (got {action!r})")
        self._weights.weights = [float(w) for w in np.asarray(action)]
        end = min(sim.now + self.interval_s, self.horizon_s)
        sim.advance(end)
        obs = self._observe()
        in_system, failed = self._running.take()
        parts = {"in_system_s": in_system, "failures": float(failed)}
        reward = -(in_system + self.failure_weight_s * failed)
        return obs, reward, False, end >= self.horizon_s, self._info(parts)

    # ------------------------------------------------------------------ running

    def _gate(self, arrive: Send) -> Send:
        """Calls arriving at the balancer wait for the agent: the run pauses there."""

        def held(time: float, call: Call) -> None:
            self._pending = (time, call, arrive)
            self._stop()

        return held

    def _run(self) -> None:
        self._kernel_run(self.horizon_s)

    # ------------------------------------------------------------------ observing

    def _observe(self) -> np.ndarray:
        """The observation now (the rows of the log followed up to now first)."""
        if self.sim is None:
            raise RuntimeError("call reset() first")
        now = self._kernel.now
        self._running.advance(now)
        if now - self._refreshed >= REFRESH_S:
            self._refresh(now)
        obs = self._obs
        scale = self.queue_scale
        at = 0
        for view, server, cores, ram in self._watch:
            calls = server.in_progress / scale
            obs[at] = calls if calls < 1.0 else 1.0
            waiting = (cores.waiting + ram.waiting) / scale
            obs[at + 1] = waiting if waiting < 1.0 else 1.0
            obs[at + 3] = 1.0 if view.up else 0.0
            at += PER_SERVER
        return self._obs_view.copy()

    def _refresh(self, now: float) -> None:
        """Per-server mean latency of the answers of the last window (arrived by now)."""
        self._refreshed = now
        means = self._running.latencies(now, self.latency_window_s)
        obs = self._obs
        for slot, mean in enumerate(means):
            value = mean / self.latency_scale_s
            obs[slot * PER_SERVER + 2] = min(max(value, 0.0), 1.0)

    def _info(self, parts: dict[str, float]) -> dict[str, Any]:
        return {
            "time_s": self._kernel.now if self.sim is not None else 0.0,
            "seed": self.run_seed,
            "reward_parts": parts,
        }


def view_server(view: Any) -> Any:
    """The server behind a balancer's view (a replica's, or the server itself)."""
    return getattr(view, "server", view)


def _covered(scenario: Scenario, balancer: str) -> list[str]:
    from asyncflow.scenario.replica_graph import expand_replicas

    expanded, _ = expand_replicas(scenario)
    return list(expanded.topology_graph.nodes.balancer(balancer).server_covered)
