"""Samplers for the duration distributions of a scenario.

Every family is parameterised by the mean (and variance) of the samples it
produces, so the mean written in a scenario is the mean the simulation sees:

* ``log_normal``: sigma² = ln(1 + v/m²), mu = ln(m) - sigma²/2.
* ``gamma``: shape = m²/v, scale = v/m.
* ``uniform``: on [m - sqrt(3v), m + sqrt(3v)] (on [0, 2m] without a variance).
* ``normal``: truncated at 0. The parent normal's parameters are solved so the
  truncated samples keep mean m and variance v (possible while v < m²).
* ``empirical``: resampling of the given values.

scipy is imported only when a truncated normal needs solving, not with this
module: importing it costs more than a second, which every command and every
worker process would otherwise pay.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.engine.streams import Sampler, blocks
from asyncflow.scenario.quantiles import quantile_law

if TYPE_CHECKING:
    from asyncflow.scenario import Distribution

_NO_TRUNCATION_Z = 8.0  # beyond 8 sigma the mass below 0 is ~6e-16: ignore it
_DIRECT_MAX_ALPHA = 1.0  # rejection from the parent keeps at least Phi(-1) = 16% of draws


@lru_cache(maxsize=256)
def truncated_normal_parent(mean: float, variance: float) -> tuple[float, float]:
    """Parent (mu, sigma) of a normal truncated at 0 with the given mean and variance."""
    if variance <= 0.0:
        return mean, 0.0
    sigma = math.sqrt(variance)
    if mean / sigma >= _NO_TRUNCATION_Z:
        return mean, sigma
    if variance >= mean * mean:
        raise ValueError(f"a normal truncated at 0 cannot have mean {mean} and variance {variance}")
    from scipy import optimize, stats

    def residual(params: np.ndarray) -> list[float]:
        mu, log_sigma = float(params[0]), float(params[1])
        s = math.exp(log_sigma)
        m, v = stats.truncnorm.stats(-mu / s, np.inf, loc=mu, scale=s, moments="mv")
        return [float(m) / mean - 1.0, float(v) / variance - 1.0]

    solution = optimize.root(residual, x0=[mean, math.log(sigma)], method="hybr")
    mu, s = float(solution.x[0]), math.exp(float(solution.x[1]))
    if not solution.success or max(abs(r) for r in residual(solution.x)) > 1e-8:
        raise ValueError(f"could not solve truncated normal for mean {mean}, variance {variance}")
    return mu, s


def _truncated_normal_block(
    rng: np.random.Generator, mu: float, sigma: float
) -> Callable[[int], np.ndarray]:
    """Samples of N(mu, sigma) kept at or above 0.

    When at least ~16% of the parent lies above 0, parent draws are kept or
    rejected. Beyond that (a wide spread solves to a parent centred far below
    0: at variance 0.99 mean**2 only 1e-43 of it is above 0), Robert's (1995)
    exponential proposal samples the tail directly, accepting most proposals
    whatever the truncation point.
    """
    alpha = -mu / sigma if sigma > 0.0 else -math.inf  # the truncation point, standardised
    if alpha <= _DIRECT_MAX_ALPHA:

        def draw(n: int) -> np.ndarray:
            out = np.empty(0)
            while out.size < n:
                x = rng.normal(mu, sigma, size=2 * n)
                out = np.concatenate((out, x[x >= 0.0]))
            return out[:n]

        return draw
    rate = (alpha + math.sqrt(alpha * alpha + 4.0)) / 2.0

    def draw_tail(n: int) -> np.ndarray:
        out = np.empty(0)
        while out.size < n:
            z = alpha + rng.exponential(1.0 / rate, size=n + 16)
            keep = z[rng.random(z.size) <= np.exp(-0.5 * (z - rate) ** 2)]
            out = np.concatenate((out, np.maximum(mu + sigma * keep, 0.0)))
        return out[:n]

    return draw_tail


def block_drawer(dist: Distribution, rng: np.random.Generator) -> Callable[[int], np.ndarray]:
    """Return ``draw(n) -> ndarray`` of ``n`` samples of ``dist``."""
    family = dist.distribution
    mean, variance = dist.moments()
    if family == "deterministic":
        return lambda n: np.full(n, mean)
    if family in ("exponential", "poisson"):
        return lambda n: rng.exponential(mean, n)
    if family == "log_normal":
        s2 = math.log1p(variance / (mean * mean))
        mu = math.log(mean) - s2 / 2.0
        return lambda n: rng.lognormal(mu, math.sqrt(s2), n)
    if family == "gamma":
        if variance == 0.0:
            return lambda n: np.full(n, mean)
        return lambda n: rng.gamma(mean * mean / variance, variance / mean, n)
    if family == "uniform":
        half = math.sqrt(3.0 * variance)
        return lambda n: rng.uniform(mean - half, mean + half, n)
    if family == "normal":
        mu, sigma = truncated_normal_parent(mean, variance)
        return _truncated_normal_block(rng, mu, sigma)
    if family == "empirical":
        values = np.asarray(dist.values, dtype=float)
        return lambda n: rng.choice(values, n)
    if family == "quantiles":
        law, _ = quantile_law(dist.quantiles or {})
        if law is None:
            raise ValueError("quantiles: not a valid quantile law")
        return lambda n: law.inverse(rng.random(n))
    raise ValueError(f"unknown distribution family {family!r}")


def make_sampler(dist: Distribution, rng: np.random.Generator) -> Sampler:
    """A zero-argument sampler of ``dist`` that draws in blocks."""
    if dist.distribution == "deterministic":
        value = dist.moments()[0]
        return lambda: value
    return blocks(block_drawer(dist, rng))
