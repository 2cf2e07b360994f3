"""Nothing vanishes under admission policies, and every second is accounted for.

The random call trees of the call-graph property test (outages, drops,
sockets, bodies, fan-out with cancellation) get random rate limits,
concurrency limits, bulkheads and admission queues on their servers and
balancer. On every run: one outcome per request, phases that add up to each
request's age, and, per phase, the time spent equal to the area under the
level that counts it, the admission queues' wait included in
``connection_wait`` (Little's law, exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.metrics.phases import CONNECTION_WAIT, CPU, CPU_WAIT, IO, RAM_WAIT
from asyncflow.results import Results
from asyncflow.scenario import Scenario, parse_scenario
from asyncflow.scenario.builder import admission_queue, concurrency_limit, rate_limit
from asyncflow.scenario.policies import _called_by
from asyncflow.simulation import Simulation
from tests.calls.test_call_conservation import call_trees


@st.composite
def guarded_trees(draw: Any) -> Scenario:
    scenario: Scenario = draw(call_trees())
    nodes = scenario.topology_graph.nodes
    servers = [s.id for s in nodes.servers]
    policies: list[dict[str, Any]] = []
    for sid in servers:
        if draw(st.booleans()):
            queue = None
            if draw(st.booleans()):
                discipline = draw(st.sampled_from(["fifo", "lifo", "codel"]))
                queue = admission_queue(draw(st.integers(0, 4)), discipline)
            endpoint = "/e" if draw(st.booleans()) else None
            cap = concurrency_limit(sid, draw(st.integers(1, 3)), endpoint=endpoint, queue=queue)
            if draw(st.integers(0, 2)) == 0:
                algorithm = draw(st.sampled_from(["aimd", "gradient"]))
                cap["adaptive"] = {"algorithm": algorithm, "maximum": 5}
                if algorithm == "aimd":
                    cap["adaptive"]["target_s"] = draw(st.floats(0.01, 0.2))
            policies.append(cap)
        if draw(st.integers(0, 2)) == 0:
            policies.append(
                rate_limit(sid, draw(st.floats(1.0, 50.0)), burst=draw(st.integers(1, 5)))
            )
    for balancer in nodes.balancers:
        if draw(st.booleans()):
            policies.append(rate_limit(balancer.id, draw(st.floats(1.0, 50.0))))
    policies += draw(_timeouts(scenario))
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["policies"] = policies
    return parse_scenario(data)


@st.composite
def _timeouts(draw: Any, scenario: Scenario) -> list[dict[str, Any]]:
    """A client timeout (maybe cancelling); timeouts and bulkheads on some servers' calls."""
    found: list[dict[str, Any]] = []
    if draw(st.booleans()):
        found.append(
            {
                "type": "timeout",
                "target": scenario.workload_list[0].id,
                "timeout_s": draw(st.floats(0.005, 0.5)),
                "cancel": draw(st.booleans()),
                "propagate_deadline": draw(st.booleans()),
            }
        )
    for server in scenario.topology_graph.nodes.servers:
        for target in sorted(_called_by(server)):
            if draw(st.integers(0, 3)) == 0:
                found.append(concurrency_limit(server.id, draw(st.integers(1, 3)), calls_to=target))
            if draw(st.integers(0, 2)) == 0:
                found.append(
                    {
                        "type": "timeout",
                        "target": server.id,
                        "calls_to": target,
                        "timeout_s": draw(st.floats(0.002, 0.3)),
                        "propagate_deadline": draw(st.booleans()),
                    }
                )
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=guarded_trees(), seed=st.integers(0, 2**32))
def test_guarded_call_trees_account_for_every_request_and_second(
    scenario: Scenario, seed: int
) -> None:
    assert_accounted(Simulation(scenario, seed, record_calls=True))


def assert_accounted(simulation: Simulation) -> Results:
    """Run ``simulation``; check every request ends once and every second is counted.

    One outcome per request, phases that add up to each request's age, and
    per phase the time calls spent in servers equal to the area under the
    level that counts it. Returns the results for further checks.
    """
    results = simulation.run()
    r = results.requests
    counts = results.summary()["requests"]
    assert counts["completed"] + counts["failed"] + counts["in_flight"] == len(r)
    assert counts["failed"] == int(np.count_nonzero(r.outcome >= 2))
    ended = np.where(np.isnan(r.finished_s), results.end_s, r.finished_s)
    np.testing.assert_allclose(
        sum(r.phases().values()), ended - r.generated_s, rtol=1e-5, atol=1e-5
    )
    calls = results.calls
    assert calls is not None
    own = calls.slots.astype(np.float64).sum(axis=0)
    levels = simulation.ctx.levels

    def area(*metrics: str) -> float:
        return sum(
            float(lv.bin_area.sum())
            for (_, m), lv in levels.items()
            if m in metrics or m.split(":")[0] in metrics
        )

    scale = 1e-5 * max(1.0, len(calls) * results.end_s * 1e-3)
    pairs = {
        ("busy_cores",): own[CPU],
        ("ready_queue",): own[CPU_WAIT],
        ("io_waiting",): own[IO],
        ("ram_wait_queue",): own[RAM_WAIT],
        ("backlog", "admission_queue"): own[CONNECTION_WAIT],
    }
    for metrics, spent in pairs.items():
        assert spent == pytest.approx(area(*metrics), rel=1e-5, abs=scale), metrics
    return results
