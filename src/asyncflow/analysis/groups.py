"""Grouped sums over requests and calls in one pass (``numpy.bincount``).

Per-node and per-endpoint figures are sums over the rows that belong to a
group. Masking every column once per group costs O(groups × rows); one
``bincount`` per column, with the group as the bin, costs O(rows) whatever
the number of groups. Everything here takes integer group codes (-1: no
group) and returns one total per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asyncflow.metrics.phases import CALLS_NETWORK, HOP_SLOTS, SLOTS


def sums(codes: np.ndarray, groups: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-group count (no ``weights``) or sum of ``weights``; codes < 0 are left out."""
    keep = codes >= 0
    if weights is None:
        return np.bincount(codes[keep], minlength=groups)[:groups]
    total = np.bincount(codes[keep], weights=weights[keep], minlength=groups)[:groups]
    return total.astype(np.float64)  # bincount of nothing is an integer array


def slot_sums(codes: np.ndarray, groups: int, slots: np.ndarray) -> np.ndarray:
    """Per-group sums of every phase slot: shape (groups, slots), float64."""
    keep = codes >= 0
    kept_codes = codes[keep]
    kept_slots = slots[keep]
    out = np.zeros((groups, slots.shape[1]))
    for k in range(slots.shape[1]):
        column = kept_slots[:, k]
        if column.any():
            out[:, k] = np.bincount(kept_codes, weights=column, minlength=groups)[:groups]
    return out


def as_totals(own: np.ndarray) -> np.ndarray:
    """A call's own slots as they count in its request's totals (its hops as calls' network)."""
    totals = own.astype(np.float64)
    hops = list(HOP_SLOTS)
    totals[:, CALLS_NETWORK] += totals[:, hops].sum(axis=1)
    totals[:, hops] = 0.0
    return totals


@dataclass(frozen=True, slots=True)
class Quantiles:
    """Quantiles of a value within each group, from one sort."""

    values: np.ndarray  # sorted by (group, value)
    bounds: np.ndarray  # group g is values[bounds[g]:bounds[g + 1]]

    @classmethod
    def of(cls, codes: np.ndarray, values: np.ndarray, groups: int) -> Quantiles:
        """Sort ``values`` by group once."""
        keep = codes >= 0
        codes, values = codes[keep], values[keep]
        order = np.lexsort((values, codes))
        counts = np.bincount(codes, minlength=groups)[:groups]
        bounds = np.concatenate(([0], np.cumsum(counts)))
        return cls(values[order], bounds)

    def group(self, g: int) -> np.ndarray:
        """The sorted values of group ``g``."""
        return self.values[self.bounds[g] : self.bounds[g + 1]]


def codes_of(*columns: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """One code per row from several index columns (mixed radix); -1 where any is -1."""
    code = np.zeros(columns[0].shape, dtype=np.int64)
    invalid = np.zeros(columns[0].shape, dtype=bool)
    for column, size in zip(columns, sizes, strict=True):
        column = column.astype(np.int64)
        invalid |= column < 0
        code = code * size + np.maximum(column, 0)
    code[invalid] = -1
    return code


__all__ = ["SLOTS", "Quantiles", "as_totals", "codes_of", "slot_sums", "sums"]
