"""Retries against the geometric law of independent attempts.

Each attempt of a request is dropped on the client's edge to the server
with probability p, independently (the edge's ``dropout_rate``, drawn from
its own stream), and the client retries a drop up to k attempts in all. The
number of attempts is then a geometric law cut at k: its mean is
(1 - p^k) / (1 - p), and a request fails when all k attempts are dropped,
with probability p^k. How a check decides is in
tests/validation/replication.py (32 runs, false alarm 1e-4 per check,
``detects``: the relative deviation caught with probability 0.9).
"""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import Scenario, ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import backoff, cpu, endpoint, exponential, retry
from tests.validation.replication import Estimate, measured_requests, replications

pytestmark = pytest.mark.slow

DROPS = ["network_drop"]

DRAIN_S = 10.0
"""A request ends within its k attempts' backoffs (at most 0.04 s each): far less."""


def _dropping(p: float, k: int, horizon_s: float) -> Scenario:
    """20 requests per second; the client's edge to ``srv-1`` drops each attempt with ``p``."""
    data = (
        ScenarioBuilder("drops")
        .workload(users=20, requests_per_minute=60, id="web")
        .client()
        .server("srv-1", cpu_cores=4, endpoints=[endpoint("/a", cpu(exponential(0.005)))])
        .wire(latency=exponential(0.001))
        .settings(horizon_s=horizon_s, warm_up_s=5.0)
        .policy(retry("web", max_attempts=k, retry_on=DROPS, backoff=backoff(0.02, 0.04)))
        .to_dict()
    )
    for edge in data["topology_graph"]["edges"]:
        if (edge["source"], edge["target"]) == ("client-1", "srv-1"):
            edge["dropout_rate"] = p
    return parse_scenario(data)


def _mean_attempts(results: asyncflow.Results) -> float:
    per_request: float = results.summary()["attempts"]["per_request"]
    return per_request


def _failed_fraction(results: asyncflow.Results) -> float:
    r = results.requests
    measured = measured_requests(results, DRAIN_S)
    dropped = r.outcome == r.reason_names.index("network_drop")
    return float(np.count_nonzero(measured & dropped) / np.count_nonzero(measured))


@pytest.mark.parametrize(("p", "k"), [(0.3, 3), (0.5, 4)])
def test_attempts_and_final_failures_follow_the_geometric_law(p: float, k: int) -> None:
    """p = 0.3, k = 3: 1.39 attempts, 2.7% fail; p = 0.5, k = 4: 1.875 attempts, 6.25% fail."""
    runs = replications(_dropping(p, k, horizon_s=600.0))
    Estimate.of([_mean_attempts(r) for r in runs]).check((1 - p**k) / (1 - p), detects=0.01)
    Estimate.of([_failed_fraction(r) for r in runs]).check(p**k, detects=0.1)
