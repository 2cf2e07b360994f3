"""Scenario builders for the connection model."""

from __future__ import annotations

from typing import Any

import pytest

from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import cpu, endpoint, exponential, io


def single_server(
    rate: float,
    *,
    limits: dict[str, Any] | None = None,
    pool: dict[str, Any] | None = None,
    tls: dict[str, Any] | None = None,
    steps: tuple[dict[str, Any], ...] = (io(exponential(1.0)),),
    latency: float = 1e-6,
    horizon_s: float = 10_000,
    warm_up_s: float = 100,
    ram_mb: float = 1024,
) -> Scenario:
    """Poisson arrivals at ``rate`` to one server with the given connection settings."""
    data = (
        ScenarioBuilder("conn")
        .workload(users=rate, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("srv-1", ram_mb=ram_mb, endpoints=[endpoint("/a", *steps)])
        .wire(latency=latency)
        .settings(horizon_s=horizon_s, warm_up_s=warm_up_s)
        .to_dict()
    )
    nodes = data["topology_graph"]["nodes"]
    nodes["servers"][0]["server_resources"].update(limits or {})
    if tls is not None:
        nodes["servers"][0]["tls"] = tls
    if pool is not None:
        nodes["client"]["connection_pool"] = pool
    return parse_scenario(data)


def balanced(
    rate: float,
    *,
    lb_resources: dict[str, Any] | None = None,
    lb_pool: dict[str, Any] | None = None,
    client_pool: dict[str, Any] | None = None,
    server_limits: dict[str, Any] | None = None,
    algorithm: str = "round_robin",
    horizon_s: float = 300,
    profile: list[tuple[float, float]] | None = None,
) -> Scenario:
    """A load balancer in front of two servers (CPU then I/O)."""
    builder = (
        ScenarioBuilder("lb-conn")
        .workload(
            users=rate,
            requests_per_minute=60,
            distribution="deterministic",
            users_profile=profile,
            sampling_window_s=10,
        )
        .client()
    )
    for sid in ("srv-1", "srv-2"):
        builder.server(
            sid, endpoints=[endpoint("/a", cpu(exponential(0.002)), io(exponential(0.05)))]
        )
    data = (
        builder.load_balancer("lb-1", servers=["srv-1", "srv-2"], algorithm=algorithm)
        .wire(latency=0.002)
        .settings(horizon_s=horizon_s)
        .to_dict()
    )
    nodes = data["topology_graph"]["nodes"]
    if lb_resources is not None:
        nodes["load_balancer"]["resources"] = lb_resources
    if lb_pool is not None:
        nodes["load_balancer"]["connection_pool"] = lb_pool
    if client_pool is not None:
        nodes["client"]["connection_pool"] = client_pool
    for server in nodes["servers"]:
        server["server_resources"].update(server_limits or {})
    return parse_scenario(data)


@pytest.fixture
def refused_code() -> str:
    return "connection_refused"
