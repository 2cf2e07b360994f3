"""Samplers draw what the scenario says: the mean (and variance) of the samples."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.engine.sampling import make_sampler, truncated_normal_parent
from asyncflow.engine.streams import RandomStreams
from asyncflow.scenario import Distribution

N = 200_000


def _dist(**spec: object) -> Distribution:
    return Distribution.model_validate(spec)


CASES = [
    _dist(distribution="deterministic", mean=0.25),
    _dist(distribution="exponential", mean=0.01),
    _dist(distribution="normal", mean=1.0, variance=0.04),
    _dist(distribution="normal", mean=1.0, variance=0.64),  # truncation matters here
    _dist(distribution="log_normal", mean=0.02, variance=0.0009),
    _dist(distribution="uniform", mean=0.5, variance=0.02),
    _dist(distribution="uniform", mean=0.5),
    _dist(distribution="gamma", mean=2.0, variance=8.0),
    _dist(distribution="empirical", values=(0.1, 0.2, 0.2, 0.9)),
]


@pytest.mark.parametrize("dist", CASES, ids=lambda d: d.distribution)
def test_samples_have_the_analytic_mean_and_variance(dist: Distribution) -> None:
    rng = RandomStreams(3).generator("test")
    sampler = make_sampler(dist, rng)
    samples = np.array([sampler() for _ in range(N)])
    mean, variance = dist.moments()
    assert np.all(samples >= 0.0)
    if variance == 0.0:
        assert np.all(samples == mean)
        return
    # Mean within 5 standard errors; variance within 5 of its standard errors
    # (the SE of a sample variance uses the fourth central moment).
    assert abs(samples.mean() - mean) <= 5 * np.sqrt(variance / N)
    m4 = np.mean((samples - samples.mean()) ** 4)
    assert abs(samples.var() - variance) <= 5 * np.sqrt((m4 - variance**2) / N)


def test_truncated_normal_parent_keeps_mean_and_variance() -> None:
    from scipy import stats

    mu, sigma = truncated_normal_parent(1.0, 0.64)
    mean, variance = stats.truncnorm.stats(-mu / sigma, np.inf, loc=mu, scale=sigma, moments="mv")
    assert float(mean) == pytest.approx(1.0, rel=1e-7)
    assert float(variance) == pytest.approx(0.64, rel=1e-7)
    assert mu < 1.0  # the parent is shifted left to undo the truncation


def test_same_stream_name_gives_same_numbers_and_others_differ() -> None:
    a = RandomStreams(1).generator("edge:e1:latency").random(5)
    b = RandomStreams(1).generator("edge:e1:latency").random(5)
    c = RandomStreams(1).generator("edge:e2:latency").random(5)
    d = RandomStreams(2).generator("edge:e1:latency").random(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^seed must be >= 0 \(got -1\)$"):
        RandomStreams(-1)
