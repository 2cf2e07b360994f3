"""Admission policies against queueing theory.

A concurrency limit of K on a one-core server with exponential CPU time and
Poisson arrivals makes an M/M/1/K system: the limit admits K calls, one on
the core and K - 1 in the ready queue; an arrival finding K inside is shed.
With a limit of 1 and a FIFO admission queue of b places it is M/M/1/(1 + b)
again, the queue taking the place of the ready queue. The blocking
probability is ``analysis.queueing.finite_queue``'s. With exponential service
and no queue (I/O holds no core: an infinite-server node), a client timeout
τ ends a request when its service exceeds τ, with probability e^(-μτ). How a
check decides is
in tests/validation/replication.py (32 runs, false alarm 1e-4 per check,
``detects``: the relative deviation caught with probability 0.9).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.queueing import finite_queue
from asyncflow.scenario import Scenario, parse_scenario
from asyncflow.scenario.builder import admission_queue, concurrency_limit, cpu, exponential, io
from tests.validation.queues import mmck_relaxation_time, queue_scenario
from tests.validation.replication import Estimate, measured_requests, replications

pytestmark = pytest.mark.slow

DRAIN_S = 60.0
"""Every admitted call leaves within K service times; 60 s is far beyond that."""


def _capped(rate: float, policy: dict[str, object], k: int, measured_s: float) -> Scenario:
    warm = 10 * mmck_relaxation_time(1, k, rate)
    base = queue_scenario(
        rate, [cpu(exponential(1.0))], horizon_s=warm + measured_s + DRAIN_S, warm_up_s=warm
    )
    data = base.model_dump(mode="json", exclude_defaults=True)
    data["policies"] = [policy]
    return parse_scenario(data)


def _shed_fraction(results: asyncflow.Results) -> float:
    r = results.requests
    measured = measured_requests(results, DRAIN_S)
    shed = r.outcome == r.reason_names.index("shed")
    return float(np.count_nonzero(measured & shed) / np.count_nonzero(measured))


@pytest.mark.parametrize(
    ("k", "rate", "measured_s", "detects"),
    [(3, 0.8, 8_000, 0.05), (5, 1.2, 6_000, 0.05)],
)
def test_concurrency_cap_sheds_as_mm1k_blocks(
    k: int, rate: float, measured_s: float, detects: float
) -> None:
    """K = 3 at ρ = 0.8: p_K = 17.3%; K = 5 at ρ = 1.2: p_K = 25.1%."""
    runs = replications(_capped(rate, concurrency_limit("srv-1", k), k, measured_s))
    theory = finite_queue(1, k - 1, rate)[0]
    Estimate.of([_shed_fraction(r) for r in runs]).check(theory, detects=detects)


def test_fifo_admission_queue_gives_mm1k_blocking() -> None:
    """One call inside, four waiting in a FIFO queue, ρ = 0.9: p_5 = 12.6%."""
    policy = concurrency_limit("srv-1", 1, queue=admission_queue(4))
    runs = replications(_capped(0.9, policy, 5, 12_000))
    theory = finite_queue(1, 4, 0.9)[0]
    Estimate.of([_shed_fraction(r) for r in runs]).check(theory, detects=0.05)


def _timed_out_fraction(results: asyncflow.Results) -> float:
    r = results.requests
    measured = measured_requests(results, DRAIN_S)
    timed_out = r.outcome == r.reason_names.index("timeout")
    return float(np.count_nonzero(measured & timed_out) / np.count_nonzero(measured))


@pytest.mark.parametrize(
    ("mean_s", "timeout_s", "measured_s", "detects"),
    [(1.0, 1.0, 1_000, 0.03), (0.5, 1.5, 3_000, 0.05)],
)
def test_client_timeout_on_an_infinite_server_node_is_exponential_tail(
    mean_s: float, timeout_s: float, measured_s: float, detects: float
) -> None:
    """μτ = 1: e^-1 = 36.8 %; μτ = 3: e^-3 = 4.98 % (hops of 3 µs shift it by 1e-5)."""
    base = queue_scenario(
        5.0, [io(exponential(mean_s))], horizon_s=measured_s + DRAIN_S, warm_up_s=1.0
    )
    data = base.model_dump(mode="json", exclude_defaults=True)
    data["policies"] = [{"type": "timeout", "target": "rqs-1", "timeout_s": timeout_s}]
    runs = replications(parse_scenario(data))
    theory = math.exp(-timeout_s / mean_s)
    Estimate.of([_timed_out_fraction(r) for r in runs]).check(theory, detects=detects)
