"""Queueing scenarios, their closed forms, and how long to warm them up.

Edges are given a constant 1 µs latency; a request's time in the system is
its latency less its network phase (3 or 4 hops). Arrivals are Poisson of
rate ``rate`` (deterministic users, one request per second each). How a
check decides is in replication.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import linalg, stats

import asyncflow
from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import endpoint

from .replication import measured_requests

HOP_S = 1e-6


def queue_scenario(
    rate: float,
    steps: Sequence[Mapping[str, Any]],
    *,
    horizon_s: float,
    warm_up_s: float,
    servers: int = 1,
    cpu_cores: int = 1,
    ram_mb: float = 1024.0,
    algorithm: str | None = None,
) -> Scenario:
    """``servers`` identical servers running ``steps``, Poisson arrivals at ``rate``."""
    builder = (
        ScenarioBuilder("queue")
        .workload(
            users=rate,
            requests_per_minute=60,
            distribution="deterministic",
            sampling_window_s=min(60.0, horizon_s),
        )
        .client()
    )
    ids = [f"srv-{i + 1}" for i in range(servers)]
    for sid in ids:
        builder.server(
            sid, cpu_cores=cpu_cores, ram_mb=ram_mb, endpoints=[endpoint("/job", *steps)]
        )
    if servers > 1:
        builder.load_balancer("lb-1", servers=ids, algorithm=algorithm or "round_robin")
    return builder.wire(latency=HOP_S).settings(horizon_s=horizon_s, warm_up_s=warm_up_s).build()


def sojourns(results: asyncflow.Results, drain_s: float) -> np.ndarray:
    """Time in the system of each completed measured request, in order of arrival.

    The latency less the network hops; see ``measured_requests`` for the window.
    """
    r = results.requests
    done = measured_requests(results, drain_s) & (r.outcome == 1)
    order = np.argsort(r.generated_s[done], kind="stable")
    in_system = (r.finished_s - r.generated_s)[done] - r.phases()["network"][done]
    return np.asarray(in_system[order])


def relaxation_time(rho: float, *, servers: int = 1, variability: float = 1.0) -> float:
    """Relaxation time (s) of a queue at load ``rho`` with mean service 1 s.

    M/M/1: exactly 1 / (sqrt(mu) - sqrt(lambda))^2 (the slowest decay rate
    of the birth-death chain, the edge of its spectrum; 89.7 s at rho =
    0.8). For c servers the same with c times the rates (exact in heavy
    traffic). ``variability`` is
    (ca^2 + cs^2) / 2, the squared coefficients of variation of interarrival
    and service times: the heavy-traffic diffusion of a GI/G/1 queue relaxes
    in proportion to it (1 for M/M/1, 1.5 for M/G/1 with cs^2 = 2).
    """
    return variability / (servers * (1.0 - math.sqrt(rho)) ** 2)


def warm_up(rho: float, *, servers: int = 1, variability: float = 1.0) -> float:
    """Ten relaxation times: what each run deletes before measuring."""
    return 10.0 * relaxation_time(rho, servers=servers, variability=variability)


def mmck_relaxation_time(c: int, k: int, lam: float, mu: float = 1.0) -> float:
    """Exact relaxation time of M/M/c/K: one over the spectral gap of its generator.

    A birth-death generator is symmetric in the right weights: its diagonal
    and the geometric means of opposite rates form a symmetric tridiagonal
    matrix with the same eigenvalues (0 and then the decay rates).
    """
    births = np.full(k + 1, lam)
    births[-1] = 0.0
    deaths = mu * np.minimum(np.arange(k + 1), c).astype(float)
    diagonal = -(births + deaths)
    off = np.sqrt(births[:-1] * deaths[1:])
    eigenvalues = linalg.eigh_tridiagonal(diagonal, off, eigvals_only=True)
    return float(-1.0 / np.sort(eigenvalues)[-2])


# ---------------------------------------------------------------- closed forms


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability by the stable recursion."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def mmc_time(c: int, lam: float, mu: float) -> float:
    """Mean time in system of an M/M/c queue (Erlang C)."""
    a = lam / mu
    rho = a / c
    b = erlang_b(c, a)
    wait_probability = b / (1 - rho * (1 - b))
    return wait_probability / (c * mu - lam) + 1 / mu


def mg1_time(lam: float, mean_s: float, scv: float) -> float:
    """Mean time in system of an M/G/1 FCFS queue (Pollaczek-Khinchine)."""
    rho = lam * mean_s
    return mean_s + rho * mean_s * (1 + scv) / (2 * (1 - rho))


def mm1_sojourn_quantile(lam: float, mu: float, q: float) -> float:
    """The q-quantile of the M/M/1 FCFS sojourn time, exponential of rate mu - lam."""
    return -math.log1p(-q) / (mu - lam)


def md1k_wait(lam: float, k: int, service_s: float = 1.0) -> tuple[float, float]:
    """Blocking probability and mean wait of M/D/1/K (K in system, one served).

    Exact, from the queue left behind by departures: an embedded Markov
    chain on 0..K-1 whose steps add the Poisson arrivals of one service. The
    time-average law follows as p_n = d_n / (d_0 + rho) for n < K and
    p_K = 1 - 1 / (d_0 + rho) (the standard M/G/1/K relation).
    """
    rho = lam * service_s
    arrivals = stats.poisson.pmf(np.arange(k), rho)
    step = np.zeros((k, k))
    for left in range(k):
        waiting = max(left - 1, 0)  # behind the request whose service starts next
        room = k - 1 - waiting
        step[left, waiting : k - 1] = arrivals[:room]
        step[left, k - 1] = 1.0 - arrivals[:room].sum()
    equations = np.vstack([(step.T - np.eye(k))[:-1], np.ones(k)])
    departures = np.linalg.solve(equations, np.append(np.zeros(k - 1), 1.0))
    p = np.append(departures / (departures[0] + rho), 1.0 - 1.0 / (departures[0] + rho))
    blocking = float(p[-1])
    in_system = float(np.dot(np.arange(k + 1), p))
    return blocking, in_system / (lam * (1.0 - blocking)) - service_s


def round_robin_time(n: int, lam: float, mu: float) -> float:
    """Mean time in system of one of n exponential servers fed in turn (E_n/M/1)."""
    sigma = 0.5
    for _ in range(10_000):
        sigma = (n * lam / (n * lam + mu * (1 - sigma))) ** n
    return 1 / (mu * (1 - sigma))


def mmck(c: int, k: int, lam: float, mu: float = 1.0) -> tuple[float, float]:
    """Blocking probability and mean time in system of M/M/c/K."""
    a = lam / mu
    weights = [
        a**n / math.factorial(n) if n <= c else a**n / (math.factorial(c) * c ** (n - c))
        for n in range(k + 1)
    ]
    p = np.asarray(weights) / sum(weights)
    n_mean = float(np.dot(np.arange(k + 1), p))
    return float(p[-1]), n_mean / (lam * (1 - p[-1]))
