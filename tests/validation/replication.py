"""Replicated estimates and how a check against theory decides.

Every check runs its scenario R = 32 times with seeds 1..R. Each run gives
one estimate of the quantity (a mean, a fraction, a level); the R values are
independent, so their spread gives the standard error SE of their mean, and

    (grand mean - true value) / SE

follows Student's t with R - 1 = 31 degrees of freedom (each run is long
enough for its estimate to be close to normal; where it is visibly skewed,
the check says so). A check fails when the theory lies more than
``T_QUANTILE`` = 4.46 SE from the grand mean: a correct model fails it with
probability ``FALSE_ALARM`` = 1e-4 (over the choice of seeds; with the seeds
fixed, every run of the suite gives the same verdict).

Power. When the truth is theory + d, the ratio above is noncentral t with
noncentrality d / SE; the check catches the deviation with probability 0.9
once d >= ``SHIFT_FOR_POWER`` x SE = 5.90 SE. Each check states the relative
deviation ``detects`` it must catch with probability 0.9 and fails as
"too imprecise" if its SE is larger than ``detects / 5.90`` of the value:
the check can never be too wide to mean something. (This uses the measured
SE in place of the true one; with 31 degrees of freedom the two are within
about 25% of each other at 90% confidence.)

Skewness. Run means of a queue are right-skewed (one long busy period
lengthens a run's mean), and a skewed population makes the t-ratio's tails
uneven: simulated with 32 values from a gamma law, the two-sided rate beyond
4.46 is 1.2e-4 at skewness 0.2, 1.9e-4 at 0.5 and 3e-4 at 0.7
(test_statistics.py checks the last). The skewness of each check's per-run
values, measured with 300 runs a tenth as long and scaled by the square
root of the length, is 0.3 or less for most checks; about 0.4 to 0.5 for
M/M/2, the RAM queue, round robin, the M/M/1 p95 and the log-normal M/G/1
(false alarm up to 2e-4); 0.7 for the M/D/1/K wait at ρ = 0.9 (3e-4).

Why 32 runs: with 8 runs the t-quantile at the same false-alarm rate is
7.89, twice the normal 3.89, and power 0.9 needs 10.6 SE; for the same
simulated time 32 runs a quarter as long have twice the SE each but about
the same grand SE, so they catch deviations 1.8 times smaller. The price is
32 warm-ups instead of 8: a few percent of the simulated time here.

Warm-up and censoring. Each run starts empty and drops the requests
generated in its first ``warm_up_s`` (about ten relaxation times of the
queue, see ``queues.warm_up``; for M/M/1 the remaining bias is computed
exactly in test_statistics.py). Requests generated in the last ``drain_s``
of a run are left out too, and every request generated in between must have
finished: otherwise the slowest requests, still in flight at the end, would
be missing and bias the estimate down.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import optimize, stats

import asyncflow
from asyncflow.scenario import Scenario

_T = TypeVar("_T")
REPLICATIONS = 32
FALSE_ALARM = 1e-4
"""Probability that a check fails when the model is right (two-sided)."""
POWER = 0.9


@functools.cache
def t_limit(replications: int = REPLICATIONS) -> float:
    """The two-sided Student-t quantile at ``FALSE_ALARM`` for this many runs."""
    return float(stats.t.ppf(1 - FALSE_ALARM / 2, replications - 1))


@functools.cache
def shift_for_power(power: float = POWER, replications: int = REPLICATIONS) -> float:
    """Deviation, in SE, that a check catches with probability ``power``.

    The far tail (an estimate so wrong that it lands beyond the opposite
    limit) is below 1e-15 and left out, so this errs on the safe side.
    """
    df, limit = replications - 1, t_limit(replications)
    result = optimize.brentq(lambda d: stats.nct.sf(limit, df, d) - power, 0.0, 50.0)
    return float(result)


T_QUANTILE = t_limit()
"""4.46: the two-sided Student-t quantile at ``FALSE_ALARM``, 31 degrees of freedom."""
SHIFT_FOR_POWER = shift_for_power()
"""5.90: a deviation of this many SE is caught with probability 0.9."""


@dataclass(frozen=True)
class Estimate:
    """A replicated estimate: point value, standard error, the per-run values.

    The check's limit and power follow from the number of runs (32 in the
    theory checks: ``T_QUANTILE``, ``SHIFT_FOR_POWER``).

    Attributes:
        mean: The point estimate (grand mean of the runs, or a pooled statistic).
        se: Its standard error, from the spread of the per-run values.
        values: One value per run.
    """

    mean: float
    se: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        """The grand mean of per-run values and its standard error."""
        arr = np.asarray(values, dtype=float)
        return cls(
            float(arr.mean()), float(arr.std(ddof=1) / np.sqrt(arr.size)), tuple(arr.tolist())
        )

    @property
    def limit(self) -> float:
        """How many SE from theory the estimate may lie (4.46 for 32 runs)."""
        return t_limit(len(self.values))

    def ratio(self, theory: float) -> float:
        """How many SE the estimate lies from ``theory``."""
        return (self.mean - theory) / self.se

    def agrees_with(self, theory: float) -> bool:
        """Whether ``theory`` lies within ``limit`` SE of the estimate."""
        return abs(self.ratio(theory)) <= self.limit

    def detectable(self, theory: float) -> float:
        """Smallest relative deviation from ``theory`` caught with probability 0.9."""
        return shift_for_power(POWER, len(self.values)) * self.se / abs(theory)

    def power(self, deviation: float) -> float:
        """Probability of failing the check when the truth is theory + ``deviation``."""
        df = len(self.values) - 1
        return float(stats.nct.sf(self.limit, df, abs(deviation) / self.se))

    def describe(self, theory: float) -> str:
        """One line for the log: estimate, SE, tolerance, detectable deviation."""
        return (
            f"theory {theory:.6g}, simulated {self.mean:.6g} ± {self.se:.3g} (SE, "
            f"{self.se / abs(theory):.2%}), ratio {self.ratio(theory):+.2f}, tolerance "
            f"± {self.limit * self.se:.3g}, detects {self.detectable(theory):.2%} with power 0.9"
        )

    def check(self, theory: float, *, detects: float) -> None:
        """Fail unless precise enough to catch ``detects`` and in agreement with theory.

        Args:
            theory: The closed-form value.
            detects: Relative deviation the check must catch with probability 0.9.
        """
        print(self.describe(theory))
        assert self.detectable(theory) <= detects, (
            f"too imprecise to test: SE {self.se:.4g} catches only deviations of "
            f"{self.detectable(theory):.2%} of {theory:.6g} (required {detects:.2%})"
        )
        assert self.agrees_with(theory), (
            f"simulated {self.mean:.6g} ± {self.se:.3g} (SE) vs theory {theory:.6g}: "
            f"off by {abs(self.ratio(theory)):.1f} SE (limit {self.limit:.2f})"
        )


def per_run(scenario: Scenario, measure: Callable[[asyncflow.Results], _T]) -> list[_T]:
    """``measure`` of each run of the scenario, seeds 1..R (the runs are not kept)."""
    return [measure(asyncflow.run(scenario, seed=seed)) for seed in range(1, REPLICATIONS + 1)]


def replications(scenario: Scenario) -> list[asyncflow.Results]:
    """The scenario run with seeds 1..R."""
    return per_run(scenario, lambda results: results)


def replicate(
    runs: Scenario | Sequence[asyncflow.Results], measure: Callable[[asyncflow.Results], float]
) -> Estimate:
    """Estimate the mean of ``measure`` over the runs (run here if given a scenario)."""
    if isinstance(runs, Scenario):
        return Estimate.of(per_run(runs, measure))
    return Estimate.of([measure(r) for r in runs])


def sectioned_quantile(samples: Sequence[np.ndarray], q: float) -> Estimate:
    """The ``q``-quantile of the pooled samples, with the SE of sectioning.

    A sample quantile is biased by O(1/n) (for n autocorrelated values the
    constant grows with the correlation time). Averaging R per-run quantiles
    keeps the bias of one run, which for the M/M/1 p99 at ten thousand
    customers a run is about two SE of the average. The quantile of all R
    runs pooled has R times less bias; its SE is taken from the spread of the
    per-run quantiles (sectioning: the same t-ratio with R - 1 degrees of
    freedom holds asymptotically).
    """
    each = np.asarray([np.quantile(s, q) for s in samples])
    pooled = float(np.quantile(np.concatenate(samples), q))
    return Estimate(pooled, float(each.std(ddof=1) / np.sqrt(each.size)), tuple(each.tolist()))


def measured_requests(results: asyncflow.Results, drain_s: float) -> np.ndarray:
    """Mask of the requests generated in ``[warm_up_s, end_s - drain_s)``.

    Raises:
        AssertionError: One of them is still in flight at the end of the run.
    """
    r = results.requests
    mask: np.ndarray = (r.generated_s >= results.warm_up_s) & (
        r.generated_s < results.end_s - drain_s
    )
    in_flight = int(np.count_nonzero(mask & (r.outcome == 0)))
    assert in_flight == 0, f"{in_flight} measured requests still in flight: drain longer"
    return mask
