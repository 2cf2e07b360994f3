"""Nothing vanishes in call trees, and every second is accounted for.

Random call graphs (Hypothesis): servers in layers, each endpoint calling
servers or a balancer of later layers, with parallel steps (all, first, k),
branches, outages, drops and socket limits. Checked on every run:

* every request ends in one outcome: generated = completed + failed + in flight;
* every request's phases add up to its age (latency, or time until it failed
  or the run ended);
* per phase, over every call (the call table's own phases), the time spent
  equals the area under the level that counts it (Little's law, exactly):
  CPU and busy cores, core waits and ready queues, I/O and requests in I/O,
  RAM waits and RAM queues, backlog waits and backlogs, network time
  (handshakes included) and requests in transit on the edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncflow.metrics.phases import (
    CONNECTION_WAIT,
    CPU,
    CPU_WAIT,
    HANDSHAKE,
    HOP_SLOTS,
    IO,
    RAM_WAIT,
)
from asyncflow.scenario import ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import (
    branch,
    call,
    cpu,
    deterministic,
    endpoint,
    exponential,
    io,
    parallel,
    ram,
)
from asyncflow.simulation import Simulation

durations = st.one_of(
    st.floats(0.001, 0.05).map(deterministic), st.floats(0.001, 0.05).map(exponential)
)


@st.composite
def call_trees(draw: Any) -> Any:
    layers = [["s0"], [f"s1-{i}" for i in range(draw(st.integers(1, 3)))], ["s2"]]
    builder = (
        ScenarioBuilder("tree")
        .workload(
            users=draw(st.integers(2, 30)),
            requests_per_minute=draw(st.floats(30, 300)),
            target="s0",
        )
        .client()
    )
    balanced = len(layers[1]) > 1 and draw(st.booleans())
    if balanced:
        algorithm = draw(st.sampled_from(["round_robin", "random", "least_connection"]))
        builder.load_balancer("lb-1", servers=layers[1], algorithm=algorithm)
    mid = ["lb-1"] if balanced else layers[1]
    for depth, ids in enumerate(layers):
        below = mid if depth == 0 else (layers[2] if depth == 1 else [])
        for sid in ids:
            steps = _steps(draw, below)
            builder.server(
                sid,
                cpu_cores=draw(st.integers(1, 2)),
                ram_mb=512,
                endpoints=[endpoint("/e", *steps)],
                **_limits(draw),
            )
    builder.wire(latency=draw(durations), dropout_rate=draw(st.sampled_from([0.0, 0.0, 0.02])))
    horizon = draw(st.floats(5.0, 20.0))
    for sid in [s for layer in layers for s in layer]:
        if draw(st.integers(0, 3)) == 0:
            start = draw(st.floats(0.0, horizon - 1.0))
            builder.outage(sid, start=start, end=draw(st.floats(start + 0.01, horizon)))
    data = builder.settings(horizon_s=horizon).to_dict()
    if draw(st.booleans()):
        _bodies(draw, data)
    if draw(st.booleans()):
        data["topology_graph"]["nodes"]["client"]["connection_pool"] = {
            "keep_alive": True,
            "pool_size": draw(st.integers(1, 3)),
            "idle_timeout_s": draw(st.floats(0.05, 2.0)),
        }
    return parse_scenario(data)


def _bodies(draw: Any, data: dict[str, Any]) -> None:
    """Request and response bodies, and a bandwidth on some edges that carry them."""
    servers = {s["id"] for s in data["topology_graph"]["nodes"]["servers"]}
    for edge in data["topology_graph"]["edges"]:
        if {edge["source"], edge["target"]} & servers and draw(st.booleans()):
            edge["bandwidth_mbps"] = draw(st.sampled_from([1.0, 10.0]))
    for server in data["topology_graph"]["nodes"]["servers"]:
        for spec in server["endpoints"]:
            spec["request_kb"] = draw(st.sampled_from([0.0, 16.0]))
            spec["response_kb"] = draw(st.sampled_from([0.0, 64.0]))


def _limits(draw: Any) -> dict[str, Any]:
    if not draw(st.booleans()):
        return {}
    return {
        "max_connections": draw(st.integers(1, 4)),
        "listen_backlog": draw(st.integers(0, 4)),
        "connection_memory_kb": draw(st.sampled_from([0, 64])),
    }


def _steps(draw: Any, below: list[str]) -> list[dict[str, Any]]:
    # Every node below is called somewhere (in a branch maybe), so every server is reached.
    steps: list[dict[str, Any]] = [call(target) for target in below]
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(["cpu", "io", "call", "parallel", "branch", "ram"]))
        if choice in ("call", "parallel", "branch") and not below:
            choice = "cpu"
        if choice == "cpu":
            steps.append(cpu(draw(durations)))
        elif choice == "io":
            steps.append(io(draw(durations)))
        elif choice == "ram":
            steps.insert(0, ram(draw(st.sampled_from([32, 128]))))
        elif choice == "call":
            steps.append(call(draw(st.sampled_from(below))))
        elif choice == "parallel":
            targets = draw(st.lists(st.sampled_from(below), min_size=1, max_size=3))
            wait = draw(st.sampled_from(["all", "first", *range(1, len(targets) + 1)]))
            steps.append(parallel(*targets, wait=wait))
        else:
            arm = [call(draw(st.sampled_from(below)))] if draw(st.booleans()) else []
            steps.append(branch((0.5, arm), (0.5, [io(draw(durations))])))
    return steps


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=call_trees(), seed=st.integers(0, 2**32))
def test_call_trees_account_for_every_request_and_second(scenario: Any, seed: int) -> None:
    simulation = Simulation(scenario, seed, record_calls=True)
    results = simulation.run()
    r = results.requests
    completed = int(np.count_nonzero(r.outcome == 1))
    failed = int(np.count_nonzero(r.outcome >= 2))
    in_flight = int(np.count_nonzero(r.outcome == 0))
    assert completed + failed + in_flight == len(r)
    counts = results.summary()["requests"]
    assert (counts["completed"], counts["failed"], counts["in_flight"]) == (
        completed,
        failed,
        in_flight,
    )
    ended = np.where(np.isnan(r.finished_s), results.end_s, r.finished_s)
    np.testing.assert_allclose(
        sum(r.phases().values()), ended - r.generated_s, rtol=1e-5, atol=1e-5
    )
    _check_little(simulation, results)


def _check_little(simulation: Simulation, results: Any) -> None:
    calls = results.calls
    assert calls is not None
    own = calls.slots.astype(np.float64).sum(axis=0)
    levels = simulation.ctx.levels

    def area(metric: str) -> float:
        return sum(float(lv.bin_area.sum()) for (_, m), lv in levels.items() if m == metric)

    scale = 1e-5 * max(1.0, len(calls) * results.end_s * 1e-3)
    pairs = {
        "busy_cores": own[CPU],
        "ready_queue": own[CPU_WAIT],
        "io_waiting": own[IO],
        "ram_wait_queue": own[RAM_WAIT],
        "backlog": own[CONNECTION_WAIT],
        "in_transit": own[list(HOP_SLOTS)].sum() + own[HANDSHAKE],
    }
    for metric, spent in pairs.items():
        assert spent == pytest.approx(area(metric), rel=1e-5, abs=scale), metric
