"""Nothing vanishes when balancers learn their servers' health late.

The random guarded call trees of the policies' property test (outages,
drops, sockets, fan-out, admission policies, timeouts) get random health
checks and outlier ejection on their balancers. On every run: one outcome
per request, phases that add up to each request's age, the rotation level
in line with the servers' states, and no more servers ejected than allowed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.scenario import Scenario, parse_scenario
from asyncflow.scenario.builder import health_check, outlier_ejection
from asyncflow.simulation import Simulation
from tests.policies.test_policy_conservation import assert_accounted, guarded_trees


@st.composite
def watched_trees(draw: Any) -> Scenario:
    scenario: Scenario = draw(guarded_trees())
    policies: list[dict[str, Any]] = []
    for balancer in scenario.topology_graph.nodes.balancers:
        if draw(st.booleans()):
            interval = draw(st.floats(0.05, 2.0))
            policies.append(
                health_check(
                    balancer.id,
                    interval_s=interval,
                    timeout_s=interval * draw(st.floats(0.1, 1.0)),
                    healthy_threshold=draw(st.integers(1, 3)),
                    unhealthy_threshold=draw(st.integers(1, 3)),
                )
            )
        if draw(st.booleans()):
            policies.append(
                outlier_ejection(
                    balancer.id,
                    consecutive_failures=draw(st.integers(1, 4)),
                    ejection_s=draw(st.floats(0.05, 3.0)),
                    max_ejected_ratio=draw(st.sampled_from([0.1, 0.5, 1.0])),
                )
            )
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["policies"] = [*data.get("policies", []), *policies]
    return parse_scenario(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=watched_trees(), seed=st.integers(0, 2**32))
def test_watched_balancers_lose_no_request_and_no_second(scenario: Scenario, seed: int) -> None:
    simulation = Simulation(scenario, seed, record_calls=True)
    assert_accounted(simulation)
    ratios = {
        p.target: p.max_ejected_ratio for p in scenario.policies if p.type == "outlier_ejection"
    }
    for balancer_id, health in simulation.runtime.health.items():
        n = len(health.views)
        level = simulation.ctx.levels[(balancer_id, "servers_in_rotation")]
        # The level and the views agree on how many servers are in rotation at the end.
        assert level.value + sum(level.deltas) == sum(v.up for v in health.views)
        assert float(level.bin_max.max()) <= n
        assert all(v.up == (v.healthy and not v.ejected) for v in health.views)
        allowed = max(1, int(ratios.get(balancer_id, 0.0) * n + 1e-9))
        assert sum(v.ejected for v in health.views) <= allowed


def test_a_reply_through_a_watched_balancer_is_cut_on_its_reply_hop() -> None:
    """A reply crossing the horizon, delivered through outlier ejection's watch.

    The watch delivered it under another name than the caller's, and the
    part after the horizon was taken back from the outbound hop instead.
    """
    latency = {"distribution": "exponential", "mean": 0.03125}
    cpu = {"kind": "cpu_bound_operation", "step_operation": {"cpu_time": 0.03125}}

    def call(target: str) -> dict[str, Any]:
        return {"kind": "call", "step_operation": {"call": {"target": target}}}

    def server(sid: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": sid,
            "server_resources": {"cpu_cores": 1, "ram_mb": 512},
            "endpoints": [{"endpoint_name": "/e", "steps": steps}],
        }

    links = [
        ("rqs-1", "client-1"), ("client-1", "s0"), ("lb-1", "s1-0"), ("lb-1", "s1-1"),
        ("s0", "client-1"), ("s0", "lb-1"), ("s1-0", "s0"), ("s1-1", "s0"),
        ("s1-0", "s2"), ("s2", "s1-0"), ("s1-1", "s2"), ("s2", "s1-1"),
    ]  # fmt: skip
    outages = [("s0", 1.0), ("s1-0", 1.0), ("s1-1", 1.0), ("s2", 2.0)]
    data = {
        "rqs_input": {
            "id": "rqs-1",
            "target": "s0",
            "avg_active_users": {"distribution": "poisson", "mean": 10},
            "avg_request_per_minute_per_user": {"distribution": "poisson", "mean": 30},
            "user_sampling_window": 60,
        },
        "topology_graph": {
            "nodes": {
                "client": {"id": "client-1"},
                "servers": [
                    server(
                        "s0",
                        [{"kind": "ram", "step_operation": {"necessary_ram": 32}}, call("lb-1")],
                    ),
                    server("s1-0", [call("s2"), cpu]),
                    server("s1-1", [call("s2"), cpu, cpu]),
                    server("s2", [cpu]),
                ],
                "load_balancer": {
                    "id": "lb-1",
                    "algorithms": "random",
                    "server_covered": ["s1-0", "s1-1"],
                },
            },
            "edges": [
                {"id": f"{a}->{b}", "source": a, "target": b, "latency": latency} for a, b in links
            ],
        },
        "sim_settings": {"total_simulation_time": 5, "sample_period_s": 0.01},
        "events": [
            {
                "event_id": f"outage-{k}",
                "target_id": target,
                "start": {"kind": "server_down", "t_start": 0},
                "end": {"kind": "server_up", "t_end": end},
            }
            for k, (target, end) in enumerate(outages)
        ],
        "policies": [
            {"type": "rate_limit", "target": "s0", "rate_per_s": 4, "burst": 4},
            {
                "type": "concurrency_limit",
                "target": "s1-0",
                "max_in_flight": 1,
                "adaptive": {"algorithm": "aimd", "minimum": 1, "maximum": 5, "target_s": 0.125},
            },
            {
                "type": "outlier_ejection",
                "target": "lb-1",
                "consecutive_failures": 1,
                "ejection_s": 1.0,
                "max_ejected_ratio": 0.1,
            },
        ],
    }
    results = assert_accounted(Simulation(parse_scenario(data), 651, record_calls=True))
    assert np.count_nonzero(np.isnan(results.requests.finished_s)) > 0  # cut by the horizon
