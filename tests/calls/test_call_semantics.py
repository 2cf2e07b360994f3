"""Calls between servers: answers, failures as replies, cancellation, records."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import branch, call, cpu, deterministic, endpoint, io, parallel

from .conftest import api_and_backends


def _ages(results: asyncflow.Results) -> np.ndarray:
    r = results.requests
    return np.where(np.isnan(r.finished_s), results.end_s, r.finished_s) - r.generated_s


def test_phases_add_up_to_the_age_of_every_request_with_calls() -> None:
    results = asyncflow.run(api_and_backends(outage=(20, 25)), record_calls=True)
    r = results.requests
    assert np.count_nonzero(r.outcome >= 2) > 0  # the outage failed some
    total = sum(r.phases().values())
    np.testing.assert_allclose(total, _ages(results), rtol=1e-5, atol=1e-6)
    # The network of the calls waited for is part of it, on the critical path.
    done = r.outcome == 1
    assert np.all(r.call_network_s[done] > 0)
    calls = results.calls
    assert calls is not None
    ended = ~np.isnan(calls.end_s)
    own = calls.slots[ended].sum(axis=1, dtype=np.float64)
    # A call's own phases and the wait for its calls fill its duration.
    assert np.all(own <= (calls.end_s - calls.start_s)[ended] + 1e-5)


def test_a_request_s_one_outcome_and_the_failure_place() -> None:
    results = asyncflow.run(api_and_backends(outage=(20, 25)))
    r = results.requests
    failed = r.outcome >= 2
    reasons = {r.reason_names[c] for c in r.outcome[failed].tolist()}
    assert reasons == {"server_down"}
    assert {results.places[i] for i in r.failed_at[failed].tolist()} == {"back-1"}
    assert np.all(r.failed_at[~failed] == -1)
    summary = results.summary()
    counts = summary["requests"]
    assert counts["generated"] == counts["completed"] + counts["failed"] + counts["in_flight"]
    api = summary["servers"]["api"]["calls"]
    assert api["failed"] == counts["failed"]  # each failed at the API, which answered an error
    assert summary["servers"]["back-1"]["calls"]["failed"] == counts["failed"]


def test_an_error_answer_travels_back_over_the_network() -> None:
    """The backend dies; the API answers the client with an error over its edge."""
    results = asyncflow.run(api_and_backends(outage=(20, 25)), record_calls=True)
    calls = results.calls
    assert calls is not None
    names = calls.reason_names
    down = names.index("server_down")
    roots = calls.parent < 0
    failed_roots = np.flatnonzero(roots & (calls.outcome == down))
    assert failed_roots.size > 0
    for row in failed_roots.tolist():
        child = np.flatnonzero(calls.parent == row)
        assert child.size == 1
        (kid,) = child.tolist()
        # The child failed at the crash; the request ends later, when the error arrives.
        assert calls.outcome[kid] == down
        assert calls.end_s[row] > calls.end_s[kid]


def test_wait_first_cancels_the_other_calls_and_records_it() -> None:
    steps = (parallel("back-1", "back-2", wait="first"),)
    scenario = (
        ScenarioBuilder("first")
        .workload(users=10, requests_per_minute=60, distribution="deterministic", target="api")
        .client()
        .server("api", endpoints=[endpoint("/page", *steps)])
        .server("back-1", endpoints=[endpoint("/data", io(deterministic(0.01)))])
        .server("back-2", endpoints=[endpoint("/data", io(deterministic(0.02)))])
        .wire(latency=0.001)
        .settings(horizon_s=30, seed=2)
        .build()
    )
    results = asyncflow.run(scenario, record_calls=True)
    summary = results.summary()
    slow = summary["servers"]["back-2"]["calls"]
    assert slow["cancelled"] > 0.9 * summary["requests"]["generated"]
    assert summary["servers"]["back-1"]["calls"]["cancelled"] == 0
    done = results.requests.outcome == 1
    # The answer of the fast one: 1 ms out, 10 ms of I/O, 1 ms back, 1 ms to the client...
    np.testing.assert_allclose(results.requests.io_s[done], 0.01, rtol=1e-6)
    calls = results.calls
    assert calls is not None
    cancelled = calls.outcome == calls.reason_names.index("cancelled")
    assert np.all(calls.server[cancelled] == results.server_ids.index("back-2"))


def test_wait_k_fails_only_when_too_many_calls_fail() -> None:
    steps = (parallel("back-1", "back-2", "back-3", wait=2),)
    builder = (
        ScenarioBuilder("k")
        .workload(users=10, requests_per_minute=60, distribution="deterministic", target="api")
        .client()
        .server("api", endpoints=[endpoint("/page", *steps)])
    )
    for sid in ("back-1", "back-2", "back-3"):
        builder.server(sid, endpoints=[endpoint("/data", io(deterministic(0.05)))])
    scenario = (
        builder.wire(latency=0.001).outage("back-1", start=0, end=30).settings(30, seed=1).build()
    )
    summary = asyncflow.run(scenario).summary()
    # One of three is down all along: two answers still arrive, every request completes.
    assert summary["requests"]["failed"] == 0
    assert summary["requests"]["completed"] > 250


def test_branches_follow_their_probabilities() -> None:
    steps = (branch((0.25, [io(deterministic(1.0))]), (0.75, [io(deterministic(3.0))])),)
    scenario = (
        ScenarioBuilder("branch")
        .workload(users=20, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("srv-1", endpoints=[endpoint("/x", *steps)])
        .wire(latency=1e-6)
        .settings(horizon_s=200, seed=3)
        .build()
    )
    requests = asyncflow.run(scenario).requests
    io_s = requests.io_s
    done = requests.outcome == 1
    share = float(np.mean(np.isclose(io_s[done], 1.0)))
    assert set(np.round(io_s[done], 6).tolist()) == {1.0, 3.0}
    # Binomial: n ~ 3900 draws, SE of the share ~ 0.007; 4.5 SE
    n = int(np.count_nonzero(done))
    assert abs(share - 0.25) <= 4.5 * np.sqrt(0.25 * 0.75 / n)


def test_two_workloads_are_reported_apart() -> None:
    scenario = (
        ScenarioBuilder("two")
        .workload(users=10, requests_per_minute=60, id="reads", target="lb-1", endpoint="/read")
        .workload(users=5, requests_per_minute=60, id="writes", target="lb-1", endpoint="/write")
        .client()
        .server("srv-1", endpoints=[endpoint("/read", io(0.01)), endpoint("/write", io(0.05))])
        .server("srv-2", endpoints=[endpoint("/read", io(0.01)), endpoint("/write", io(0.05))])
        .load_balancer("lb-1", servers=["srv-1", "srv-2"])
        .wire(latency=0.001)
        .settings(horizon_s=60, seed=4)
        .build()
    )
    summary = asyncflow.run(scenario).summary()
    reads, writes = summary["workloads"]["reads"], summary["workloads"]["writes"]
    assert reads["requests"]["generated"] + writes["requests"]["generated"] == (
        summary["requests"]["generated"]
    )
    # Four 1 ms hops (workload, client, balancer, reply) and the endpoint's I/O.
    assert reads["latency_s"]["mean"] == pytest.approx(0.014, rel=1e-6)
    assert writes["latency_s"]["mean"] == pytest.approx(0.054, rel=1e-6)
    endpoints = summary["endpoints"]["srv-1"]
    assert endpoints["/read"]["completed"] > endpoints["/write"]["completed"] > 0


def test_per_node_figures_count_calls_served() -> None:
    summary = asyncflow.run(api_and_backends(users=40, horizon_s=120)).summary()
    api, b1, b2 = (summary["servers"][s] for s in ("api", "back-1", "back-2"))
    assert b1["completed"] + b2["completed"] == api["completed"]
    assert api["calls_s_mean"] > 0.007  # waiting for the backend: ~2 ms CPU + 5 ms I/O + hops
    assert "calls_s_mean" not in b1
    assert b1["cpu_s_mean"] == pytest.approx(0.002, rel=0.1)
    data = summary["endpoints"]["back-1"]["/data"]
    assert data["completed"] == b1["completed"]
    assert data["latency_s"]["p50"] < data["latency_s"]["p99"]


def test_the_critical_path_names_the_slow_dependency() -> None:
    steps = (parallel(("fast", "/x"), ("slow", "/x")),)
    scenario = (
        ScenarioBuilder("crit")
        .workload(users=20, requests_per_minute=60, distribution="deterministic", target="api")
        .client()
        .server("api", endpoints=[endpoint("/page", cpu(0.001), *steps)])
        .server("fast", endpoints=[endpoint("/x", io(deterministic(0.002)))])
        .server("slow", endpoints=[endpoint("/x", io(deterministic(0.050)))])
        .wire(latency=0.0005)
        .settings(horizon_s=60, seed=5)
        .build()
    )
    results = asyncflow.run(scenario)
    bottleneck = results.summary()["bottleneck"]
    assert (bottleneck["node"], bottleneck["phase"]) == ("slow", "io")
    crit = results.critical
    assert set(crit.server.tolist()) == {results.server_ids.index("slow")}
    # The request's I/O is the slow call's, not the sum of both.
    done = results.requests.outcome == 1
    np.testing.assert_allclose(results.requests.io_s[done], 0.05, rtol=1e-6)


def test_same_seed_same_call_tree_results() -> None:
    a = asyncflow.run(api_and_backends(outage=(20, 25)), record_calls=True)
    b = asyncflow.run(api_and_backends(outage=(20, 25)), record_calls=True)
    for field in ("generated_s", "finished_s", "outcome", "slots"):
        left, right = getattr(a.requests, field), getattr(b.requests, field)
        assert np.array_equal(left, right, equal_nan=True)
    assert a.calls is not None
    assert b.calls is not None
    assert np.array_equal(a.calls.end_s, b.calls.end_s, equal_nan=True)


def test_a_call_to_a_named_endpoint_runs_it() -> None:
    scenario = (
        ScenarioBuilder("named")
        .workload(users=5, requests_per_minute=60, target="api")
        .client()
        .server("api", endpoints=[endpoint("/p", call("db", "/write"))])
        .server("db", endpoints=[endpoint("/read", io(0.001)), endpoint("/write", io(0.04))])
        .wire(latency=1e-6)
        .settings(horizon_s=30, seed=1)
        .build()
    )
    summary = asyncflow.run(scenario).summary()
    assert summary["endpoints"]["db"]["/read"]["completed"] == 0
    assert summary["latency_s"]["mean"] == pytest.approx(0.04 + 5e-6, rel=1e-6)


@pytest.mark.parametrize("other", ["least_connection", "random", "power_of_two_choices"])
def test_a_request_brings_the_same_work_whatever_the_balancing(other: str) -> None:
    """Common random numbers: work is drawn per request, not per server."""
    runs = [
        asyncflow.run(api_and_backends(users=60, horizon_s=60, algorithm=algorithm), seed=9)
        for algorithm in ("round_robin", other)
    ]
    a, b = (run.requests for run in runs)
    assert len(a) == len(b)
    both = (a.outcome == 1) & (b.outcome == 1)
    assert both.sum() > 3000
    # Different servers, different queues: the same demand, request by request.
    assert not np.array_equal(a.cpu_wait_s[both], b.cpu_wait_s[both])
    np.testing.assert_array_equal(a.cpu_s[both], b.cpu_s[both])
    np.testing.assert_array_equal(a.io_s[both], b.io_s[both])
