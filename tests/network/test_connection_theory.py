"""Sockets against blocking theory: Erlang B and M/M/c/K.

Each request holds its connection for an exponential I/O time (mean 1 s) and
uses no core, so the open sockets form an M/M/c/(c+b) system. Tolerances from
replications, as in tests/validation/queues.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from tests.validation.queues import Estimate, erlang_b, replicate

from .conftest import single_server

pytestmark = pytest.mark.slow


def _refused_fraction(results: asyncflow.Results) -> float:
    r = results.requests
    measured = (r.generated_s >= results.warm_up_s) & (r.outcome != 0)
    names = r.reason_names
    code = names.index("connection_refused") if "connection_refused" in names else -1
    return float(np.count_nonzero(measured & (r.outcome == code)) / np.count_nonzero(measured))


def _mmck(c: int, k: int, lam: float, mu: float = 1.0) -> tuple[float, float]:
    """Blocking probability and mean time in system of M/M/c/K."""
    a = lam / mu
    weights = []
    for n in range(k + 1):
        if n <= c:
            weights.append(a**n / np.prod(np.arange(1, n + 1, dtype=float)))
        else:
            weights.append(a**n / (np.prod(np.arange(1, c + 1, dtype=float)) * c ** (n - c)))
    p = np.asarray(weights) / sum(weights)
    n_mean = float(np.dot(np.arange(k + 1), p))
    return float(p[-1]), n_mean / (lam * (1 - p[-1]))


def test_reference_values() -> None:
    assert erlang_b(10, 5) == pytest.approx(0.018385, abs=1e-6)
    assert _mmck(1, 5, 0.9) == pytest.approx((0.126023, 2.790286), abs=1e-6)
    assert _mmck(4, 8, 3.2) == pytest.approx((0.060728, 1.259188), abs=1e-6)


@pytest.mark.parametrize(("c", "rate"), [(10, 5.0), (10, 8.0)])
def test_refusals_without_backlog_follow_erlang_b(c: int, rate: float) -> None:
    scenario = single_server(
        rate, limits={"max_connections": c, "listen_backlog": 0}, horizon_s=20_000
    )
    estimate: Estimate = replicate(scenario, _refused_fraction)
    estimate.check(erlang_b(c, rate / 1.0), max_relative_se=0.05)


@pytest.mark.parametrize(("c", "backlog", "rate"), [(1, 4, 0.9), (4, 4, 3.2)])
def test_backlog_gives_mmck_blocking_and_time_in_system(c: int, backlog: int, rate: float) -> None:
    scenario = single_server(
        rate, limits={"max_connections": c, "listen_backlog": backlog}, horizon_s=20_000
    )
    blocking, time_in_system = _mmck(c, c + backlog, rate)
    runs = [asyncflow.run(scenario, seed=seed) for seed in range(1, 9)]
    replicate(runs, _refused_fraction).check(blocking, max_relative_se=0.05)
    # Time in system: the backlog wait plus the holding time (3 hops of 1 µs aside).
    replicate(runs, lambda r: float(r.latencies().mean()) - 3e-6).check(
        time_in_system, max_relative_se=0.03
    )
