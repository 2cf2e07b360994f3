"""Small scenarios for the capacity tests, built as plain mappings and validated."""

from __future__ import annotations

from typing import Any

from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io, ram

HOP_S = 1e-6
"""Constant latency of each network hop: latency is the time in the server plus 3 µs."""


def queue(
    rate: float,
    *steps: dict[str, Any],
    cores: int = 1,
    ram_mb: float = 1024.0,
    horizon_s: float = 100.0,
    warm_up_s: float = 10.0,
    servers: int = 1,
    algorithm: str = "random",
    name: str = "queue",
) -> Scenario:
    """Poisson arrivals at ``rate`` to ``servers`` identical servers running ``steps``."""
    builder = (
        ScenarioBuilder(name)
        .workload(
            users=rate,
            requests_per_minute=60,
            distribution="deterministic",
            sampling_window_s=min(60.0, horizon_s),
        )
        .client()
    )
    ids = [f"srv-{i + 1}" for i in range(servers)]
    work = steps or (cpu(exponential(0.01)),)
    for sid in ids:
        builder.server(sid, cpu_cores=cores, ram_mb=ram_mb, endpoints=[endpoint("/job", *work)])
    if servers > 1:
        builder.load_balancer("lb-1", servers=ids, algorithm=algorithm)
    return builder.wire(latency=HOP_S).settings(horizon_s=horizon_s, warm_up_s=warm_up_s).build()


def web(rate: float = 50.0, horizon_s: float = 30.0) -> Scenario:
    """A server with CPU, RAM and I/O: the shape of the 0.1 examples."""
    return queue(rate, cpu(exponential(0.004)), ram(64), io(exponential(0.05)), horizon_s=horizon_s)
