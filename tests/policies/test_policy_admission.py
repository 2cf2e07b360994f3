"""Rate limits, concurrency limits, bulkheads and admission queues at work."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.metrics.phases import CONNECTION_WAIT
from asyncflow.scenario import parse_scenario
from asyncflow.scenario.builder import admission_queue, concurrency_limit, rate_limit
from asyncflow.simulation import Simulation

from .conftest import guarded, guarded_data


def _counts(results: asyncflow.Results, workload: str | None = None) -> dict[str, int]:
    r = results.requests
    mask = np.ones(len(r), dtype=bool)
    if workload is not None:
        mask = r.workload == results.workload_ids.index(workload)
    values, counts = np.unique(r.outcome[mask], return_counts=True)
    return {r.reason_names[v]: int(c) for v, c in zip(values, counts, strict=True)}


def _single(policy: dict[str, Any], rate: float, horizon_s: float = 200.0) -> Simulation:
    """One server, /a only: Poisson arrivals at ``rate`` per second."""
    data = guarded_data([policy], rate=rate, horizon_s=horizon_s, balanced=False, batch=False)
    simulation = Simulation(parse_scenario(data), 7)
    simulation.run()
    return simulation


def test_token_bucket_admits_rate_plus_burst_when_demand_far_exceeds_it() -> None:
    """λ = 10 r: every token is taken as soon as it exists, so N = rT + b less < 1 token."""
    simulation = _single(rate_limit("srv-1", 5.0, burst=10), rate=50.0)
    admission = simulation.servers["srv-1"].admission
    assert admission is not None
    arrivals = admission.admitted + admission.rate_limited
    assert arrivals > 9_000
    assert 5.0 * 200 + 10 - 1 <= admission.admitted <= 5.0 * 200 + 10


def test_token_bucket_admits_almost_everything_when_demand_is_far_below_it() -> None:
    """λ = r / 5 with a burst of 10: refusing needs 10 arrivals within about 2 s (mean 0.8)."""
    simulation = _single(rate_limit("srv-1", 50.0, burst=10), rate=10.0)
    admission = simulation.servers["srv-1"].admission
    assert admission is not None
    assert admission.admitted > 1_900
    assert admission.rate_limited <= admission.admitted * 1e-3


def test_rate_limit_per_workload_refuses_only_that_workload() -> None:
    results = asyncflow.run(guarded([rate_limit("srv-1", 1.0, workload="batch")]), seed=3)
    assert "rate_limited" not in _counts(results, "web")
    assert _counts(results, "batch")["rate_limited"] > 0


def test_refusals_are_noticed_after_the_error_crosses_back() -> None:
    """A 429 at the balancer comes back over the edge the request came on."""
    results = asyncflow.run(guarded([rate_limit("lb-1", 2.0, burst=2)]), seed=5)
    r = results.requests
    limited = r.outcome == r.reason_names.index("rate_limited")
    assert np.count_nonzero(limited) > 100
    assert set(np.asarray(results.places)[r.failed_at[limited]]) == {"lb-1"}
    latency = (r.finished_s - r.generated_s)[limited]
    network = r.phases()["network"][limited]
    assert np.all(latency > 0)
    np.testing.assert_allclose(network, latency, rtol=1e-5)


def test_a_cap_equal_to_the_cores_means_nobody_waits_for_a_core() -> None:
    results = asyncflow.run(guarded([concurrency_limit("srv-1", 1)], rate=40.0), seed=2)
    r = results.requests
    at_1 = (r.server == 0) & (r.outcome == 1)
    assert _counts(results)["shed"] > 0
    assert np.count_nonzero(at_1) > 100
    assert float(r.phases()["cpu_wait"][at_1].max()) == 0.0
    at_2 = (r.server == 1) & (r.outcome == 1)
    assert float(r.phases()["cpu_wait"][at_2].max()) > 0.0  # the uncapped twin queues


def test_bulkhead_sheds_only_its_endpoint() -> None:
    policies = [
        concurrency_limit("srv-1", 1, endpoint="/b"),
        concurrency_limit("srv-2", 1, endpoint="/b"),
    ]
    results = asyncflow.run(guarded(policies, rate=40.0), seed=4)
    assert "shed" not in _counts(results, "web")
    assert _counts(results, "batch")["shed"] > 0


@pytest.mark.parametrize("discipline", ["fifo", "lifo", "codel"])
def test_admission_queue_wait_is_counted_and_matches_its_level(discipline: str) -> None:
    """The queue's wait is connection_wait, and its time-integral is the queue's level (Little)."""
    policy = concurrency_limit("srv-1", 1, queue=admission_queue(5, discipline))  # type: ignore[arg-type]
    simulation = Simulation(guarded([policy], rate=30.0), 11, record_calls=True)
    results = simulation.run()
    calls = results.calls
    assert calls is not None
    spent = float(calls.slots.astype(np.float64).sum(axis=0)[CONNECTION_WAIT])
    level = simulation.ctx.levels[("srv-1", "admission_queue")]
    assert spent > 1.0
    assert spent == pytest.approx(float(level.bin_area.sum()), rel=1e-5)
    assert results.requests.phases()["connection_wait"].max() > 0.0


def test_codel_keeps_waits_short_where_fifo_lets_them_grow() -> None:
    """Overloaded (ρ ≈ 2 at srv-1): FIFO waits fill a queue of 500; CoDel drops early."""
    waits = {}
    for discipline in ("fifo", "codel"):
        policy = concurrency_limit("srv-1", 1, queue=admission_queue(500, discipline))  # type: ignore[arg-type]
        results = asyncflow.run(guarded([policy], rate=60.0, balanced=False), seed=1)
        r = results.requests
        done = r.outcome == 1
        waits[discipline] = float(r.phases()["connection_wait"][done].mean())
        assert _counts(results)["shed"] > 0
    assert waits["codel"] < 0.1 * waits["fifo"]


def test_lifo_serves_the_newest_first() -> None:
    """Under overload, LIFO leaves the oldest waiting: its median wait is below FIFO's."""
    medians = {}
    for discipline in ("fifo", "lifo"):
        policy = concurrency_limit("srv-1", 1, queue=admission_queue(50, discipline))  # type: ignore[arg-type]
        results = asyncflow.run(guarded([policy], rate=60.0, balanced=False), seed=1)
        r = results.requests
        medians[discipline] = float(np.median(r.phases()["connection_wait"][r.outcome == 1]))
    assert medians["lifo"] < 0.5 * medians["fifo"]


def test_policies_change_nothing_where_they_never_bite() -> None:
    """A limit that is never reached leaves every request's numbers as they were."""
    plain = asyncflow.run(guarded(rate=5.0), seed=9)
    loose = asyncflow.run(
        guarded(
            [concurrency_limit("srv-1", 10_000), rate_limit("srv-2", 1e6, burst=1e6)], rate=5.0
        ),
        seed=9,
    )
    a, b = plain.requests, loose.requests
    np.testing.assert_array_equal(a.outcome, b.outcome)
    np.testing.assert_array_equal(a.finished_s, b.finished_s)
