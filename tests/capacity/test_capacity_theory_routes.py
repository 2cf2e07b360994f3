"""Routes of the theory follow each workload to its own entry node."""

from __future__ import annotations

import pytest

from asyncflow.analysis.theory import theory_of
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential


def _two_workloads(endpoint_name: str | None = None) -> object:
    builder = ScenarioBuilder("two entries")
    for wid, users, target in (("wa", 10, "srv-a"), ("wb", 30, "srv-b")):
        builder.workload(
            users=users,
            requests_per_minute=60,
            distribution="deterministic",
            id=wid,
            target=target,
            endpoint=endpoint_name,
        )
    steps = [endpoint("/x", cpu(exponential(0.01)))]
    builder.client().server("srv-a", endpoints=steps).server("srv-b", endpoints=steps)
    return builder.wire(latency=0.0001).settings(horizon_s=200).build()


def test_each_workload_loads_only_its_entry_server() -> None:
    theory = theory_of(_two_workloads())  # type: ignore[arg-type]
    rates = {q.node: q.arrival_rate_rps for q in theory.queues}
    assert rates == {"srv-a": pytest.approx(10.0), "srv-b": pytest.approx(30.0)}
    by_path = {p.path: p.value for p in theory.predictions}
    # M/M/1 at 10 and 30 req/s of 10 ms: 1/(mu - lambda), plus three hops of 0.1 ms
    assert by_path[("workloads", "wa", "latency_s", "mean")] == pytest.approx(1 / 90 + 3e-4)
    assert by_path[("workloads", "wb", "latency_s", "mean")] == pytest.approx(1 / 70 + 3e-4)


def test_a_workload_that_names_its_endpoint_is_not_predicted() -> None:
    theory = theory_of(_two_workloads("/x"))  # type: ignore[arg-type]
    assert theory.predictions == ()
    assert any("names its endpoint" in note for note in theory.notes)
