"""Builders and statistics for the validation against queueing theory.

Edges are given a constant 1 µs latency so that a request's latency is its
time in the server plus 3 µs, which is subtracted. Arrivals are Poisson of
rate ``rate`` (deterministic users, one request per second each).

Tolerances come from replications: R independent runs (seeds 1..R) give R
estimates of the mean; their standard error SE is estimated from their
spread, and the theory must lie within ``Z * SE`` of the grand mean. With
Z = 4 a correct model fails with probability below 1e-4 (Student t, R - 1
degrees of freedom, is slightly wider: the constant below is that quantile).
Each check also requires SE to be small relative to the value, so a
tolerance can never be wide enough to pass anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

import asyncflow
from asyncflow.scenario import Scenario, ScenarioBuilder
from asyncflow.scenario.builder import endpoint

HOP_S = 1e-6
HOPS = 3
REPLICATIONS = 8
FALSE_ALARM = 1e-4
T_QUANTILE = float(stats.t.ppf(1 - FALSE_ALARM / 2, REPLICATIONS - 1))


def queue_scenario(
    rate: float,
    steps: Sequence[Mapping[str, Any]],
    *,
    horizon_s: float,
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
    return (
        builder.wire(latency=HOP_S)
        .settings(horizon_s=horizon_s, warm_up_s=0.05 * horizon_s)
        .build()
    )


@dataclass(frozen=True)
class Estimate:
    """Grand mean of R replications and its standard error."""

    mean: float
    se: float
    values: tuple[float, ...]

    def check(self, theory: float, max_relative_se: float) -> None:
        """Theory within the t-quantile of SE; the estimate precise enough to mean something."""
        assert self.se <= max_relative_se * abs(theory), (
            f"too imprecise to test: SE {self.se:.4g} > {max_relative_se:.1%} of {theory:.6g}"
        )
        gap = abs(self.mean - theory)
        assert gap <= T_QUANTILE * self.se, (
            f"simulated {self.mean:.6g} ± {self.se:.3g} (SE) vs theory {theory:.6g}: "
            f"off by {gap / self.se:.1f} SE (limit {T_QUANTILE:.1f})"
        )


def replications(scenario: Scenario) -> list[asyncflow.Results]:
    """The scenario run with seeds 1..R."""
    return [asyncflow.run(scenario, seed=seed) for seed in range(1, REPLICATIONS + 1)]


def replicate(
    runs: Scenario | list[asyncflow.Results], measure: Callable[[asyncflow.Results], float]
) -> Estimate:
    """Estimate the mean of ``measure`` over R replications (run here if given a scenario)."""
    if isinstance(runs, Scenario):
        runs = replications(runs)
    arr = np.asarray([measure(r) for r in runs])
    return Estimate(
        float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(arr.size)), tuple(arr.tolist())
    )


def time_in_system(results: asyncflow.Results) -> float:
    """Mean time in the server(s): latency less the constant network hops."""
    return float(results.latencies().mean()) - HOPS * HOP_S


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


def round_robin_time(n: int, lam: float, mu: float) -> float:
    """Mean time in system of one of n exponential servers fed in turn (E_n/M/1)."""
    sigma = 0.5
    for _ in range(10_000):
        sigma = (n * lam / (n * lam + mu * (1 - sigma))) ** n
    return 1 / (mu * (1 - sigma))


def jsq_d_time(d: int, lam: float, terms: int = 60) -> float:
    """Mean time in system of JSQ(d) as n → ∞ (μ = 1), the supermarket model."""
    return sum(
        lam ** ((d**i - d) / (d - 1)) for i in range(1, terms) if (d**i - d) / (d - 1) < 5000
    )
