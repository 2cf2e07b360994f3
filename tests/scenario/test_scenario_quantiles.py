"""Durations given by their quantiles: the law, its moments, its errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from asyncflow.engine.sampling import block_drawer
from asyncflow.scenario.builder import quantiles
from asyncflow.scenario.distributions import Distribution
from asyncflow.scenario.quantiles import quantile_law


def _law(points: dict[str, float]) -> Distribution:
    return Distribution.model_validate(quantiles(points))


def test_bounded_law_is_piecewise_uniform() -> None:
    # Half of the mass uniform on [0, 2], half on [2, 4]: mean 2, E[x²] = 16/3.
    dist = _law({"p50": 2.0, "max": 4.0})
    mean, variance = dist.moments()
    assert (mean, variance) == pytest.approx((2.0, 16.0 / 3.0 - 4.0))


def test_exponential_tail_through_the_two_highest_points() -> None:
    # From (0, 0) to p50 = ln 2 the law is uniform; above it the tail of
    # scale θ = ln 2 / ln 2 = 1 passes through p50, so p99 = ln 2 + ln 50.
    law, problems = quantile_law({"p50": math.log(2.0)})
    assert problems == []
    assert law is not None
    assert law.tail == pytest.approx(1.0)
    u = np.array([0.25, 0.5, 0.99])
    assert law.inverse(u) == pytest.approx([math.log(2.0) / 2, math.log(2.0), math.log(100.0)])


def test_samples_match_the_given_quantiles_and_the_moments() -> None:
    dist = _law({"min": 0.001, "p50": 0.004, "p90": 0.009, "p99": 0.03})
    samples = block_drawer(dist, np.random.default_rng(7))(400_000)
    # Each empirical quantile of 400,000 draws is within 0.1 percentage point
    # of its level with overwhelming probability (binomial SD 0.016 points at
    # p99); the law is linear around each point, so compare values.
    assert np.quantile(samples, [0.5, 0.9, 0.99]) == pytest.approx([0.004, 0.009, 0.03], rel=0.02)
    assert samples.min() >= 0.001
    mean, variance = dist.moments()
    # Standard error of the sample mean: sqrt(variance / n), here about 1e-5.
    assert abs(samples.mean() - mean) < 5 * math.sqrt(variance / samples.size)


@pytest.mark.parametrize(
    ("points", "path", "message"),
    [
        ({"p90": 0.001, "p50": 0.002}, "quantiles.p90", "must not be below p50 = 0.002"),
        ({"min": 0.01, "p50": 0.002}, "quantiles.p50", "must not be below min = 0.01"),
        ({"p50": 0.01, "max": 0.002}, "quantiles.max", "must not be below p50 = 0.01"),
        ({"p100": 0.01}, "quantiles.p100", "must be min, max or p<percent> with 0 < percent"),
        ({"median": 0.01}, "quantiles.median", "must be min, max or p<percent>"),
        ({"max": 0.01}, "quantiles", "needs at least one percentile (e.g. p50)"),
        ({"p50": -1.0}, "quantiles.p50", "must be >= 0"),
        ({"p50": 1e200}, "quantiles", "are too large: their mean or variance overflows a double"),
    ],
)
def test_bad_quantiles(points: dict[str, float], path: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _law(points)
    assert path in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (
            {"distribution": "quantiles", "quantiles": {"p50": 1}, "mean": 1},
            "mean",
            "not allowed for quantiles (it is computed from the quantiles)",
        ),
        ({"distribution": "quantiles"}, "quantiles", "required for quantiles"),
        (
            {"distribution": "gamma", "mean": 1, "variance": 1, "quantiles": {"p50": 1}},
            "quantiles",
            "only allowed for quantiles",
        ),
    ],
)
def test_quantiles_key_belongs_to_its_family(data: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Distribution.model_validate(data)
    assert f"{path}\n" in str(caught.value) or f"{path}:" in str(caught.value)
    assert message in str(caught.value)


def test_builder_refuses_a_non_mapping() -> None:
    with pytest.raises(TypeError, match=r"quantiles\(\): points"):
        quantiles([0.004, 0.03])  # type: ignore[arg-type]


def test_random_streams_keep_their_keys() -> None:
    """A step's work is drawn from a stream keyed by its distribution's fields:
    the new ``quantiles`` field, unset, must not change the key (nor the draws)."""
    from asyncflow.components.program import _described

    dist = Distribution.model_validate({"distribution": "exponential", "mean": 1})
    assert _described(dist) == {
        "distribution": "exponential",
        "mean": 1.0,
        "variance": None,
        "values": None,
    }
    assert "quantiles" in _described(_law({"p50": 1.0}))
