"""Failures are replies, noticed when they would be: errors cross the network back."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import call, cpu, deterministic, endpoint, io

HOP_S = 0.001
REPLY_S = 0.004  # the edges back to the caller are slower, to tell them apart


def _api_calling(target_down: bool, *, behind_balancer: bool) -> asyncflow.Results:
    target = "lb-back" if behind_balancer else "back"
    builder = (
        ScenarioBuilder("notices")
        .workload(users=10, requests_per_minute=60, distribution="deterministic", target="api")
        .client()
        .server("api", endpoints=[endpoint("/page", cpu(0.001), call(target, "/data"))])
        .server("back", endpoints=[endpoint("/data", io(0.01))])
    )
    if behind_balancer:
        builder.load_balancer("lb-back", servers=["back"])
    builder.wire(latency=deterministic(HOP_S))
    data = builder.settings(horizon_s=30, seed=4).to_dict()
    for edge in data["topology_graph"]["edges"]:
        if edge["source"] == "back":
            edge["latency"] = {"mean": REPLY_S, "distribution": "deterministic"}
    if target_down:
        data["events"] = [
            {
                "event_id": "down",
                "target_id": "back",
                "start": {"kind": "server_down", "t_start": 0.0},
                "end": {"kind": "server_up", "t_end": 30.0},
            }
        ]
    return asyncflow.run(data, record_calls=True)


def _failed_call_durations(results: asyncflow.Results) -> np.ndarray:
    calls = results.calls
    assert calls is not None
    made = (calls.parent >= 0) & (calls.outcome >= 2)
    return np.asarray(calls.end_s[made] - calls.start_s[made])


def test_a_call_to_a_down_server_fails_when_the_error_is_back() -> None:
    results = _api_calling(True, behind_balancer=False)
    durations = _failed_call_durations(results)
    assert durations.size > 200
    # out to the server (1 ms), the broken connection back over its reply edge (4 ms)
    np.testing.assert_allclose(durations, HOP_S + REPLY_S, rtol=1e-9)
    r = results.requests
    failed = r.outcome >= 2
    assert np.all(failed[r.generated_s < 29])
    # the request: generator hop, out to the API, 1 ms CPU, the call, the API's error back
    latency = r.finished_s[failed] - r.generated_s[failed]
    expected = HOP_S + HOP_S + 0.001 + HOP_S + REPLY_S + HOP_S
    np.testing.assert_allclose(latency - r.cpu_wait_s[failed], expected, rtol=1e-5)
    total = sum(r.phases().values())[failed]
    np.testing.assert_allclose(total, latency, rtol=1e-5)


def test_a_balancer_with_no_server_up_answers_back_over_the_edge_the_call_came_on() -> None:
    results = _api_calling(True, behind_balancer=True)
    durations = _failed_call_durations(results)
    assert durations.size > 200
    # to the balancer (1 ms), and its 503 back over the same edge's latency (1 ms)
    np.testing.assert_allclose(durations, 2 * HOP_S, rtol=1e-9)


def test_answers_take_the_reply_edge_too() -> None:
    results = _api_calling(False, behind_balancer=False)
    calls = results.calls
    assert calls is not None
    done = (calls.parent >= 0) & (calls.outcome == 1)
    durations = calls.end_s[done] - calls.start_s[done]
    np.testing.assert_allclose(durations, HOP_S + 0.01 + REPLY_S, rtol=1e-9)


def test_a_refused_connection_is_noticed_after_the_reset_crosses_back() -> None:
    builder = (
        ScenarioBuilder("refused")
        .workload(users=200, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("srv-1", endpoints=[endpoint("/a", io(0.5))], max_connections=5)
        .wire(latency=deterministic(HOP_S))
    )
    results = asyncflow.run(builder.settings(horizon_s=20, seed=1).build())
    r = results.requests
    refused = r.outcome == r.reason_names.index("connection_refused")
    assert np.count_nonzero(refused) > 1000
    latency = r.finished_s[refused] - r.generated_s[refused]
    # workload to client, client to server, the reset back to the client
    np.testing.assert_allclose(latency, 3 * HOP_S, rtol=1e-9)
    assert r.phases()["network"][refused] == pytest.approx(3 * HOP_S, rel=1e-5)
