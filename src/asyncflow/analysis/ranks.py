"""Exact statistics of many float64 values without holding them all: values read by rank.

The summary's latency figures are the mean, the maximum and percentiles of
the measured requests' latencies, of all of them and per group. Holding a
float64 copy of those latencies to sort costs 8 bytes a request at the
command's peak. :class:`ChunkedValues` reads the values again, a chunk of
rows at a time, as often as it needs, and holds at most ``budget`` of them:

- **ranks by histogram**: float64 values order like their bit patterns once
  turned into unsigned keys (:func:`keys_of`), so a histogram of the keys'
  high bits over a key range tells which bucket holds a rank; only that
  bucket is gathered and sorted (or its own histogram taken, finer, when it
  is large; a bucket one key wide is one value repeated);
- **the same sums as numpy**: ``numpy.add.reduce`` of a contiguous float64
  array adds pairwise, splitting ``n`` values at ``n // 2`` rounded down to
  a multiple of 8 (numpy's ``pairwise_sum``); the sum of a part of the tree
  is ``add.reduce`` of that part. So the tree is walked down to parts of at
  most ``budget`` values, each part made (in row order, or in ascending
  order for a sorted array's mean) and reduced, and the parts added as numpy
  adds them: the mean is bit for bit that of the array made whole;
- **percentiles as numpy's** (method ``linear``): the two order statistics
  around ``(n - 1) q`` and numpy's interpolation (``_lerp``).

With at most ``budget`` values everything is done on the array made whole,
exactly as numpy does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "CHUNK_ROWS",
    "ChunkedValues",
    "keys_of",
    "latency_figures",
    "linear_percentile",
    "pairwise_sum",
    "values_of_keys",
]

CHUNK_ROWS = 1 << 16
"""Rows read at a time."""

BUCKET_BITS = 16
"""A histogram of keys has at most ``2 ** BUCKET_BITS`` buckets."""

_SIGN = np.uint64(1 << 63)
_LEAF = 128  # numpy's PW_BLOCKSIZE: parts this small are added in one loop


def keys_of(values: np.ndarray) -> np.ndarray:
    """Unsigned keys that order like the float64 ``values`` (negative zero just below zero)."""
    bits = values.view(np.uint64)
    negative = (bits & _SIGN) != 0
    return np.where(negative, ~bits, bits | _SIGN)


def values_of_keys(keys: np.ndarray) -> np.ndarray:
    """The float64 values of :func:`keys_of` keys."""
    keys = np.asarray(keys, dtype=np.uint64)
    positive = (keys & _SIGN) != 0
    bits = np.where(positive, keys ^ _SIGN, ~keys)
    return bits.view(np.float64)


def linear_percentile(low: float, high: float, at: float) -> float:
    """Numpy's ``linear`` percentile between the order statistics ``low`` and ``high``.

    ``at`` is the fractional rank ``(n - 1) * q / 100``; the arithmetic is
    numpy's ``_lerp``, so the result is bit for bit ``numpy.percentile``'s.
    """
    t = at - math.floor(at)
    diff = high - low
    return high - diff * (1.0 - t) if t >= 0.5 else low + diff * t


def fractional_ranks(n: int, percentiles: Sequence[float]) -> list[float]:
    """``(n - 1) * (q / 100)`` for each percentile, as numpy computes it."""
    quantiles = np.true_divide(np.asarray(percentiles, dtype=np.float64), 100)
    return [float(v) for v in (n - 1) * quantiles]


def pairwise_sum(n: int, budget: int, part: Callable[[int, int], np.ndarray]) -> float:
    """``numpy.add.reduce`` of ``n`` values made ``budget`` at most at a time.

    ``part(lo, hi)`` makes values ``lo:hi`` (contiguous float64). The parts
    are reduced by numpy and added in the tree's order, as numpy adds them.
    """
    if n <= budget:
        return float(np.add.reduce(part(0, n)))

    def node(lo: int, hi: int) -> float:
        size = hi - lo
        if size <= budget:
            return float(np.add.reduce(part(lo, hi)))
        half = size // 2
        half -= half % 8
        return node(lo, lo + half) + node(lo + half, hi)

    return node(0, n)


class ChunkedValues:
    """Float64 values made a chunk of rows at a time, read in order or by rank.

    Args:
        rows: How many rows there are.
        part: ``part(start, stop)`` makes the values of rows ``start:stop``,
            in row order (any number of values per row range, e.g. those of
            the rows of a group); called as often as needed, it must give
            the same values each time.
        budget: The most values held at once (at least 128); ``None``:
            ``max(65536, rows // 8)``, one byte a row.
        chunk_rows: Rows made at a time.
    """

    __slots__ = (
        "_hists",
        "_keys",
        "_offsets",
        "_part",
        "_rows",
        "budget",
        "chunk_rows",
        "count",
        "max",
    )

    def __init__(
        self,
        rows: int,
        part: Callable[[int, int], np.ndarray],
        budget: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._rows = rows
        self._part = part
        self.chunk_rows = chunk_rows
        self.budget = max(_LEAF, budget if budget is not None else max(1 << 16, rows // 8))
        sizes = []
        top = -math.inf
        low_key, high_key = (1 << 64) - 1, 0
        for start in range(0, rows, chunk_rows):
            values = part(start, min(rows, start + chunk_rows))
            sizes.append(values.size)
            if values.size:
                top = max(top, float(values.max()))
                keys = keys_of(values)
                low_key, high_key = min(low_key, int(keys.min())), max(high_key, int(keys.max()))
        self._offsets = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        self.count = int(self._offsets[-1])
        self.max = top
        self._keys = (low_key, high_key)  # the range of the keys: the first histogram's
        # The first histogram, and the last of a bucket (a sum in sorted order reads
        # its parts in rank order, so the same large bucket several times running).
        self._hists: dict[tuple[int, int], tuple[int, np.ndarray]] = {}

    def _chunks(self) -> list[tuple[int, int]]:
        return [
            (start, min(self._rows, start + self.chunk_rows))
            for start in range(0, self._rows, self.chunk_rows)
        ]

    def in_order(self, lo: int, hi: int) -> np.ndarray:
        """Values ``lo:hi`` in row order."""
        out = np.empty(hi - lo)
        offsets = self._offsets
        first = int(np.searchsorted(offsets, lo, side="right")) - 1
        at = 0
        for k in range(first, len(offsets) - 1):
            begin = int(offsets[k])
            if begin >= hi:
                break
            values = self._part(k * self.chunk_rows, min(self._rows, (k + 1) * self.chunk_rows))
            piece = values[max(0, lo - begin) : hi - begin]
            out[at : at + piece.size] = piece
            at += piece.size
        return out

    def whole(self) -> np.ndarray:
        """Every value in row order (for at most ``budget`` values)."""
        return self.in_order(0, self.count)

    def sum_in_order(self) -> float:
        """``numpy.add.reduce`` of the values in row order."""
        return pairwise_sum(self.count, self.budget, self.in_order)

    def sum_sorted(self) -> float:
        """``numpy.add.reduce`` of the values sorted ascending."""
        if self.count <= self.budget:
            return float(np.add.reduce(np.sort(self.whole())))
        return pairwise_sum(self.count, self.budget, self.sorted_slice)

    def percentiles(self, percentiles: Sequence[float]) -> list[float]:
        """``numpy.percentile(values, percentiles)`` (method linear), exactly."""
        n = self.count
        if n <= self.budget:
            qs = np.percentile(self.whole(), list(percentiles))
            return [float(q) for q in qs]
        out = []
        for at in fractional_ranks(n, percentiles):
            below = math.floor(at)
            pair = self.sorted_slice(below, min(below + 2, n))
            out.append(linear_percentile(float(pair[0]), float(pair[-1]), at))
        return out

    def sorted_slice(self, lo: int, hi: int) -> np.ndarray:
        """The values of ranks ``lo:hi`` (ascending order), ``hi - lo <= budget``."""
        if hi - lo > self.budget:
            raise ValueError(f"at most {self.budget} values at a time (asked for {hi - lo})")
        return self._slice(lo, hi, *self._keys, 0)

    def _hist(self, klo: int, khi: int) -> tuple[int, np.ndarray]:
        """Bucket width (as a shift) and counts of the keys in ``[klo, khi]``."""
        cached = self._hists.get((klo, khi))
        if cached is not None:
            return cached
        shift = max(0, (khi - klo).bit_length() - BUCKET_BITS)
        width = ((khi - klo) >> shift) + 1
        counts = np.zeros(width, dtype=np.int64)
        low, high = np.uint64(klo), np.uint64(khi)
        for start, stop in self._chunks():
            keys = keys_of(self._part(start, stop))
            inside = keys[(keys >= low) & (keys <= high)]
            buckets = ((inside - low) >> np.uint64(shift)).astype(np.intp)
            counts += np.bincount(buckets, minlength=width)
        if (klo, khi) != self._keys:
            for key in [k for k in self._hists if k != self._keys]:
                del self._hists[key]
        self._hists[(klo, khi)] = (shift, counts)
        return shift, counts

    def _gather(self, klo: int, khi: int, size: int) -> np.ndarray:
        """The ``size`` values whose keys are in ``[klo, khi]``, sorted."""
        out = np.empty(size)
        low, high = np.uint64(klo), np.uint64(khi)
        at = 0
        for start, stop in self._chunks():
            values = self._part(start, stop)
            keys = keys_of(values)
            piece = values[(keys >= low) & (keys <= high)]
            out[at : at + piece.size] = piece
            at += piece.size
        out.sort()
        return out

    def _slice(self, lo: int, hi: int, klo: int, khi: int, below: int) -> np.ndarray:
        """Ranks ``lo:hi`` among keys in ``[klo, khi]``; ``below`` values have smaller keys."""
        shift, counts = self._hist(klo, khi)
        ends = below + np.cumsum(counts)
        starts = ends - counts
        b1 = int(np.searchsorted(ends, lo, side="right"))
        b2 = int(np.searchsorted(ends, hi - 1, side="right"))

        def bounds(b: int) -> tuple[int, int]:
            return klo + (b << shift), min(khi, klo + ((b + 1) << shift) - 1)

        first = int(starts[b1])
        if shift == 0:  # one key per bucket: the values are the keys'
            keys = np.arange(b1, b2 + 1, dtype=np.uint64) + np.uint64(klo)
            values = np.repeat(values_of_keys(keys), counts[b1 : b2 + 1])
            return values[lo - first : hi - first]
        if int(ends[b2]) - first <= self.budget:
            gathered = self._gather(bounds(b1)[0], bounds(b2)[1], int(ends[b2]) - first)
            return gathered[lo - first : hi - first]
        parts = [self._slice(lo, min(hi, int(ends[b1])), *bounds(b1), first)]
        if b2 > b1 + 1:
            inner = int(starts[b2]) - int(ends[b1])
            parts.append(self._gather(bounds(b1 + 1)[0], bounds(b2 - 1)[1], inner))
        if b2 > b1:
            parts.append(self._slice(int(starts[b2]), hi, *bounds(b2), int(starts[b2])))
        return np.concatenate(parts)


def latency_figures(
    values: ChunkedValues, percentiles: Sequence[float], *, sorted_mean: bool
) -> tuple[float, list[float], float]:
    """Mean, percentiles and maximum of some values (at least one), as numpy gives them.

    Bit for bit ``values.mean()``, ``numpy.percentile(values, percentiles)``
    and ``values.max()`` of the array made whole; ``sorted_mean``: the mean
    of that array sorted ascending (as of a sorted group), else in row order.
    """
    n = values.count
    if n <= values.budget:
        whole = values.whole()
        if sorted_mean:
            whole.sort()
        mean, top = float(whole.mean()), float(whole.max())
        qs = np.percentile(whole, list(percentiles), overwrite_input=True)
        return mean, [float(q) for q in qs], top
    total = values.sum_sorted() if sorted_mean else values.sum_in_order()
    return total / n, values.percentiles(percentiles), values.max
