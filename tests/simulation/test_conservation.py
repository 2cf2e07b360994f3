"""Nothing vanishes: every generated request ends in exactly one outcome.

Random small scenarios (Hypothesis) with drops, outages, spikes, several
endpoints and every balancing algorithm. The in-flight count reported by the
results is checked against where the requests physically are at the end:
on an edge or inside a server.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.scenario import ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import cpu, deterministic, endpoint, exponential, io, ram, uniform
from asyncflow.simulation import Simulation

ALGORITHMS = [
    "round_robin",
    "random",
    "least_connection",
    "power_of_two_choices",
    "weighted_round_robin",
]
durations = st.one_of(
    st.floats(0.001, 0.05).map(deterministic),
    st.floats(0.001, 0.05).map(exponential),
    st.floats(0.002, 0.05).map(lambda m: uniform(m, m * m / 4)),
)


@st.composite
def small_scenarios(draw: Any) -> Any:
    n_servers = draw(st.integers(1, 3))
    horizon = draw(st.floats(5.0, 30.0))
    builder = (
        ScenarioBuilder("random")
        .workload(
            users=draw(st.integers(2, 60)),
            requests_per_minute=draw(st.floats(30, 600)),
            distribution=draw(st.sampled_from(["poisson", "deterministic", "normal"])),
            sampling_window_s=draw(st.floats(1.0, 20.0)),
        )
        .client()
    )
    ids = [f"srv-{i + 1}" for i in range(n_servers)]
    for sid in ids:
        ram_mb = draw(st.sampled_from([256, 512, 1024]))
        endpoints = []
        for k in range(draw(st.integers(1, 3))):
            steps = [
                draw(st.sampled_from([cpu, io]))(draw(durations))
                for _ in range(draw(st.integers(0, 4)))
            ]
            if draw(st.booleans()):
                steps.insert(
                    draw(st.integers(0, len(steps))), ram(draw(st.sampled_from([64, 128, 256])))
                )
            endpoints.append(endpoint(f"/e{k}", *steps, weight=draw(st.floats(0.1, 3.0))))
        builder.server(sid, cpu_cores=draw(st.integers(1, 3)), ram_mb=ram_mb, endpoints=endpoints)
    if n_servers > 1:
        algorithm = draw(st.sampled_from(ALGORITHMS))
        weights = (
            {s: draw(st.floats(0.5, 3.0)) for s in ids} if algorithm == ALGORITHMS[-1] else None
        )
        builder.load_balancer("lb-1", servers=ids, algorithm=algorithm, weights=weights)
    builder.wire(latency=draw(durations), dropout_rate=draw(st.sampled_from([0.0, 0.0, 0.05])))
    for sid in ids:
        if draw(st.booleans()):
            start = draw(st.floats(0.0, horizon - 1.0))
            builder.outage(sid, start=start, end=draw(st.floats(start + 0.01, horizon)))
    if draw(st.booleans()):
        start = draw(st.floats(0.0, horizon - 1.0))
        builder.spike(
            "rqs-1->client-1", start=start, end=horizon, spike_s=draw(st.floats(0.01, 2.0))
        )
    warm_up = draw(st.sampled_from([0.0, 1.0]))
    builder.settings(horizon_s=horizon, warm_up_s=warm_up)
    data = builder.to_dict()
    if draw(st.booleans()):
        _add_connections(draw, data["topology_graph"]["nodes"])
    if draw(st.booleans()):
        _add_bandwidth(draw, data)
    return parse_scenario(data)


def _add_bandwidth(draw: Any, data: dict[str, Any]) -> None:
    """Bodies on the links into and out of servers, some with a bandwidth."""
    servers = {s["id"] for s in data["topology_graph"]["nodes"]["servers"]}
    for edge in data["topology_graph"]["edges"]:
        if {edge["source"], edge["target"]} & servers and draw(st.booleans()):
            edge["bandwidth_mbps"] = draw(st.sampled_from([1.0, 10.0, 100.0]))
    for server in data["topology_graph"]["nodes"]["servers"]:
        for spec in server["endpoints"]:
            spec["request_kb"] = draw(st.sampled_from([0.0, 4.0, 64.0]))
            spec["response_kb"] = draw(st.sampled_from([0.0, 16.0, 256.0]))


def _add_connections(draw: Any, nodes: dict[str, Any]) -> None:
    """Socket limits, connection memory, pools and TLS, each maybe."""
    pools = st.fixed_dictionaries(
        {
            "keep_alive": st.booleans(),
            "pool_size": st.integers(1, 4),
            "idle_timeout_s": st.floats(0.01, 2.0),
        }
    )
    for server in nodes["servers"]:
        if draw(st.booleans()):
            limit = draw(st.integers(1, 5))
            server["server_resources"].update(
                max_connections=limit,
                listen_backlog=draw(st.integers(0, 5)),
                connection_memory_kb=draw(st.sampled_from([0, 64, 1024])),
            )
        if draw(st.booleans()):
            server["tls"] = {
                "round_trips": draw(st.integers(0, 2)),
                "cpu_s": draw(st.sampled_from([0.0005, 0.002])),
            }
    if draw(st.booleans()):
        nodes["client"]["connection_pool"] = draw(pools)
    if "load_balancer" in nodes:
        if draw(st.booleans()):
            nodes["load_balancer"]["resources"] = {
                "ram_mb": 64,
                "max_connections": draw(st.integers(1, 6)),
                "listen_backlog": draw(st.integers(0, 6)),
                "connection_memory_kb": 1024,
            }
        if draw(st.booleans()):
            nodes["load_balancer"]["connection_pool"] = draw(pools)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=small_scenarios(), seed=st.integers(0, 2**32))
def test_every_request_is_accounted_for(scenario: Any, seed: int) -> None:
    simulation = Simulation(scenario, seed)
    results = simulation.run()
    r = results.requests
    outcome = r.outcome
    completed = int(np.count_nonzero(outcome == 1))
    failed = int(np.count_nonzero(outcome >= 2))
    in_flight = int(np.count_nonzero(outcome == 0))
    assert completed + failed + in_flight == len(r)
    summary = results.summary()["requests"]
    assert summary["completed"] == completed
    assert summary["in_flight"] == in_flight
    assert sum(summary["failed_by_reason"].values()) == summary["failed"] == failed
    # In flight means somewhere in the system at the end: on an edge or in a server.
    on_edges = sum(
        results.level_metrics(e) and simulation.ctx.levels[(e, "in_transit")].value
        for e in results.edge_ids
    )
    in_servers = sum(s.in_progress for s in simulation.servers.values())
    in_backlogs = sum(
        node.listener.backlog_length
        for node in [*simulation.servers.values(), simulation.balancer]
        if node is not None and node.listener is not None
    )
    assert on_edges + in_servers + in_backlogs == in_flight
    # No negative waits: finished requests finish after they are generated.
    done = outcome != 0
    assert np.all(r.finished_s[done] >= r.generated_s[done])
    assert np.all(np.isnan(r.finished_s[~done]))
    assert np.all(r.finished_s[done] <= results.end_s)
    # Completed requests went through a server; levels never go below zero.
    assert np.all(r.server[outcome == 1] >= 0)
    for level in simulation.ctx.levels.values():
        assert level.value >= -1e-9
        assert np.all(level.bin_area >= -1e-9)
    _check_time_is_conserved(simulation, results)


# Each phase against the level whose integral it is (Little's law, exactly):
# the time requests spent in a phase is the area under the matching level.
PHASE_LEVELS = {
    "cpu": ("busy_cores",),
    "cpu_wait": ("ready_queue",),
    "io": ("io_waiting",),
    "ram_wait": ("ram_wait_queue",),
    "connection_wait": ("backlog",),
}


def _check_time_is_conserved(simulation: Simulation, results: Any) -> None:
    """Phases are the time spent, for every request: completed, failed or in flight."""
    r = results.requests
    phases = r.phases()
    for values in phases.values():
        assert np.all(values >= -1e-6)
    ended = np.where(np.isnan(r.finished_s), results.end_s, r.finished_s)
    np.testing.assert_allclose(
        sum(phases.values()), ended - r.generated_s, rtol=1e-5, atol=1e-5
    )
    levels = simulation.ctx.levels

    def area(metric: str) -> float:
        return sum(float(lv.bin_area.sum()) for (_, m), lv in levels.items() if m == metric)

    scale = 1e-5 * max(1.0, len(r) * results.end_s * 1e-3)
    for phase, metrics in PHASE_LEVELS.items():
        spent = float(phases[phase].sum(dtype=np.float64))
        assert spent == pytest.approx(sum(area(m) for m in metrics), rel=1e-5, abs=scale), phase
    on_links = float((phases["network"] + phases["handshake"]).sum(dtype=np.float64))
    assert on_links == pytest.approx(area("in_transit"), rel=1e-5, abs=scale)
