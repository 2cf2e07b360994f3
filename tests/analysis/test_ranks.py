"""Statistics read by rank, a chunk at a time, are numpy's on the array made whole."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.analysis.ranks import (
    ChunkedValues,
    keys_of,
    latency_figures,
    pairwise_sum,
    values_of_keys,
)

PERCENTILES = (0, 1, 50, 90, 95, 99, 99.9, 100)


def _chunked(values: np.ndarray, mask: np.ndarray, budget: int, chunk_rows: int) -> ChunkedValues:
    return ChunkedValues(
        values.size, lambda a, b: values[a:b][mask[a:b]], budget=budget, chunk_rows=chunk_rows
    )


def _numpy(values: np.ndarray, *, sorted_mean: bool) -> tuple[float, list[float], float]:
    mean = float(np.sort(values).mean()) if sorted_mean else float(values.mean())
    return mean, [float(q) for q in np.percentile(values, PERCENTILES)], float(values.max())


def _data(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "exponential":
        return rng.exponential(0.02, n)
    if kind == "ties":
        return np.round(rng.exponential(0.02, n), 3)
    if kind == "constant":
        return np.full(n, 0.014)
    if kind == "signed":
        return rng.normal(0.0, 1.0, n)
    return np.concatenate([np.zeros(n // 2), rng.exponential(1e-9, n - n // 2)])  # zeros, tiny


@pytest.mark.parametrize("kind", ["exponential", "ties", "constant", "signed", "zeros"])
@pytest.mark.parametrize("n", [1, 2, 3, 129, 5_000])
@pytest.mark.parametrize(("budget", "chunk_rows"), [(128, 61), (300, 1_000), (1 << 16, 64)])
def test_mean_percentiles_and_max_are_numpys(
    kind: str, n: int, budget: int, chunk_rows: int
) -> None:
    rng = np.random.default_rng(n * 7 + budget)
    values = _data(kind, n, rng)
    mask = rng.random(n) < 0.8
    mask[0] = True  # at least one value
    chosen = values[mask]
    for sorted_mean in (False, True):
        figures = latency_figures(
            _chunked(values, mask, budget, chunk_rows), PERCENTILES, sorted_mean=sorted_mean
        )
        assert figures == _numpy(chosen, sorted_mean=sorted_mean)


def test_many_chunks_and_a_small_budget_read_every_rank() -> None:
    rng = np.random.default_rng(5)
    values = np.round(rng.lognormal(-4.0, 1.0, 20_000), 6)
    everything = np.ones(values.size, dtype=bool)
    chunked = _chunked(values, everything, 128, 97)
    assert chunked.count == values.size
    ordered = np.sort(values)
    for lo in (0, 1, 5_000, 19_872):
        assert chunked.sorted_slice(lo, lo + 128).tolist() == ordered[lo : lo + 128].tolist()
    assert chunked.in_order(9_990, 10_100).tolist() == values[9_990:10_100].tolist()
    with pytest.raises(ValueError, match=r"^at most 128 values at a time \(asked for 129\)$"):
        chunked.sorted_slice(0, 129)


@pytest.mark.parametrize("n", [1, 7, 8, 127, 128, 129, 1_000, 8_193, 100_003])
@pytest.mark.parametrize("budget", [128, 1_000, 1 << 20])
def test_pairwise_sum_in_parts_is_numpys_sum(n: int, budget: int) -> None:
    values = np.random.default_rng(n).exponential(0.02, n)
    assert pairwise_sum(n, budget, lambda lo, hi: values[lo:hi]) == float(values.sum())


def test_keys_order_like_the_values_and_give_them_back() -> None:
    values = np.array([-np.inf, -2.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 3.0, np.inf])
    keys = keys_of(values)
    assert np.all(np.diff(keys.astype(object)) > 0)
    assert values_of_keys(keys).tobytes() == values.tobytes()
