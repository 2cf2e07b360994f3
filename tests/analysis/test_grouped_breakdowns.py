"""Per-server and per-endpoint breakdowns in one grouped pass, and the phase slots kept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.attribution import breakdown, breakdowns_by_group
from asyncflow.metrics.phases import (
    BACKOFF,
    CACHE,
    CALLS_NETWORK,
    CONNECTION_WAIT,
    DB,
    FAILED_ATTEMPT,
    HANDSHAKE,
    HOP_BALANCER,
    POOL_WAIT,
    SLOT_NAMES,
    SLOTS,
    slots_for,
)
from asyncflow.results import Results
from asyncflow.simulation import kept_slots

ROOT = Path(__file__).resolve().parents[2] / "examples"


def _masked(results: Results, by: str) -> dict[str, np.ndarray]:
    """Each group as a mask over the requests (what the grouped pass must reproduce)."""
    r = results.requests
    masks: dict[str, np.ndarray] = {}
    for i, server in enumerate(results.scenario.topology_graph.nodes.servers):
        if by == "server":
            masks[server.id] = r.server == i
            continue
        for j, e in enumerate(server.endpoints):
            masks[f"{server.id}/{e.endpoint_name}"] = (r.server == i) & (r.endpoint == j)
    return masks


@pytest.mark.parametrize("by", ["server", "endpoint"])
def test_grouped_breakdowns_equal_one_mask_per_group(balanced_with_spike: Results, by: str) -> None:
    grouped = breakdowns_by_group(balanced_with_spike, by)
    masks = _masked(balanced_with_spike, by)
    assert set(grouped) == set(masks)
    for name, mask in masks.items():
        for key, above in (("all", None), ("p95", 95.0), ("p99", 99.0)):
            expected = breakdown(balanced_with_spike, mask, above=above)
            got = grouped[name][key]
            assert got.count == expected.count
            assert math.isclose(got.latency_s, expected.latency_s, rel_tol=1e-12)
            for phase, seconds in expected.phases_s.items():
                assert math.isclose(got.phases_s[phase], seconds, rel_tol=1e-9, abs_tol=1e-15)


def test_an_unknown_by_is_refused(balanced_with_spike: Results) -> None:
    with pytest.raises(ValueError, match="by must be 'overall', 'server' or 'endpoint', not 'x'"):
        breakdowns_by_group(balanced_with_spike, "x")


def test_every_slot_has_a_name() -> None:
    assert len(SLOT_NAMES) == SLOTS


def test_slots_without_a_need_are_always_kept() -> None:
    assert slots_for(frozenset()) == (0, 1, 3)  # the hops from the workload, out, the reply
    everything = {"balancers", "calls", "connections", "ram", "cpu", "io", "datastores", "retries"}
    assert slots_for(frozenset(everything)) == tuple(range(SLOTS))


STORES = {POOL_WAIT, DB, CACHE}
RETRIES = {BACKOFF, FAILED_ATTEMPT}


@pytest.mark.parametrize(
    ("example", "left_out"),
    [
        (
            "asyncflow-0.1/two_servers_lb.yml",
            {CALLS_NETWORK, HANDSHAKE, CONNECTION_WAIT, *STORES, *RETRIES},
        ),
        (
            "asyncflow-0.1/single_server.yml",
            {HOP_BALANCER, CALLS_NETWORK, HANDSHAKE, CONNECTION_WAIT, *STORES, *RETRIES},
        ),
        ("call_tree.yml", {HANDSHAKE, CONNECTION_WAIT, *STORES, *RETRIES}),
        ("lb_socket_exhaustion.yml", {CALLS_NETWORK, *STORES, *RETRIES}),
        ("cache_stampede.yml", set()),  # datastores: every slot is kept
    ],
)
def test_slots_kept_are_those_the_scenario_models(example: str, left_out: set[int]) -> None:
    scenario = asyncflow.load_scenario(ROOT / example)
    assert set(range(SLOTS)) - set(kept_slots(scenario)) == left_out
