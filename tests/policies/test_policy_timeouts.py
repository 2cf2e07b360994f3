"""Timeouts and deadlines: when callers give up, what servers skip, what is wasted."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import call, cpu, deterministic, endpoint, exponential, io
from asyncflow.simulation import Simulation

from .conftest import guarded_data


def _chain(
    policies: list[dict[str, Any]], *, rate: float = 20.0, db_io_s: float = 0.2, drop: float = 0.0
) -> Scenario:
    """``api`` (CPU, then a call to ``db``): requests at ``rate`` per second for 60 s.

    ``drop``: the drop probability of the client's edges to and from ``api``.
    """
    data = (
        ScenarioBuilder("chain")
        .workload(users=rate, requests_per_minute=60, distribution="deterministic", id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(0.001), call("db"), cpu(0.002))])
        .server("db", cpu_cores=2, endpoints=[endpoint("/q", cpu(0.004), io(exponential(db_io_s)))])
        .wire(latency=deterministic(0.001))
        .settings(horizon_s=60)
        .policy(*policies)
        .to_dict()
    )
    for edge in data["topology_graph"]["edges"]:
        if {edge["source"], edge["target"]} == {"client-1", "api"}:
            edge["dropout_rate"] = drop
    return parse_scenario(data)


def _reasons(results: asyncflow.Results) -> dict[str, int]:
    r = results.requests
    values, counts = np.unique(r.outcome, return_counts=True)
    return {r.reason_names[v]: int(c) for v, c in zip(values, counts, strict=True)}


CLIENT = {"type": "timeout", "target": "web", "timeout_s": 0.1}
CALLS = {"type": "timeout", "target": "api", "calls_to": "db", "timeout_s": 0.1}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            {**CLIENT, "target": "wbe"},
            "policies[0].target: unknown workload or server (did you mean 'web'?) (got 'wbe')",
        ),
        (
            {**CLIENT, "calls_to": "db"},
            "policies[0].calls_to: only with a server target (a workload's timeout is its "
            "client's) (got 'db')",
        ),
        (
            {**CALLS, "calls_to": None},
            "policies[0].calls_to: required with a server target: the node whose calls time out",
        ),
        ({**CALLS, "calls_to": "api"}, "policies[0].calls_to: 'api' makes no calls to 'api'"),
        (
            {**CALLS, "cancel": False},
            "policies[0].cancel: a call timeout always cancels its call (its caller closes the "
            "connection) (got False)",
        ),
        ({**CLIENT, "timeout_s": 0}, "policies[0].timeout_s: must be > 0 (got 0)"),
        ({**CLIENT, "cancel": "yes"}, "policies[0].cancel: must be true or false (got 'yes')"),
        (
            {**CLIENT, "target": "client-1"},
            "policies[0].target: a timeout needs a workload or a server, 'client-1' is the "
            "client (got 'client-1')",
        ),
    ],
)
def test_bad_timeouts_are_named(policy: dict[str, Any], expected: str) -> None:
    data = _chain([]).model_dump(mode="json", exclude_defaults=True)
    data["policies"] = [{k: v for k, v in policy.items() if v is not None}]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == [expected]


def test_a_client_timeout_ends_slow_requests_at_exactly_the_timeout() -> None:
    results = asyncflow.run(_chain([CLIENT]), seed=1)
    r = results.requests
    timed_out = r.outcome == r.reason_names.index("timeout")
    assert np.count_nonzero(timed_out) > 100
    latency = (r.finished_s - r.generated_s)[timed_out]
    np.testing.assert_allclose(latency, 0.1, rtol=1e-9)
    np.testing.assert_allclose(sum(r.phases().values())[timed_out], 0.1, rtol=1e-5)
    completed = r.outcome == 1
    assert float((r.finished_s - r.generated_s)[completed].max()) <= 0.1


def test_drops_are_noticed_when_the_timeout_fires_not_at_once() -> None:
    without = _reasons(asyncflow.run(_chain([], drop=0.05, db_io_s=0.001), seed=2))
    results = asyncflow.run(
        _chain([{**CLIENT, "timeout_s": 2.0}], drop=0.05, db_io_s=0.001), seed=2
    )
    assert without["network_drop"] > 100
    reasons = _reasons(results)
    assert "network_drop" not in reasons
    r = results.requests
    timed_out = r.outcome == r.reason_names.index("timeout")
    assert (
        abs(int(np.count_nonzero(timed_out)) - without["network_drop"])
        < 0.2 * without["network_drop"]
    )
    np.testing.assert_allclose((r.finished_s - r.generated_s)[timed_out], 2.0, rtol=1e-9)
    assert float(r.phases()["network"][timed_out].min()) > 1.9  # the wait for a lost packet


def test_a_call_timeout_fails_the_caller_and_cancels_the_call() -> None:
    simulation = Simulation(_chain([CALLS]), 3)
    results = simulation.run()
    r = results.requests
    timed_out = r.outcome == r.reason_names.index("timeout")
    assert np.count_nonzero(timed_out) > 100
    assert set(np.asarray(results.places)[r.failed_at[timed_out]]) == {"api"}
    assert simulation.servers["db"].cancelled > 100  # withdrawn from their I/O
    latency = (r.finished_s - r.generated_s)[timed_out]
    assert float(latency.min()) > 0.1  # the timeout, then api's error back to the client
    np.testing.assert_allclose(sum(r.phases().values())[timed_out], latency, rtol=1e-5)


def test_servers_skip_work_whose_deadline_passed() -> None:
    """A queue at the slow db: calls that reach it after the request's deadline are skipped."""
    heavy = [{"type": "timeout", "target": "web", "timeout_s": 0.05}]
    cpu_bound = (
        ScenarioBuilder("queue")
        .workload(users=60.0, requests_per_minute=60, distribution="deterministic", id="web")
        .client()
        .server("api", endpoints=[endpoint("/a", cpu(exponential(0.02)), call("db"))])
        .server("db", endpoints=[endpoint("/q", cpu(0.001))])
        .wire(latency=deterministic(0.001))
        .settings(horizon_s=60)
    )
    late: dict[bool, int] = {}
    for propagate in (True, False):
        policy = {**heavy[0], "propagate_deadline": propagate}
        scenario = parse_scenario({**cpu_bound.to_dict(), "policies": [policy]})
        simulation = Simulation(scenario, 4)
        simulation.run()
        admission = simulation.servers["db"].admission
        assert admission is not None
        late[propagate] = admission.late
    assert late[True] > 100
    assert late[False] == 0


def test_work_for_requests_given_up_on_is_wasted_unless_cancelled() -> None:
    wasted = {}
    for cancel in (False, True):
        simulation = Simulation(_chain([{**CLIENT, "cancel": cancel}], rate=40.0), 5)
        simulation.run()
        timeouts = simulation.runtime.timeouts
        assert timeouts is not None
        wasted[cancel] = sum(timeouts.wasted_cpu_s)
    assert wasted[False] > 0.5
    assert wasted[True] < 0.2 * wasted[False]


def test_requests_keep_one_outcome_when_late_answers_arrive() -> None:
    results = asyncflow.run(_chain([CLIENT], rate=40.0), seed=6)
    summary = results.summary()["requests"]
    assert summary["completed"] + summary["failed"] + summary["in_flight"] == summary["generated"]
    assert summary["failed_by_reason"]["timeout"] > 0


def test_timeouts_need_no_edges_of_their_own() -> None:
    data = guarded_data([{"type": "timeout", "target": "batch", "timeout_s": 0.01}])
    assert parse_scenario(data).policies[0].target == "batch"
