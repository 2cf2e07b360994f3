"""M/M/1 at ρ = 0.8 (μ = 1): mean, levels, percentiles and the law of the sojourn time.

One set of 32 runs serves every check here. Each run deletes a warm-up of
ten relaxation times (897 s; the bias left is computed exactly in
test_statistics.py), measures the requests generated in the next 62,500 s
(about 50,000 of them) and lets the last 100 s drain (a sojourn longer than
100 s has probability e^-20). How a check decides is in replication.py; the
``detects`` of each check is the relative deviation it catches with
probability 0.9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

import asyncflow
from asyncflow.scenario.builder import cpu, exponential

from .queues import mm1_sojourn_quantile, queue_scenario, sojourns, warm_up
from .replication import FALSE_ALARM, POWER, Estimate, per_run, sectioned_quantile

pytestmark = pytest.mark.slow

LAM = 0.8
WARM_UP_S = warm_up(LAM)
MEASURED_S = 62_500.0
DRAIN_S = 100.0
THIN_EVERY = 400
"""Requests between two kept for the test of the law: 500 s apart on average,
5.6 relaxation times; the queue length's autocorrelation at that lag is 3e-4
(test_statistics.py), so the kept sojourn times are as good as independent."""


@dataclass(frozen=True)
class Run:
    """What the checks need of one run."""

    sojourns: np.ndarray
    in_server: float
    utilisation: float


def _measure(results: asyncflow.Results) -> Run:
    in_server = results.level_mean("busy_cores", "srv-1") + results.level_mean(
        "ready_queue", "srv-1"
    )
    utilisation = float(results.summary()["servers"]["srv-1"]["cpu_utilization"])
    return Run(sojourns(results, DRAIN_S), in_server, utilisation)


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    horizon = WARM_UP_S + MEASURED_S + DRAIN_S
    scenario = queue_scenario(LAM, [cpu(exponential(1.0))], horizon_s=horizon, warm_up_s=WARM_UP_S)
    return per_run(scenario, _measure)


def test_mean_time_in_system_and_littles_law(runs: list[Run]) -> None:
    """T = 1 / (μ - λ) = 5 s; on the levels N = λT = 4 and the utilisation is ρ."""
    Estimate.of([r.sojourns.mean() for r in runs]).check(5.0, detects=0.06)
    Estimate.of([r.in_server for r in runs]).check(LAM * 5.0, detects=0.06)
    Estimate.of([r.utilisation for r in runs]).check(LAM, detects=0.01)


@pytest.mark.parametrize(
    ("q", "detects"), [(0.5, 0.045), (0.95, 0.07), (0.99, 0.13)], ids=["p50", "p95", "p99"]
)
def test_sojourn_percentiles(runs: list[Run], q: float, detects: float) -> None:
    """The sojourn time is exponential of rate μ - λ: its q-quantile is -ln(1 - q) / 0.2.

    Estimated by sectioning (the pooled quantile, SE from the per-run ones;
    see ``sectioned_quantile``). A sample quantile of n values is biased by
    O(1/n): for independent exponential values of rate θ by -(θ / 2) times
    the quantile's variance (from the expected order statistics). With
    autocorrelated values the constant changes, so the bias is also measured:
    the average of the per-run quantiles carries the bias of one run, the
    pooled quantile R = 32 times less, so their gap divided by R - 1
    estimates the pooled quantile's bias. Both estimates must stay below a
    tenth of the SE (they are about 0.05 SE and 0.005 SE at p99).
    """
    theory = mm1_sojourn_quantile(LAM, 1.0, q)
    samples = [r.sojourns for r in runs]
    estimate = sectioned_quantile(samples, q)
    rate = 1.0 - LAM
    runs_count = len(samples)
    from_formula = rate / 2 * np.var(estimate.values, ddof=1) / runs_count
    measured = abs(float(np.mean(estimate.values)) - estimate.mean) / (runs_count - 1)
    print(
        f"p{q * 100:g}: bias of the pooled quantile {from_formula:.3g} s (formula), "
        f"{measured:.3g} s (measured), SE {estimate.se:.3g} s"
    )
    assert max(from_formula, measured) <= 0.1 * estimate.se
    estimate.check(theory, detects=detects)


def test_sojourn_time_is_exponential(runs: list[Run]) -> None:
    """Kolmogorov-Smirnov test of the thinned sojourn times against Exp(0.2).

    Every 400th request of each run (3,980 values, nearly independent; see
    ``THIN_EVERY``); the law is fully specified, so the exact KS p-value
    applies and the test fails when it is below 1e-4. Power: whenever the
    true law's CDF is at least ``detectable`` away from Exp(0.2) somewhere,
    the sample's CDF is within the 10% critical distance of the true one
    with probability 0.9, and then beyond the 1e-4 critical distance of
    Exp(0.2): caught with probability >= 0.9. That is 0.055 here: an
    exponential law with a mean off by 14 to 16%, or any change of shape as
    large (the mean and the percentiles are checked more sharply above).
    """
    sample = np.concatenate([r.sojourns[THIN_EVERY::THIN_EVERY] for r in runs])
    n = sample.size
    detectable = stats.kstwo.isf(FALSE_ALARM, n) + stats.kstwo.isf(1 - POWER, n)
    result = stats.kstest(sample, "expon", args=(0.0, 1.0 / (1.0 - LAM)))
    print(f"KS: {n} values, D = {result.statistic:.4f}, p = {result.pvalue:.3g}")
    print(f"KS: catches a distance of {detectable:.4f} with probability {POWER}")
    assert n >= 3_900
    assert detectable <= 0.06
    assert result.pvalue >= FALSE_ALARM
