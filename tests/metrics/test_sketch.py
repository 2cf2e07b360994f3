"""The quantile sketch: relative error bound, exact merges, round trips."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.metrics.sketch import QuantileSketch

QUANTILES = (0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: rng.exponential(0.05, 50_000),
        lambda rng: rng.lognormal(-3.0, 2.0, 50_000),  # heavy tail over 6 decades
        lambda rng: rng.pareto(1.1, 50_000) + 1e-3,
    ],
    ids=["exponential", "log_normal", "pareto"],
)
def test_every_quantile_is_within_alpha_of_a_sample_value_at_its_rank(draw: object) -> None:
    rng = np.random.default_rng(4)
    values = draw(rng)  # type: ignore[operator]
    sketch = QuantileSketch(alpha=0.01)
    sketch.add_many(values[:25_000])
    for v in values[25_000:].tolist():
        sketch.add(v)
    ordered = np.sort(values)
    for q in QUANTILES:
        exact = ordered[int(q * (values.size - 1))]
        assert abs(sketch.quantile(q) - exact) <= 0.01 * exact * (1 + 1e-12)
    assert sketch.mean == pytest.approx(values.mean(), rel=1e-12)


def test_merging_equals_sketching_the_union() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.exponential(1.0, 10_000), rng.gamma(0.5, 2.0, 7_000)
    left, right, union = QuantileSketch(), QuantileSketch(), QuantileSketch()
    left.add_many(a)
    right.add_many(b)
    union.add_many(np.concatenate([a, b]))
    left.merge(right)
    merged, whole = left.to_dict(), union.to_dict()
    assert merged.pop("total") == pytest.approx(whole.pop("total"), rel=1e-12)
    assert merged == whole
    assert [left.quantile(q) for q in QUANTILES] == [union.quantile(q) for q in QUANTILES]


def test_zeros_empty_sketches_and_round_trips() -> None:
    sketch = QuantileSketch()
    assert np.isnan(sketch.quantile(0.5))
    assert np.isnan(sketch.mean)
    sketch.add_many([0.0, 0.0, 0.0, 2.0])
    assert sketch.quantile(0.5) == 0.0
    assert sketch.quantile(1.0) == pytest.approx(2.0, rel=sketch.alpha)
    again = QuantileSketch.from_dict(sketch.to_dict())
    assert again.to_dict() == sketch.to_dict()
    with pytest.raises(ValueError, match=r"^cannot merge sketches of alpha 0\.005 and 0\.1$"):
        sketch.merge(QuantileSketch(alpha=0.1))
    with pytest.raises(ValueError, match=r"^q must be in \[0, 1\] \(got 2\)$"):
        sketch.quantile(2)
