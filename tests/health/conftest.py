"""A balanced scenario whose first server can fail, for the balancer health policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from asyncflow.results import Results
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import cpu, endpoint, exponential, io

SERVERS = ("srv-1", "srv-2", "srv-3")


def fleet_data(
    policies: Sequence[Mapping[str, Any]] = (),
    *,
    rate: float = 40.0,
    horizon_s: float = 60.0,
    outage: tuple[float, float] | None = (20.0, 40.0),
    servers: Sequence[str] = SERVERS,
) -> dict[str, Any]:
    """Poisson requests through ``lb-1`` to ``servers``; ``srv-1`` down during ``outage``."""
    builder = ScenarioBuilder("fleet").workload(
        users=rate, requests_per_minute=60, distribution="poisson", target="lb-1", id="web"
    )
    builder.client()
    for sid in servers:
        builder.server(
            sid, endpoints=[endpoint("/a", cpu(exponential(0.005)), io(exponential(0.02)))]
        )
    builder.load_balancer("lb-1", servers=list(servers))
    builder.wire(latency=exponential(0.002)).settings(horizon_s=horizon_s)
    if outage is not None:
        builder.outage("srv-1", start=outage[0], end=outage[1])
    return builder.policy(*policies).to_dict()


def fleet(policies: Sequence[Mapping[str, Any]] = (), **kwargs: Any) -> Scenario:
    """:func:`fleet_data`, validated."""
    return parse_scenario(fleet_data(policies, **kwargs))


def changes(results: Results, what: str, server: str = "srv-1") -> list[float]:
    """Times of the rotation changes ``what`` of ``server`` at ``lb-1``."""
    log = results.policies["balancers"]["lb-1"]["rotation_changes"]
    return [c["t_s"] for c in log if c["change"] == what and c["server"] == server]


def failed_at(results: Results, reason: str, node: str) -> np.ndarray:
    """Mask of the requests that failed with ``reason`` at ``node``."""
    r = results.requests
    if reason not in r.reason_names or node not in results.places:
        return np.zeros(r.outcome.shape, dtype=bool)
    code = r.reason_names.index(reason)
    return (r.outcome == code) & (r.failed_at == results.places.index(node))
