"""Grouped sums over requests and calls in one pass (``numpy.bincount``).

Per-node and per-endpoint figures are sums over the rows that belong to a
group. Masking every column once per group costs O(groups × rows); one
``bincount`` per column, with the group as the bin, costs O(rows) whatever
the number of groups. Everything here takes integer group codes (-1: no
group) and returns one total per group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from asyncflow.analysis.lazy import LazyColumn
from asyncflow.metrics.phases import CALLS_NETWORK, HOP_SLOTS, SLOTS

Column: TypeAlias = np.ndarray | LazyColumn
"""Codes or weights: an array, or a column made a chunk at a time."""

CHUNK_ROWS = 1 << 16
"""Rows grouped at a time: the memory a grouped sum needs beside the table."""


def _bincount(
    bins: np.ndarray, weights: np.ndarray | None, width: int, running: np.ndarray | None
) -> np.ndarray:
    """``bincount`` of one chunk, started from ``running`` (the chunks before).

    The running totals go in first, as one weight per bin, then the chunk's
    rows in order: the same additions in the same order as one ``bincount``
    over every row, so the sums are bit for bit the same.
    """
    if running is None:
        return np.bincount(bins, weights=weights, minlength=width)
    if weights is None:
        return running + np.bincount(bins, minlength=width)
    every = np.arange(width)
    return np.bincount(
        np.concatenate((every, bins)), weights=np.concatenate((running, weights)), minlength=width
    )


def _grouped(codes: Column, groups: int, weights: Column | None) -> np.ndarray:
    """Per-group totals (bin ``groups`` gathers the rows without a group), a chunk at a time."""
    total: np.ndarray | None = None
    for start in range(0, codes.shape[0], CHUNK_ROWS):
        chunk = codes[start : start + CHUNK_ROWS]
        bins = np.where(chunk >= 0, chunk, np.intp(groups))
        part = None if weights is None else weights[start : start + CHUNK_ROWS]
        total = _bincount(bins, part, groups + 1, total)
    if total is None:
        total = np.zeros(groups + 1, dtype=np.int64 if weights is None else np.float64)
    return total[:groups]


def sums(codes: Column, groups: int, weights: Column | None = None) -> np.ndarray:
    """Per-group count (no ``weights``) or sum of ``weights``; codes < 0 are left out.

    A chunk of rows at a time: no copy of the codes or the weights.
    """
    if weights is None:
        return _grouped(codes, groups, None)
    return _grouped(codes, groups, weights).astype(np.float64)


ALL_SLOTS = tuple(range(SLOTS))


def slot_sums(
    codes: Column,
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
    out = np.zeros((groups, SLOTS))
    hops = [kept.index(s) for s in HOP_SLOTS if s in kept]
    for k, slot in enumerate(kept):
        if totals and slot in HOP_SLOTS:
            continue
        column = slots[:, k]
        weights: Column
        if totals and slot == CALLS_NETWORK and hops:
            weights = LazyColumn(len(column), _network_of(slots, k, hops))
        elif column.any():
            weights = column
        else:
            continue
        out[:, slot] = _grouped(codes, groups, weights)
    if totals and hops and CALLS_NETWORK not in kept:
        row_sum = LazyColumn(len(slots), lambda rows: _row_sum(slots[rows], hops))
        out[:, CALLS_NETWORK] = _grouped(codes, groups, row_sum)
    return out


def _network_of(slots: np.ndarray, k: int, hops: list[int]) -> Callable[[Any], np.ndarray]:
    """Column ``k`` (the calls' network) plus the hops, in float64, for the rows asked for."""

    def make(rows: slice | np.ndarray) -> np.ndarray:
        weights: np.ndarray = slots[rows, k].astype(np.float64)
        weights += _row_sum(slots[rows], hops)
        return weights

    return make


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
        counts = sums(codes, groups)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        keep = codes >= 0
        values = values[keep]
        if np.count_nonzero(counts) <= 1:  # one group: sort in place, no order array
            values.sort()
            return cls(values, bounds)
        codes = codes[keep]
        del keep
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
        invalid |= column < 0
        code *= size
        code += np.maximum(column, 0)  # in place: no 64-bit copy of the column
    code[invalid] = -1
    return code


__all__ = ["ALL_SLOTS", "SLOTS", "Quantiles", "as_totals", "codes_of", "slot_sums", "sums"]
