"""Small scenarios for experiment tests (short horizons: many runs stay cheap)."""

from __future__ import annotations

from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io, ram

HOP_S = 1e-6
"""Constant latency of each of the three network hops of ``mm1``."""


def mm1(rate: float = 0.8, horizon_s: float = 2000.0, warm_up_s: float = 200.0) -> Scenario:
    """An M/M/1 queue: Poisson arrivals at ``rate``, exponential service of mean 1 s.

    Latency is the time in the server plus three hops of ``HOP_S``.
    """
    return (
        ScenarioBuilder("mm1")
        .workload(
            users=rate,
            requests_per_minute=60,
            distribution="deterministic",
            sampling_window_s=60.0,
        )
        .client()
        .server(
            "srv-1", cpu_cores=1, ram_mb=1024, endpoints=[endpoint("/job", cpu(exponential(1.0)))]
        )
        .wire(latency=HOP_S)
        .settings(horizon_s=horizon_s, warm_up_s=warm_up_s)
        .build()
    )


def small(name: str = "small", cpu_s: float = 0.004, horizon_s: float = 20.0) -> Scenario:
    """One server at moderate load, an outage from 40% to 50% of the horizon (20 s)."""
    return (
        ScenarioBuilder(name)
        .workload(users=40, requests_per_minute=60)
        .client()
        .server(
            "srv-1",
            ram_mb=1024,
            endpoints=[endpoint("/api", cpu(exponential(cpu_s)), ram(32), io(exponential(0.01)))],
        )
        .wire(latency=exponential(0.002))
        .outage("srv-1", start=0.4 * horizon_s, end=0.5 * horizon_s, id="down")
        .settings(horizon_s=horizon_s)
        .build()
    )
