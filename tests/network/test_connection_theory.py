"""Sockets against queueing theory: Erlang B, M/M/c/K and M/D/1/K.

Each request holds its connection for its I/O time (exponential of mean 1 s,
or exactly 1 s) and uses no core, so the open sockets and the accept backlog
form an M/M/c/(c+b) or M/D/1/(1+b) system. How a check decides is in
tests/validation/replication.py (32 runs, false alarm 1e-4 per check,
``detects``: the relative deviation caught with probability 0.9). Warm-ups
are ten exact relaxation times of the birth-death chain (for M/D/1, of the
M/M/1 diffusion scaled by (ca² + cs²) / 2 = 0.5); drains outlast any
plausible time in the system.
"""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.scenario import Scenario
from asyncflow.scenario.builder import deterministic, io
from tests.validation.queues import (
    erlang_b,
    md1k_wait,
    mmck,
    mmck_relaxation_time,
    sojourns,
    warm_up,
)
from tests.validation.replication import Estimate, measured_requests, replications

from .conftest import single_server

pytestmark = pytest.mark.slow

DRAIN_S = 30.0
"""A holding time above 30 s has probability e^-30; waits are shorter still."""


def _refused_fraction(results: asyncflow.Results) -> float:
    r = results.requests
    measured = measured_requests(results, DRAIN_S)
    refused = r.outcome == r.reason_names.index("connection_refused")
    return float(np.count_nonzero(measured & refused) / np.count_nonzero(measured))


def _sockets(c: int, backlog: int, rate: float, measured_s: float) -> Scenario:
    w = 10 * mmck_relaxation_time(c, c + backlog, rate)
    return single_server(
        rate,
        limits={"max_connections": c, "listen_backlog": backlog},
        horizon_s=w + measured_s + DRAIN_S,
        warm_up_s=w,
    )


@pytest.mark.parametrize(
    ("rate", "measured_s", "detects"), [(5.0, 5_000, 0.10), (8.0, 2_500, 0.05)]
)
def test_refusals_without_backlog_follow_erlang_b(
    rate: float, measured_s: float, detects: float
) -> None:
    """10 sockets, no backlog: B(10, 5) = 1.8%, B(10, 8) = 12.2%."""
    runs = replications(_sockets(10, 0, rate, measured_s))
    Estimate.of([_refused_fraction(r) for r in runs]).check(erlang_b(10, rate), detects=detects)


@pytest.mark.parametrize(
    ("c", "backlog", "rate", "measured_s", "detects"),
    [(1, 4, 0.9, 10_000, 0.07), (4, 4, 3.2, 3_000, 0.10)],
)
def test_backlog_gives_mmck_blocking_and_time_in_system(
    c: int, backlog: int, rate: float, measured_s: float, detects: float
) -> None:
    """Blocking p_K (``detects``) and time in system (backlog wait plus holding, 2.5%)."""
    blocking, time_in_system = mmck(c, c + backlog, rate)
    runs = replications(_sockets(c, backlog, rate, measured_s))
    Estimate.of([_refused_fraction(r) for r in runs]).check(blocking, detects=detects)
    Estimate.of([float(sojourns(r, DRAIN_S).mean()) for r in runs]).check(
        time_in_system, detects=0.025
    )


def test_backlog_wait_of_deterministic_holding_is_md1k() -> None:
    """One socket held exactly 1 s, a backlog of 50, ρ = 0.9: the wait is M/D/1/51's.

    4.4985 s (the unbounded M/D/1's 4.5 s less the 3e-6 of arrivals
    refused). About 18,000 requests a run; no wait exceeds 50 s. At ρ = 0.9
    the per-run means are skewed (about 0.7): false alarm about 3e-4.
    """
    w = warm_up(0.9, variability=0.5)
    scenario = single_server(
        0.9,
        limits={"max_connections": 1, "listen_backlog": 50},
        steps=(io(deterministic(1.0)),),
        horizon_s=w + 20_000 + 60,
        warm_up_s=w,
    )

    def mean_wait(results: asyncflow.Results) -> float:
        r = results.requests
        done = measured_requests(results, 60.0) & (r.outcome == 1)
        return float(r.phases()["connection_wait"][done].mean())

    _, theory = md1k_wait(0.9, 51)
    Estimate.of([mean_wait(r) for r in replications(scenario)]).check(theory, detects=0.11)
