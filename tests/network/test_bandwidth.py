"""Bandwidth: transfers share a link equally (processor sharing)."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import ScenarioBuilder, parse_scenario
from tests.validation.replication import replicate

MBPS = 8.0  # 1e6 bytes/s
RESPONSE_KB = 500.0  # 512 000 bytes: 0.512 s alone on the link


def _responses(
    rate: float, horizon_s: float = 20_000, **endpoint_extra: float
) -> asyncflow.Scenario:
    data = (
        ScenarioBuilder("bw")
        .workload(users=rate, requests_per_minute=60, distribution="deterministic")
        .client()
        .server("srv-1", endpoints=[{"endpoint_name": "/file", "steps": []}])
        .wire(latency=1e-6)
        .settings(horizon_s=horizon_s, warm_up_s=0.05 * horizon_s)
        .to_dict()
    )
    data["topology_graph"]["nodes"]["servers"][0]["endpoints"][0].update(
        response_kb=RESPONSE_KB, **endpoint_extra
    )
    for edge in data["topology_graph"]["edges"]:
        if edge["source"] == "srv-1" or edge["target"] == "srv-1":
            edge["bandwidth_mbps"] = MBPS
    return parse_scenario(data)


def test_a_lone_transfer_takes_size_over_bandwidth() -> None:
    results = asyncflow.run(_responses(0.01, horizon_s=2_000), seed=1)
    transfer = RESPONSE_KB * 1024 * 8 / (MBPS * 1e6)
    latencies = results.latencies()
    # At 1% load nearly every response is alone on the link.
    assert np.median(latencies) == pytest.approx(transfer + 3e-6, rel=1e-6)


def test_shared_link_matches_processor_sharing_theory() -> None:
    """M/D/1-PS: mean time on the link = S / (1 - rho), insensitive to the size law."""
    service = RESPONSE_KB * 1024 * 8 / (MBPS * 1e6)
    rate = 0.7 / service
    scenario = _responses(rate, horizon_s=5_000)
    estimate = replicate(scenario, lambda r: float(r.latencies().mean()) - 3e-6)
    estimate.check(service / (1 - 0.7), detects=0.075)


def test_request_bodies_use_the_inbound_link_and_phases_add_up() -> None:
    results = asyncflow.run(_responses(0.5, horizon_s=500, request_kb=100.0), seed=2)
    r = results.requests
    done = r.outcome == 1
    total = sum(r.phases().values())
    np.testing.assert_allclose(
        total[done], (r.finished_s - r.generated_s)[done], rtol=1e-5, atol=1e-6
    )
    upload = 100 * 1024 * 8 / (MBPS * 1e6)
    # The hop out to the server carries the upload, the reply hop the response.
    assert np.min(r.hops_s[done, 1]) >= upload * (1 - 1e-6)
    assert np.min(r.hops_s[done, 3]) >= 0.512 * (1 - 1e-6)


def test_bandwidth_on_an_edge_no_body_crosses_is_refused() -> None:
    data = _responses(1.0).model_dump(exclude_none=True)
    data["topology_graph"]["edges"][0]["bandwidth_mbps"] = 10
    with pytest.raises(asyncflow.ScenarioError, match=r"edges\[0\]\.bandwidth_mbps: only edges"):
        parse_scenario(data)
