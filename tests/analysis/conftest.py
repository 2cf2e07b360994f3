"""Small scenarios whose bottleneck is known in advance."""

from __future__ import annotations

import pytest

import asyncflow
from asyncflow.results import Results
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, deterministic, endpoint, exponential, io, ram


def _single(name: str, users: int, *steps: dict[str, object], ram_mb: float) -> ScenarioBuilder:
    return (
        ScenarioBuilder(name)
        .workload(users=users, requests_per_minute=60)
        .client()
        .server("srv-1", ram_mb=ram_mb, endpoints=[endpoint("/api", *steps)])
        .wire(latency=exponential(0.001))
    )


@pytest.fixture(scope="session")
def cpu_bound() -> Results:
    """One core at about 90% busy, RAM plentiful: requests wait for the core."""
    builder = _single("cpu-bound", 90, cpu(exponential(0.01)), ram(10), ram_mb=4096)
    return asyncflow.run(builder.settings(120, seed=3, warm_up_s=10).build())


@pytest.fixture(scope="session")
def ram_bound() -> Results:
    """Room for 10 requests' RAM, about 9 in I/O on average: requests wait for RAM."""
    steps = (ram(100), cpu(deterministic(0.0005)), io(exponential(0.1)))
    builder = _single("ram-bound", 90, *steps, ram_mb=1000)
    return asyncflow.run(builder.settings(120, seed=5, warm_up_s=10).build())


@pytest.fixture(scope="session")
def balanced_with_spike() -> Results:
    """Two servers behind a balancer, light load, a latency spike on one edge."""
    api = endpoint("/api", cpu(0.002), ram(32), io(0.01))
    scenario = (
        ScenarioBuilder("balanced")
        .workload(users=30, requests_per_minute=60)
        .client()
        .load_balancer(servers=["srv-1", "srv-2"])
        .server("srv-1", endpoints=[api])
        .server("srv-2", endpoints=[api, endpoint("/slow", cpu(0.002), io(0.05))])
        .wire(latency=exponential(0.002))
    )
    edges = scenario.to_dict()["topology_graph"]["edges"]
    edge = next(e["id"] for e in edges if e["target"] == "srv-2")
    scenario.spike(edge, start=20, end=30, spike_s=0.5, id="slow-link")
    return asyncflow.run(scenario.settings(60, seed=2).build())
