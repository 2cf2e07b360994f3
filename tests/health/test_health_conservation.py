"""Nothing vanishes when balancers learn their servers' health late.

The random guarded call trees of the policies' property test (outages,
drops, sockets, fan-out, admission policies, timeouts) get random health
checks and outlier ejection on their balancers. On every run: one outcome
per request, phases that add up to each request's age, the rotation level
in line with the servers' states, and no more servers ejected than allowed.
"""

from __future__ import annotations

from typing import Any

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
