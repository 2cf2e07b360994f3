"""The load-balancing baselines in plain simulations, against each other and theory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from asyncflow.analysis.queueing import mmc_wait
from asyncflow.components.balancing_extra import (
    JoinIdleQueue,
    LeastWorkLeft,
    ShortestExpectedDelay,
    service_rate,
)
from asyncflow.rl.scenarios import bundled
from asyncflow.scenario import Scenario, load_scenario, parse_scenario
from asyncflow.simulation import Simulation


def with_algorithm(scenario: Scenario, algorithm: str, horizon: float = 60.0) -> Scenario:
    nodes = scenario.topology_graph.nodes
    balancer = nodes.load_balancer.model_copy(update={"algorithms": algorithm})  # type: ignore[union-attr]
    topology = scenario.topology_graph.model_copy(
        update={"nodes": nodes.model_copy(update={"load_balancer": balancer})}
    )
    settings = scenario.sim_settings.model_copy(update={"total_simulation_time": horizon})
    return scenario.model_copy(update={"topology_graph": topology, "sim_settings": settings})


def mean_latency(scenario: Scenario, seed: int = 1) -> float:
    return float(np.mean(Simulation(scenario, seed).run().latencies()))


def test_the_service_rates_the_policies_know() -> None:
    servers = load_scenario(bundled("load_balancing")).topology_graph.nodes.servers
    assert [service_rate(s) for s in servers] == pytest.approx([100.0, 50.0, 200.0, 25.0])


@pytest.mark.parametrize(
    ("algorithm", "share"),
    [
        ("least_connection", 0.5),
        ("least_work_left", 0.5),
        ("shortest_expected_delay", 0.5),
        # At two-thirds load an idle server is often missing and JIQ falls back
        # to random choices, which overload the slowest server: it gains little.
        ("join_idle_queue", 1.0),
    ],
)
def test_state_aware_policies_beat_random_on_unequal_servers(algorithm: str, share: float) -> None:
    base = load_scenario(bundled("load_balancing"))
    random = mean_latency(with_algorithm(base, "random"))
    assert mean_latency(with_algorithm(base, algorithm)) < share * random


def test_knowing_the_rates_beats_counting_connections_on_unequal_servers() -> None:
    base = load_scenario(bundled("load_balancing"))
    jsq = mean_latency(with_algorithm(base, "least_connection"))
    assert mean_latency(with_algorithm(base, "shortest_expected_delay")) < jsq


def _identical(algorithm: str, n: int = 4, rate: float = 320.0) -> Scenario:
    cpu = {"cpu_time": {"mean": 0.01, "distribution": "exponential"}}
    servers: list[dict[str, Any]] = [
        {
            "id": f"s{i}",
            "endpoints": [
                {
                    "endpoint_name": "/x",
                    "steps": [{"kind": "cpu_bound_operation", "step_operation": cpu}],
                }
            ],
        }
        for i in range(n)
    ]
    edges = [
        {"id": "w-c", "source": "w", "target": "c", "latency": 1e-6},
        {"id": "c-lb", "source": "c", "target": "lb", "latency": 1e-6},
    ]
    for i in range(n):
        edges += [
            {"id": f"lb-s{i}", "source": "lb", "target": f"s{i}", "latency": 1e-6},
            {"id": f"s{i}-c", "source": f"s{i}", "target": "c", "latency": 1e-6},
        ]
    return parse_scenario(
        {
            "rqs_input": {
                "id": "w",
                "avg_active_users": {"mean": rate, "distribution": "deterministic"},
                "avg_request_per_minute_per_user": {"mean": 60},
                "user_sampling_window": 10,
            },
            "topology_graph": {
                "nodes": {
                    "client": {"id": "c"},
                    "load_balancer": {
                        "id": "lb",
                        "algorithms": algorithm,
                        "server_covered": [f"s{i}" for i in range(n)],
                    },
                    "servers": servers,
                },
                "edges": edges,
            },
            "sim_settings": {"total_simulation_time": 300, "warm_up_s": 20},
        }
    )


def test_jsq_on_identical_servers_is_no_better_than_one_central_queue() -> None:
    # M/M/4 at 80%: the central queue is the best any dispatcher can do.
    central = mmc_wait(4, 320.0, 0.01) + 0.01
    jsq = mean_latency(_identical("least_connection"), seed=2) - 4e-6
    random = mean_latency(_identical("random"), seed=2) - 4e-6
    # 96k requests: the mean's standard error is well under 2%.
    assert jsq >= 0.97 * central
    assert jsq < 0.6 * random  # and far better than splitting at random (M/M/1 each: 0.05 s)


class Fake:
    def __init__(self, in_progress: int, up: bool = True) -> None:
        self.in_progress = in_progress
        self.connections = in_progress
        self.up = up


def test_each_policy_on_given_servers() -> None:
    rng = np.random.default_rng(0)
    servers = [Fake(3), Fake(1), Fake(2, up=False), Fake(4)]
    rates = [1.0, 0.25, 10.0, 2.0]  # seconds of work inside: 3, 4, (down), 2
    assert LeastWorkLeft(rates).choose(servers) == 3
    assert ShortestExpectedDelay(rates).choose(servers) == 3  # (n + 1) / rate: 4, 8, -, 2.5
    assert ShortestExpectedDelay([1.0, 1.0, 1.0, 1.0]).choose(servers) == 1
    idle = [Fake(2), Fake(0, up=False), Fake(0), Fake(0)]
    jiq = JoinIdleQueue(rng)
    assert [jiq.choose(idle) for _ in range(3)] == [2, 3, 2]  # idle ones in turn
    busy = [Fake(1), Fake(1, up=False), Fake(2)]
    assert {jiq.choose(busy) for _ in range(50)} == {0, 2}  # none idle: random among up
    assert LeastWorkLeft([1.0]).choose([Fake(0, up=False)]) == -1
    assert JoinIdleQueue(rng).choose([Fake(0, up=False)]) == -1
