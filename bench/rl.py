"""Benchmark of the RL environments against plain runs of the same traffic.

Usage (with the project's virtualenv and the rl extra)::

    .venv/bin/python bench/rl.py [--repeats R]

* ``autoscaling``: the bundled autoscaling scenario with six replicas (enough
  for its peak), one episode (an hour of simulated time, 240 decisions of
  15 s) with a fixed action (no change), against a plain run of the same
  scenario with a static group. The environment's extra cost is its metric
  scrapes and its observations. (An overloaded group costs more: each step
  looks at every request of the backlog again.)
* ``load balancing``: the bundled load-balancing scenario (60 s, about
  15,000 requests), one decision per request by a trivial policy (servers
  in turn, without reading the observation), against a plain run with
  round robin. Also timed: the same loop without the environment's
  observations and rewards (the pauses of the kernel alone), to split the
  environment's cost between pausing and observing.

Times are the process's CPU time (steadier than wall time on a shared
machine); the variants are run in turn, ``R`` rounds, and each figure is the
least of its ``R`` runs (the run the machine's other work disturbed least:
on a shared machine the medians of a few runs wander by tens of percent
from one session to the next). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from asyncflow.rl.autoscaling import AutoscalingEnv
from asyncflow.rl.evaluate import _variant
from asyncflow.rl.load_balancing import LoadBalancingEnv
from asyncflow.rl.scenarios import bundled
from asyncflow.scenario import Scenario, load_scenario
from asyncflow.simulation import Simulation


def in_turn(tasks: dict[str, Callable[[], int]], repeats: int) -> dict[str, tuple[float, int]]:
    """Each task's least CPU time and its count, the tasks run in turn ``repeats`` times."""
    times: dict[str, list[float]] = {name: [] for name in tasks}
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for name, task in tasks.items():
            start = time.process_time()
            counts[name] = task()
            times[name].append(time.process_time() - start)
    return {name: (min(times[name]), counts[name]) for name in tasks}


def _six_replicas(scenario: Scenario) -> Scenario:
    """The scenario with six initial replicas: enough for the peak, no backlog."""
    nodes = scenario.topology_graph.nodes
    servers = tuple(
        s.model_copy(update={"replicas": s.replicas.model_copy(update={"initial_replicas": 6})})
        if s.replicas is not None
        else s
        for s in nodes.servers
    )
    topology = scenario.topology_graph.model_copy(
        update={"nodes": nodes.model_copy(update={"servers": servers})}
    )
    return scenario.model_copy(update={"topology_graph": topology})


def autoscaling(repeats: int) -> None:
    scenario = _six_replicas(load_scenario(bundled("autoscaling")))
    static = _variant(scenario, "autoscaling", "static")

    def plain() -> int:
        return len(Simulation(static, 1).run().requests.generated_s)

    def env() -> int:
        environment = AutoscalingEnv(scenario)
        environment.reset(seed=1)
        steps, done = 0, False
        while not done:
            _, _, _, done, _ = environment.step(2)
            steps += 1
        assert environment.sim is not None
        environment.sim.results()
        return steps

    timed = in_turn({"plain": plain, "env": env}, repeats)
    plain_s, requests = timed["plain"]
    env_s, steps = timed["env"]
    print(
        f"autoscaling: plain run {plain_s:.2f} s ({requests} requests); "
        f"environment {env_s:.2f} s for {steps} steps ({steps / env_s:.0f} steps/s); "
        f"extra cost {100 * (env_s / plain_s - 1):+.1f}%"
    )


def autoscaling_own_work(repeats: int) -> None:
    """The environment's own work: a step's time outside the simulation's advance.

    Steadier than the difference of two whole runs on a shared machine: both
    parts are timed within the same episode, so a slow moment of the
    machine slows both.
    """
    scenario = _six_replicas(load_scenario(bundled("autoscaling")))
    shares = []
    for _ in range(repeats):
        environment = AutoscalingEnv(scenario)
        environment.reset(seed=1)
        sim = environment.sim
        assert sim is not None
        advance, inside = sim.advance, [0.0]

        def timed(
            until: float,
            advance: Callable[[float], None] = advance,
            inside: list[float] = inside,
        ) -> None:
            start = time.process_time()
            advance(until)
            inside[0] += time.process_time() - start

        sim.advance = timed  # type: ignore[method-assign]
        start, done = time.process_time(), False
        while not done:
            _, _, _, done, _ = environment.step(2)
        shares.append((time.process_time() - start - inside[0]) / inside[0])
    shares.sort()
    print(
        f"autoscaling: the environment's own work is {100 * shares[len(shares) // 2]:.2f}% "
        f"of the simulation's time (median of {repeats} episodes, "
        f"{100 * shares[0]:.2f}% to {100 * shares[-1]:.2f}%)"
    )


def load_balancing(repeats: int) -> None:
    scenario = load_scenario(bundled("load_balancing"))

    def plain() -> int:
        return len(Simulation(scenario, 1).run().requests.generated_s)

    def env() -> int:
        environment = LoadBalancingEnv(scenario)
        environment.reset(seed=1)
        steps, done = 0, False
        while not done:
            _, _, _, done, _ = environment.step(steps % 4)
            steps += 1
        return steps

    def pauses() -> int:
        """The environment's run with its pauses only: no observation, no reward."""
        environment = LoadBalancingEnv(scenario)
        environment.reset(seed=1)
        assert environment.sim is not None
        kernel, agent = environment.sim.ctx.kernel, environment._agent
        steps = 0
        while environment._pending is not None:
            at, call, arrive = environment._pending
            environment._pending = None
            agent.choice = steps % 4
            arrive(at, call)
            kernel.run(environment.horizon_s)
            steps += 1
        return steps

    timed = in_turn({"plain": plain, "env": env, "pauses": pauses}, repeats)
    plain_s, requests = timed["plain"]
    env_s, steps = timed["env"]
    pauses_s, _ = timed["pauses"]
    per_request = 1e6 * plain_s / requests
    print(
        f"load balancing: plain run {requests / plain_s:,.0f} requests/s "
        f"({per_request:.1f} us a request); environment {steps / env_s:,.0f} steps/s "
        f"({steps} decisions), {(steps / env_s) / (requests / plain_s):.2f}x the plain run; "
        f"pauses alone {1e6 * pauses_s / steps:.1f} us a step, observations and rewards "
        f"{1e6 * (env_s - pauses_s) / steps:.1f} us a step"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    autoscaling(args.repeats)
    autoscaling_own_work(args.repeats)
    load_balancing(args.repeats)


if __name__ == "__main__":
    main()
