"""Small call trees built with the builder."""

from __future__ import annotations

from typing import Any

from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import call, cpu, endpoint, exponential, io, ram


def api_and_backends(
    *,
    api_steps: tuple[dict[str, Any], ...] | None = None,
    backends: int = 2,
    users: float = 20,
    horizon_s: float = 60,
    outage: tuple[float, float] | None = None,
    algorithm: str = "round_robin",
    seed: int = 1,
) -> Scenario:
    """An API server calling a balancer in front of ``backends`` servers."""
    steps = api_steps or (
        cpu(exponential(0.001)),
        ram(16),
        call("lb-back", "/data"),
        cpu(0.0005),
    )
    builder = (
        ScenarioBuilder("calls")
        .workload(users=users, requests_per_minute=60, distribution="deterministic", target="api")
        .client()
        .server("api", cpu_cores=2, endpoints=[endpoint("/page", *steps)])
    )
    ids = [f"back-{i + 1}" for i in range(backends)]
    for sid in ids:
        builder.server(
            sid, endpoints=[endpoint("/data", cpu(exponential(0.002)), io(exponential(0.005)))]
        )
    builder.load_balancer("lb-back", servers=ids, algorithm=algorithm)
    builder.wire(latency=exponential(0.0005))
    if outage is not None:
        builder.outage("back-1", start=outage[0], end=outage[1])
    return builder.settings(horizon_s=horizon_s, seed=seed).build()
