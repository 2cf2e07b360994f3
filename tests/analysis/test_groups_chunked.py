"""Grouped sums a chunk at a time are bit for bit those of one pass over every row."""

from __future__ import annotations

import numpy as np
import pytest

from asyncflow.analysis.groups import CHUNK_ROWS, Quantiles, codes_of, slot_sums, sums
from asyncflow.metrics.phases import SLOTS

ROWS = 2 * CHUNK_ROWS + 1234  # three chunks, the last one partial


def _codes(rng: np.random.Generator, groups: int) -> np.ndarray:
    return rng.integers(-1, groups, size=ROWS).astype(np.int32)


def _one_pass(codes: np.ndarray, groups: int, weights: np.ndarray | None) -> np.ndarray:
    keep = codes >= 0
    w = None if weights is None else weights[keep]
    return np.bincount(codes[keep], weights=w, minlength=groups)[:groups]


@pytest.mark.parametrize("groups", [1, 7, 1000])
def test_sums_equal_one_bincount(groups: int) -> None:
    rng = np.random.default_rng(groups)
    codes = _codes(rng, groups)
    weights = rng.exponential(0.01, size=ROWS)
    assert np.array_equal(sums(codes, groups), _one_pass(codes, groups, None))
    chunked = sums(codes, groups, weights)
    assert chunked.tobytes() == _one_pass(codes, groups, weights).tobytes()


def test_slot_sums_equal_one_bincount_per_column() -> None:
    rng = np.random.default_rng(3)
    groups, kept = 5, (0, 2, 5)
    codes = _codes(rng, groups)
    slots = rng.exponential(0.01, size=(ROWS, len(kept))).astype(np.float32)
    expected = np.zeros((groups, SLOTS))
    for k, slot in enumerate(kept):
        expected[:, slot] = _one_pass(codes, groups, slots[:, k].astype(np.float64))
    assert slot_sums(codes, groups, slots, kept).tobytes() == expected.tobytes()


def test_no_rows() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert sums(empty, 3).tolist() == [0, 0, 0]
    assert sums(empty, 3, np.zeros(0)).tolist() == [0.0, 0.0, 0.0]


def test_codes_of_mixed_radix_with_missing() -> None:
    workload = np.array([0, 1, 1, -1, 0], dtype=np.int8)
    server = np.array([2, 0, -1, 1, 1], dtype=np.int16)
    assert codes_of(workload, server, sizes=(2, 3)).tolist() == [2, 3, -1, -1, 1]


def test_quantiles_group_sorted_values() -> None:
    rng = np.random.default_rng(4)
    codes = _codes(rng, 4)
    values = rng.exponential(1.0, size=ROWS)
    ranked = Quantiles.of(codes, values, 4)
    for g in range(4):
        assert np.array_equal(ranked.group(g), np.sort(values[codes == g]))
