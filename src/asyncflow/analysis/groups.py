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


ALL_SLOTS = tuple(range(SLOTS))


def slot_sums(
    codes: np.ndarray,
    groups: int,
    slots: np.ndarray,
    kept: Sequence[int] = ALL_SLOTS,
    *,
    totals: bool = False,
) -> np.ndarray:
    """Per-group sums of every phase slot: shape (groups, SLOTS), float64.

    ``slots`` holds the ``kept`` slots as columns (the others are zero). One
    ``bincount`` per column, rows without a group sent to a bin of their own:
    no copy of the matrix, the same additions in the same order as summing
    the group's rows. With ``totals`` the rows are calls on critical paths
    and count as in their request's totals (:func:`as_totals`).
    """
    bins = np.where(codes >= 0, codes, groups)
    out = np.zeros((groups, SLOTS))
    hops = [kept.index(s) for s in HOP_SLOTS if s in kept]
    for k, slot in enumerate(kept):
        if totals and slot in HOP_SLOTS:
            continue
        column = slots[:, k]
        if totals and slot == CALLS_NETWORK and hops:
            weights = column.astype(np.float64)
            weights += _row_sum(slots, hops)
        elif column.any():
            weights = column
        else:
            continue
        out[:, slot] = np.bincount(bins, weights=weights, minlength=groups + 1)[:groups]
    if totals and hops and CALLS_NETWORK not in kept:
        weights = _row_sum(slots, hops)
        out[:, CALLS_NETWORK] = np.bincount(bins, weights=weights, minlength=groups + 1)[:groups]
    return out


def _row_sum(slots: np.ndarray, columns: list[int]) -> np.ndarray:
    """The float64 sum of some columns of each row, added left to right."""
    total = slots[:, columns[0]].astype(np.float64)
    for k in columns[1:]:
        total += slots[:, k]
    return total


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
        counts = np.bincount(codes, minlength=groups)[:groups]
        bounds = np.concatenate(([0], np.cumsum(counts)))
        if np.count_nonzero(counts) <= 1:  # one group: sort in place, no order array
            values.sort()
            return cls(values, bounds)
        order = np.lexsort((values, codes))
        del codes
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


__all__ = ["ALL_SLOTS", "SLOTS", "Quantiles", "as_totals", "codes_of", "slot_sums", "sums"]
