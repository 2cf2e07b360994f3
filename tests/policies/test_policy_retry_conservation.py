"""Nothing vanishes under retries and circuit breakers, and every second is accounted for.

The random guarded call trees of ``test_policy_conservation`` (outages,
drops, sockets, fan-out with cancellation, limits, queues, timeouts) get
random retries at the client and at call sites and random circuit breakers.
On every run: one outcome per request, phases (backoff and failed attempts
included) that add up to each request's age, and per phase the time spent
in servers equal to the area under the level that counts it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.scenario import Scenario, parse_scenario
from asyncflow.scenario.builder import backoff, circuit_breaker, retry
from asyncflow.scenario.policies import _called_by
from asyncflow.simulation import Simulation
from tests.policies.test_policy_conservation import assert_accounted, guarded_trees

REASONS = ["shed", "rate_limited", "connection_refused", "server_down", "network_drop"]


def _reasons(draw: Any, timed: bool) -> list[str]:
    reasons = draw(st.lists(st.sampled_from(REASONS), min_size=1, max_size=3, unique=True))
    if timed and draw(st.booleans()):
        reasons.append("timeout")
    if draw(st.booleans()):
        reasons.append("circuit_open")
    return list(reasons)


def _backoff(draw: Any) -> dict[str, Any]:
    jitter = draw(st.sampled_from(["none", "full", "equal", "decorrelated"]))
    return backoff(draw(st.floats(0.0, 0.05)), 0.2, jitter=jitter)


@st.composite
def retried_trees(draw: Any) -> Scenario:
    scenario: Scenario = draw(guarded_trees())
    policies = [p.model_dump(mode="json", exclude_defaults=True) for p in scenario.policies]
    timed = {(p["target"], p.get("calls_to")) for p in policies if p["type"] == "timeout"}
    workload = scenario.workload_list[0].id
    if draw(st.booleans()):
        reasons = _reasons(draw, (workload, None) in timed)
        budget = draw(st.sampled_from([None, 0.1, 1.0]))
        policies.append(
            retry(
                workload,
                max_attempts=draw(st.integers(1, 4)),
                retry_on=reasons,
                backoff=_backoff(draw),
                budget_ratio=budget,
                budget_min_per_s=draw(st.floats(0.0, 5.0)),
            )
        )
    for server in scenario.topology_graph.nodes.servers:
        for target in sorted(_called_by(server)):
            if draw(st.integers(0, 2)) == 0:
                reasons = _reasons(draw, (server.id, target) in timed)
                policies.append(
                    retry(
                        server.id,
                        calls_to=target,
                        max_attempts=draw(st.integers(2, 4)),
                        retry_on=reasons,
                        backoff=_backoff(draw),
                    )
                )
            if draw(st.integers(0, 2)) == 0:
                policies.append(
                    circuit_breaker(
                        server.id,
                        target,
                        failure_ratio=draw(st.floats(0.1, 1.0)),
                        window_s=draw(st.floats(0.05, 2.0)),
                        minimum_calls=draw(st.integers(1, 5)),
                        open_s=draw(st.floats(0.01, 0.5)),
                        probes=draw(st.integers(1, 3)),
                    )
                )
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    data["policies"] = policies
    return parse_scenario(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=retried_trees(), seed=st.integers(0, 2**32))
def test_retried_call_trees_account_for_every_request_and_second(
    scenario: Scenario, seed: int
) -> None:
    r = assert_accounted(Simulation(scenario, seed, record_calls=True)).requests
    assert np.all(r.phase("backoff") >= 0.0)
    assert np.all(r.phase("failed_attempt") >= -1e-6)


def test_a_failure_noticed_after_the_horizon_is_not_a_negative_backoff() -> None:
    """A call tree whose client learns of a refusal ahead of time, after the end.

    Its retry's backoff began after the horizon: the failed attempt was
    counted to the refusal's arrival and the backoff came out negative (a
    case found by the property test above). The failed attempt now ends at
    the horizon and no backoff is counted.
    """
    data = json.loads((Path(__file__).parent / "data" / "retry_after_horizon.json").read_text())
    r = assert_accounted(Simulation(parse_scenario(data), 0, record_calls=True)).requests
    assert np.all(r.phase("backoff") >= 0.0)
    cut = np.isnan(r.finished_s) & (r.phase("failed_attempt") > 0)
    assert np.count_nonzero(cut) > 0  # some requests had failed and were in flight at the end
