"""Scenarios for the overload policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import cpu, endpoint, exponential, io


def guarded_data(
    policies: Sequence[Mapping[str, Any]] = (),
    *,
    rate: float = 20.0,
    horizon_s: float = 60.0,
    balanced: bool = True,
    batch: bool = True,
) -> dict[str, Any]:
    """Two workloads (``web`` on /a, ``batch`` on /b) through ``lb-1`` to two servers.

    ``balanced=False``: ``srv-1`` alone, no balancer; ``batch=False``: ``web`` alone.
    """
    target = "lb-1" if balanced else "srv-1"
    builder = ScenarioBuilder("guarded").workload(
        users=rate,
        requests_per_minute=60,
        distribution="deterministic",
        target=target,
        endpoint="/a",
        id="web",
    )
    if batch:
        builder.workload(
            users=rate / 4,
            requests_per_minute=60,
            distribution="deterministic",
            target=target,
            endpoint="/b",
            id="batch",
        )
    builder.client()
    servers = ["srv-1", "srv-2"] if balanced else ["srv-1"]
    for sid in servers:
        builder.server(
            sid,
            endpoints=[
                endpoint("/a", cpu(exponential(0.01)), io(exponential(0.05))),
                endpoint("/b", cpu(exponential(0.02))),
            ],
        )
    if balanced:
        builder.load_balancer("lb-1", servers=servers)
    builder.wire(latency=exponential(0.001)).settings(horizon_s=horizon_s)
    return builder.policy(*policies).to_dict()


def guarded(policies: Sequence[Mapping[str, Any]] = (), **kwargs: Any) -> Scenario:
    """:func:`guarded_data`, validated."""
    return parse_scenario(guarded_data(policies, **kwargs))
