"""Statistics across replications: intervals, proportions, bands, warm-up.

Every function takes plain numpy arrays and returns small frozen records, so
it can be tested on synthetic data with known answers. Missing values (NaN)
are left out and the count that remains is reported as ``n``.

- :func:`describe`: mean, standard deviation, extremes and a Student t
  confidence interval of the mean.
- :func:`bootstrap_interval`: a percentile bootstrap interval of the mean or
  of a quantile (``scipy.stats.bootstrap``).
- :func:`proportion_interval`: a probability with its Wilson interval.
- :func:`paired_difference`: the mean of paired differences and its interval.
- :func:`band`: per-bin mean, confidence band and envelope of many series.
- :func:`mser`: the MSER-5 truncation point of a series with an initial
  transient (White, 1997; White, Cobb and Spratt, 2000).

scipy is imported when a function needs it, not with this module, so
``import asyncflow`` stays quick.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Band",
    "FigureStats",
    "Proportion",
    "band",
    "bootstrap_interval",
    "describe",
    "mser",
    "paired_difference",
    "proportion_interval",
    "t_interval",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FigureStats:
    """Summary of one figure across runs.

    Attributes:
        mean: Mean of the values.
        std: Sample standard deviation (``ddof=1``); NaN when ``n < 2``.
        min: Smallest value.
        max: Largest value.
        ci_low: Lower bound of the confidence interval of the mean.
        ci_high: Upper bound of the confidence interval of the mean.
        n: Number of values (missing ones left out).
    """

    mean: float
    std: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the confidence interval (NaN when undefined)."""
        return (self.ci_high - self.ci_low) / 2.0

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the fields as a JSON-ready dict (NaN becomes ``None``)."""
        return {
            "mean": _or_none(self.mean),
            "std": _or_none(self.std),
            "min": _or_none(self.min),
            "max": _or_none(self.max),
            "ci_low": _or_none(self.ci_low),
            "ci_high": _or_none(self.ci_high),
            "n": self.n,
        }


@dataclass(frozen=True, slots=True)
class Proportion:
    """An estimated probability and its confidence interval.

    Attributes:
        p: Share of successes.
        ci_low: Lower bound of the interval.
        ci_high: Upper bound of the interval.
        successes: Number of successes.
        n: Number of trials.
    """

    p: float
    ci_low: float
    ci_high: float
    successes: int
    n: int


@dataclass(frozen=True, slots=True)
class Band:
    """Per-bin statistics of many series over the same bins.

    Attributes:
        mean: Mean of each bin across series.
        ci_low: Lower confidence bound of each bin's mean.
        ci_high: Upper confidence bound of each bin's mean.
        low: Lower envelope percentile of each bin (5% by default).
        high: Upper envelope percentile of each bin (95% by default).
        n: Number of series with a value in each bin.
    """

    mean: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    low: FloatArray
    high: FloatArray
    n: NDArray[np.int64]


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _finite(values: ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    kept: FloatArray = array[np.isfinite(array)]
    return kept


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, exclusive (got {confidence})")


def t_interval(values: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Student t confidence interval of the mean of ``values``.

    Args:
        values: The sample; NaN values are left out.
        confidence: Confidence level, e.g. 0.95.

    Returns:
        ``(low, high)``; NaN bounds with fewer than two values, and the mean
        twice when every value is the same.
    """
    from scipy import stats

    _check_confidence(confidence)
    data = _finite(values)
    if data.size < 2:
        return math.nan, math.nan
    mean = float(data.mean())
    se = float(data.std(ddof=1)) / math.sqrt(data.size)
    if se == 0.0:
        return mean, mean
    half = float(stats.t.ppf(0.5 + confidence / 2.0, data.size - 1)) * se
    return mean - half, mean + half


def describe(values: ArrayLike, confidence: float = 0.95) -> FigureStats:
    """Mean, spread, extremes and t interval of ``values`` (NaN left out).

    Args:
        values: The sample.
        confidence: Confidence level of the interval.

    Returns:
        The summary; every float is NaN when no value is left.
    """
    data = _finite(values)
    if data.size == 0:
        _check_confidence(confidence)
        nan = math.nan
        return FigureStats(nan, nan, nan, nan, nan, nan, 0)
    low, high = t_interval(data, confidence)
    std = float(data.std(ddof=1)) if data.size > 1 else math.nan
    return FigureStats(
        float(data.mean()), std, float(data.min()), float(data.max()), low, high, int(data.size)
    )


def paired_difference(a: ArrayLike, b: ArrayLike, confidence: float = 0.95) -> FigureStats:
    """Statistics of the paired differences ``b - a``.

    Pairs where either value is missing are left out.

    Args:
        a: Values of the first design, one per replication.
        b: Values of the second design, in the same replication order.
        confidence: Confidence level of the interval.

    Returns:
        :func:`describe` of the differences.
    """
    first = np.asarray(a, dtype=np.float64).ravel()
    second = np.asarray(b, dtype=np.float64).ravel()
    if first.shape != second.shape:
        raise ValueError(f"paired samples differ in size ({first.size} and {second.size})")
    return describe(second - first, confidence)


def bootstrap_interval(
    values: ArrayLike,
    confidence: float = 0.95,
    *,
    quantile: float | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Percentile bootstrap interval of the mean or of a quantile.

    Args:
        values: The sample; NaN values are left out.
        confidence: Confidence level.
        quantile: A quantile in ``[0, 1]`` to estimate instead of the mean.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so the interval is reproducible.

    Returns:
        ``(estimate, low, high)``; NaN bounds with fewer than two values.
    """
    from scipy import stats

    _check_confidence(confidence)
    if quantile is not None and not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be between 0 and 1 (got {quantile})")
    data = _finite(values)

    def statistic(sample: FloatArray, axis: int = -1) -> Any:
        if quantile is None:
            return np.mean(sample, axis=axis)
        return np.quantile(sample, quantile, axis=axis)

    if data.size == 0:
        return math.nan, math.nan, math.nan
    estimate = float(statistic(data))
    if data.size < 2:
        return estimate, math.nan, math.nan
    if np.all(data == data[0]):
        return estimate, estimate, estimate
    result = stats.bootstrap(
        (data,),
        statistic,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        **_rng_argument(np.random.default_rng(seed)),
    )
    interval = result.confidence_interval
    return estimate, float(interval.low), float(interval.high)


def _rng_argument(generator: np.random.Generator) -> dict[str, Any]:
    """Pass the generator as ``rng`` (scipy >= 1.15) or ``random_state`` (older)."""
    from scipy import stats

    if "rng" in inspect.signature(stats.bootstrap).parameters:
        return {"rng": generator}
    return {"random_state": generator}  # pragma: no cover - depends on scipy


def proportion_interval(successes: int, n: int, confidence: float = 0.95) -> Proportion:
    """A probability estimated from ``successes`` out of ``n``, with its Wilson interval.

    The Wilson score interval keeps close to its nominal coverage even for
    probabilities near 0 or 1 and small ``n``, where the normal approximation
    fails.

    Args:
        successes: Number of trials that succeeded.
        n: Number of trials.
        confidence: Confidence level.

    Returns:
        The estimate; NaN throughout when ``n`` is 0.
    """
    from scipy import stats

    _check_confidence(confidence)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n} (got {successes})")
    if n == 0:
        return Proportion(math.nan, math.nan, math.nan, 0, 0)
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(successes / n, float(ci.low), float(ci.high), successes, n)


def band(
    series: ArrayLike,
    confidence: float = 0.95,
    envelope: tuple[float, float] = (5.0, 95.0),
) -> Band:
    """Per-bin mean, t confidence band and percentile envelope of many series.

    Args:
        series: A 2-D array, one row per run and one column per bin; NaN
            marks a bin without a value (e.g. a latency with no completion).
        confidence: Confidence level of the band of the mean.
        envelope: Lower and upper percentiles of the envelope.

    Returns:
        The band; bins with no value are NaN, bins with one value have a NaN
        confidence band.
    """
    from scipy import stats

    _check_confidence(confidence)
    matrix = np.asarray(series, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"series must be 2-D, runs x bins (got shape {matrix.shape})")
    bins = matrix.shape[1]
    valid = np.isfinite(matrix)
    n = valid.sum(axis=0).astype(np.int64)
    mean = np.full(bins, np.nan)
    ci_low, ci_high = np.full(bins, np.nan), np.full(bins, np.nan)
    low, high = np.full(bins, np.nan), np.full(bins, np.nan)
    some = n > 0
    if np.any(some):
        filled = np.where(valid, matrix, 0.0)
        mean[some] = filled[:, some].sum(axis=0) / n[some]
        columns = matrix[:, some]
        low[some], high[some] = _column_percentiles(columns, envelope)
    several = n > 1
    if np.any(several):
        deviations = np.where(valid, matrix - mean, 0.0)[:, several]
        variance = (deviations**2).sum(axis=0) / (n[several] - 1)
        quantile = stats.t.ppf(0.5 + confidence / 2.0, n[several] - 1)
        half = quantile * np.sqrt(variance / n[several])
        ci_low[several] = mean[several] - half
        ci_high[several] = mean[several] + half
    return Band(mean, ci_low, ci_high, low, high, n)


def _column_percentiles(
    columns: FloatArray, envelope: tuple[float, float]
) -> tuple[FloatArray, FloatArray]:
    """Percentiles of each column ignoring NaN; every column has a value."""
    if np.all(np.isfinite(columns)):
        result = np.percentile(columns, envelope, axis=0)
    else:
        result = np.nanpercentile(columns, envelope, axis=0)
    return result[0], result[1]


def mser(values: ArrayLike, batch: int = 5) -> int:
    """Number of leading observations to discard, by MSER-``batch`` (MSER-5).

    The series is cut into consecutive batch means ``Z_1..Z_k`` (a trailing
    partial batch is ignored). For each candidate ``d`` in the first half
    of the batches the marginal standard error statistic

        ``MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..k}))^2 / (k - d)^2``

    is computed, and the ``d`` that minimises it is chosen: dropping the
    transient lowers the variance faster than it shrinks the sample. The
    search stops at half the batches, as the rule is unreliable beyond.

    Args:
        values: The output series in time order (e.g. per-bin mean latency).
            Missing values (NaN) are replaced by the mean of the others.
        batch: Observations per batch mean (5 for MSER-5).

    Returns:
        How many leading observations to drop (a multiple of ``batch``);
        0 when the series holds fewer than two batches.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1 (got {batch})")
    data = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(data)
    if not np.any(finite):
        return 0
    data = np.where(finite, data, data[finite].mean())
    k = data.size // batch
    if k < 2:
        return 0
    means = data[: k * batch].reshape(k, batch).mean(axis=1)
    # Suffix sums give every candidate's mean and squared deviations at once.
    suffix_sum = np.cumsum(means[::-1])[::-1]
    suffix_sq = np.cumsum((means**2)[::-1])[::-1]
    candidates = min(k // 2 + 1, k - 1)  # keep at least two batches
    remaining = k - np.arange(candidates)
    sums, squares = suffix_sum[:candidates], suffix_sq[:candidates]
    deviation = np.maximum(squares - sums**2 / remaining, 0.0)
    statistic = deviation / remaining.astype(np.float64) ** 2
    return int(np.argmin(statistic)) * batch
