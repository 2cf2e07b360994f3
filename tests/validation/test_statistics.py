"""The statistics and closed forms behind the theory checks, checked without simulating."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats
from scipy.sparse import linalg as sparse_linalg

from .queues import (
    md1k_wait,
    mg1_time,
    mm1_sojourn_quantile,
    mmc_time,
    mmck,
    mmck_relaxation_time,
    relaxation_time,
    round_robin_time,
)
from .replication import FALSE_ALARM, SHIFT_FOR_POWER, T_QUANTILE, Estimate, shift_for_power
from .supermarket import exact_time, jsq_d_time, refined_time
from .test_mm1 import LAM, THIN_EVERY, WARM_UP_S


def test_worked_values_of_the_reference_table() -> None:
    assert mmc_time(1, 0.8, 1.0) == pytest.approx(5.0)
    assert mmc_time(2, 1.6, 1.0) == pytest.approx(2.777778, abs=1e-6)
    assert mmc_time(4, 3.2, 1.0) == pytest.approx(1.745541, abs=1e-6)
    assert mg1_time(0.8, 1.0, 0.0) - 1.0 == pytest.approx(2.0)
    assert mg1_time(0.9, 1.0, 0.0) - 1.0 == pytest.approx(4.5)
    assert round_robin_time(2, 0.8, 1.0) == pytest.approx(3.843980, abs=1e-6)
    assert jsq_d_time(2, 0.8) == pytest.approx(1.947363, abs=1e-6)
    assert jsq_d_time(2, 0.9) == pytest.approx(2.614057, abs=1e-6)
    assert mmck(1, 5, 0.9) == pytest.approx((0.126023, 2.790286), abs=1e-6)
    assert mmck(4, 8, 3.2) == pytest.approx((0.060728, 1.259188), abs=1e-6)
    assert mm1_sojourn_quantile(0.8, 1.0, 0.99) == pytest.approx(5 * np.log(100))


def test_md1k_tends_to_pollaczek_khinchine_and_to_erlang_loss() -> None:
    assert md1k_wait(0.9, 400) == pytest.approx((0.0, 4.5), abs=1e-9)
    blocking, wait = md1k_wait(0.9, 1)  # no room to wait: Erlang B with one server
    assert (blocking, wait) == pytest.approx((0.9 / 1.9, 0.0), abs=1e-12)
    # A backlog of 50 behind one connection: blocking 3e-6, the wait 0.03% short of M/D/1.
    blocking, wait = md1k_wait(0.9, 51)
    assert blocking == pytest.approx(2.96e-6, rel=0.01)
    assert wait == pytest.approx(4.4985, abs=1e-4)


def test_thresholds_of_the_checks() -> None:
    """32 runs: t-quantile 4.46 at 1e-4; power 0.9 at 5.90 SE. With 8 runs: 7.89 and 10.6."""
    assert pytest.approx(4.461, abs=1e-3) == T_QUANTILE
    assert pytest.approx(5.90, abs=0.01) == SHIFT_FOR_POWER
    assert stats.t.ppf(1 - FALSE_ALARM / 2, 7) == pytest.approx(7.885, abs=1e-3)
    assert shift_for_power(replications=8) == pytest.approx(10.61, abs=0.01)


def test_the_power_formula_by_monte_carlo() -> None:
    """A deviation of 5.90 SE makes 90% of 20,000 simulated checks fail (±5 binomial SE)."""
    rng = np.random.default_rng(2024)
    values = rng.normal(SHIFT_FOR_POWER / np.sqrt(32), 1.0, size=(20_000, 32))
    ratios = values.mean(axis=1) / (values.std(axis=1, ddof=1) / np.sqrt(32))
    failed = np.mean(np.abs(ratios) > T_QUANTILE)
    assert failed == pytest.approx(0.9, abs=5 * np.sqrt(0.9 * 0.1 / 20_000))
    estimate = Estimate.of(values[0].tolist())
    assert estimate.power(SHIFT_FOR_POWER * estimate.se) == pytest.approx(0.9)
    assert estimate.detectable(1.0) == pytest.approx(SHIFT_FOR_POWER * estimate.se)


def test_false_alarm_of_skewed_run_means() -> None:
    """With run means of skewness 0.7 (a gamma law) the check fails about 3e-4 of the time."""
    rng = np.random.default_rng(7)
    shape = 4 / 0.7**2
    failed = 0
    for _ in range(4):
        values = rng.gamma(shape, 1.0, size=(250_000, 32))
        ratios = (values.mean(axis=1) - shape) / (values.std(axis=1, ddof=1) / np.sqrt(32))
        failed += int(np.count_nonzero(np.abs(ratios) > T_QUANTILE))
    assert 1.5e-4 < failed / 1e6 < 4e-4


def _mm1_generator(lam: float, cap: int = 400) -> sparse.csr_matrix:
    """Generator of M/M/1 (μ = 1) cut at ``cap`` requests (λ^cap is below 1e-38)."""
    q = sparse.diags([np.full(cap, lam), np.ones(cap)], [1, -1]).tolil()
    q.setdiag(-np.asarray(q.sum(axis=1)).ravel())
    return q.tocsr()


def test_mm1_warm_up_leaves_no_measurable_bias() -> None:
    """Started empty, M/M/1 at ρ = 0.8 after the 897 s warm-up is stationary to 1e-6.

    From empty the queue grows stochastically with time, so its distance to
    the stationary law only shrinks after the warm-up. A request arriving
    at t spends (N(t) + 1) services in the system, so the bias of the mean
    time is at most |E N(w) - 4| s, and that of any probability (percentile,
    KS) at most the total-variation distance at w.
    """
    q = _mm1_generator(LAM)
    n = np.arange(q.shape[0])
    stationary = (1 - LAM) * LAM**n
    empty = (n == 0).astype(float)
    at_warm_up = sparse_linalg.expm_multiply(q.T * WARM_UP_S, empty)
    mean_gap = abs(at_warm_up @ n - stationary @ n)
    distance = 0.5 * np.abs(at_warm_up - stationary).sum()
    assert mean_gap < 1e-5  # against a tolerance of 0.17 s on T = 5 s
    assert distance < 1e-6
    # The closed-form relaxation time is the chain's exact one (cut at 400: 0.5% shorter).
    assert relaxation_time(LAM) == pytest.approx(89.72, abs=0.01)
    assert mmck_relaxation_time(1, 400, LAM) == pytest.approx(relaxation_time(LAM), rel=0.01)


def test_mm1_thinned_requests_are_nearly_independent() -> None:
    """The stationary queue length's autocorrelation at the thinning lag (500 s) is below 1e-3."""
    q = _mm1_generator(LAM)
    n = np.arange(q.shape[0], dtype=float)
    stationary = (1 - LAM) * LAM**n
    mean = stationary @ n
    lag = THIN_EVERY / LAM
    ahead = sparse_linalg.expm_multiply(q * lag, n)  # E[N(lag) | N(0) = i]
    correlation = (stationary * (n - mean)) @ (ahead - mean) / (stationary @ (n - mean) ** 2)
    assert 0 < correlation < 1e-3


def test_supermarket_1_over_n_term_against_exact_small_systems() -> None:
    """n² x (exact - refined) falls from n = 3 to 4 (3.03, 2.82): the rest at n = 100 is tiny.

    The rest is O(1/n²); bounding its constant by the value at n = 4 gives
    2.9e-4 s at n = 100, below the 3.1e-4 s the check assumes.
    """
    rests = [n * n * (exact_time(n, 0.8, 18) - refined_time(n, 0.8)) for n in (3, 4)]
    assert rests[0] == pytest.approx(3.03, abs=0.02)
    assert 0 < rests[1] < rests[0]
    assert rests[1] / 100**2 < 3.1e-4
    assert refined_time(100, 0.8) == pytest.approx(1.958482, abs=1e-6)
    assert refined_time(100, 0.8) / jsq_d_time(2, 0.8) - 1 == pytest.approx(0.0057, abs=1e-4)
