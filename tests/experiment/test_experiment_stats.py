"""Statistics across runs, on synthetic data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from asyncflow.analysis import (
    band,
    bootstrap_interval,
    describe,
    mser,
    paired_difference,
    proportion_interval,
    t_interval,
)


def test_describe_matches_the_textbook_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    s = describe(values, 0.95)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / math.sqrt(5)
    assert (s.mean, s.min, s.max, s.n) == (3.0, 1.0, 5.0, 5)
    assert s.std == pytest.approx(math.sqrt(2.5))
    assert (s.ci_low, s.ci_high) == pytest.approx((3.0 - half, 3.0 + half))
    assert s.half_width == pytest.approx(half)


def test_describe_leaves_out_missing_values() -> None:
    assert describe([1.0, math.nan, 3.0]).n == 2
    assert describe([1.0, math.nan, 3.0]).mean == 2.0


@pytest.mark.parametrize(
    ("values", "n"), [([], 0), ([math.nan], 0), ([2.0], 1)], ids=["empty", "all-missing", "one"]
)
def test_too_few_values_give_undefined_intervals(values: list[float], n: int) -> None:
    s = describe(values)
    assert s.n == n
    assert math.isnan(s.ci_low)
    assert math.isnan(s.ci_high)
    assert math.isnan(s.std)
    assert s.as_dict()["ci_low"] is None


def test_identical_values_give_a_zero_width_interval() -> None:
    assert t_interval([4.0, 4.0, 4.0]) == (4.0, 4.0)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5])
def test_confidence_must_be_inside_zero_one(confidence: float) -> None:
    with pytest.raises(ValueError, match=r"^confidence must be between 0 and 1, exclusive"):
        t_interval([1.0, 2.0], confidence)


def test_wilson_interval_known_value() -> None:
    p = proportion_interval(8, 10, 0.95)
    assert p.p == 0.8
    # Wilson score interval for 8/10 at 95% (z = 1.96): [0.4902, 0.9433].
    assert (p.ci_low, p.ci_high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    edge = proportion_interval(10, 10)
    assert edge.ci_high == 1.0
    assert edge.ci_low < 1.0


def test_proportion_of_nothing_and_bad_counts() -> None:
    assert math.isnan(proportion_interval(0, 0).p)
    with pytest.raises(ValueError, match=r"^successes must be between 0 and n=3 \(got 4\)$"):
        proportion_interval(4, 3)


def test_bootstrap_quantile_interval_is_reproducible_and_brackets_the_estimate() -> None:
    values = np.random.default_rng(1).normal(10.0, 1.0, 200)
    first = bootstrap_interval(values, quantile=0.9, seed=3)
    assert first == bootstrap_interval(values, quantile=0.9, seed=3)
    estimate, low, high = first
    assert estimate == pytest.approx(float(np.quantile(values, 0.9)))
    assert low < estimate < high
    assert high - low < 0.6
    mean, low, high = bootstrap_interval(values)
    assert low < 10.0 < high
    assert mean == pytest.approx(values.mean())


def test_bootstrap_of_degenerate_samples() -> None:
    assert bootstrap_interval([2.0, 2.0, 2.0], quantile=0.5) == (2.0, 2.0, 2.0)
    estimate, low, _ = bootstrap_interval([2.0])
    assert estimate == 2.0
    assert math.isnan(low)
    with pytest.raises(ValueError, match=r"^quantile must be between 0 and 1 \(got 2\)$"):
        bootstrap_interval([1.0, 2.0], quantile=2)


def test_paired_difference_is_the_description_of_b_minus_a() -> None:
    a = np.array([1.0, 2.0, 3.0, math.nan])
    b = np.array([1.5, 2.7, 3.4, 9.0])
    assert paired_difference(a, b) == describe(b[:3] - a[:3])
    with pytest.raises(ValueError, match=r"^paired samples differ in size"):
        paired_difference([1.0], [1.0, 2.0])


def test_band_is_describe_bin_by_bin() -> None:
    rng = np.random.default_rng(2)
    matrix = rng.normal(5.0, 2.0, (12, 7))
    matrix[3, 2] = math.nan
    matrix[:, 5] = math.nan
    matrix[1:, 6] = math.nan
    b = band(matrix, 0.9)
    for j in range(5):
        s = describe(matrix[:, j], 0.9)
        assert (b.mean[j], b.ci_low[j], b.ci_high[j]) == pytest.approx(
            (s.mean, s.ci_low, s.ci_high)
        )
        column = matrix[:, j][np.isfinite(matrix[:, j])]
        assert (b.low[j], b.high[j]) == pytest.approx(tuple(np.percentile(column, [5, 95])))
    assert b.n.tolist() == [12, 12, 11, 12, 12, 0, 1]
    assert math.isnan(b.mean[5])
    assert math.isnan(b.low[5])
    assert b.mean[6] == matrix[0, 6]
    assert math.isnan(b.ci_low[6])


def test_band_needs_a_matrix() -> None:
    with pytest.raises(ValueError, match=r"^series must be 2-D, runs x bins \(got shape \(3,\)\)$"):
        band([1.0, 2.0, 3.0])


def transient(n: int, length: int, seed: int) -> np.ndarray:
    """Noise around 0 after an exponentially decaying start at +10 (gone after ~``length``)."""
    t = np.arange(n)
    decay = 10.0 * np.exp(-t / (length / 5.0))
    return decay + np.random.default_rng(seed).normal(0.0, 1.0, n)


@pytest.mark.parametrize("seed", range(5))
def test_mser5_cuts_a_known_transient(seed: int) -> None:
    """The start decays below the noise by observation ~100; MSER-5 cuts around there."""
    cut = mser(transient(1000, 100, seed))
    assert cut % 5 == 0
    assert 40 <= cut <= 200


def test_mser5_cuts_a_level_shift_at_its_end() -> None:
    rng = np.random.default_rng(7)
    series = rng.normal(0.0, 1.0, 600)
    series[:150] += 6.0
    assert 145 <= mser(series) <= 160


@pytest.mark.parametrize("seed", range(5))
def test_mser5_keeps_a_stationary_series_almost_whole(seed: int) -> None:
    assert mser(np.random.default_rng(seed).normal(0.0, 1.0, 1000)) <= 100


def test_mser_edge_cases() -> None:
    assert mser([1.0, 2.0, 3.0]) == 0  # fewer than two batches
    assert mser([math.nan] * 20) == 0
    with_gaps = transient(1000, 100, 0)
    with_gaps[500:510] = math.nan
    assert 40 <= mser(with_gaps) <= 200
    with pytest.raises(ValueError, match=r"^batch must be >= 1 \(got 0\)$"):
        mser([1.0, 2.0], batch=0)
