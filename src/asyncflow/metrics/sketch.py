"""A mergeable quantile sketch with a relative-error guarantee.

Positive values go to logarithmic buckets: bucket ``k`` holds the values in
``(gamma**(k-1), gamma**k]`` with ``gamma = (1 + alpha) / (1 - alpha)``, and a
quantile is answered with ``2 * gamma**k / (gamma + 1)``, the point of its
bucket whose relative distance to every value in it is at most ``alpha``
(the construction of DDSketch, Masson, Rim and Lee, VLDB 2019). So any
quantile is within ``alpha`` relative error of a value of the exact sample
at that rank, however skewed the data, and two sketches of the same
``alpha`` merge by adding their bucket counts: replications and workers
combine exactly. Zero (and values below ``min_value``) are counted apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


class QuantileSketch:
    """Counts of values in logarithmic buckets: quantiles to ``alpha`` relative error.

    Attributes:
        alpha: The relative accuracy of every quantile.
        count: Values added.
        total: Their sum (so the mean is exact).
    """

    __slots__ = ("_buckets", "_gamma_log", "_min_value", "_zeros", "alpha", "count", "total")

    def __init__(self, alpha: float = 0.005, min_value: float = 1e-9) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1) (got {alpha!r})")
        self.alpha = alpha
        self._gamma_log = math.log((1.0 + alpha) / (1.0 - alpha))
        self._min_value = min_value
        self._buckets: dict[int, int] = {}
        self._zeros = 0
        self.count = 0
        self.total = 0.0

    def add(self, value: float) -> None:
        """Count one value (must be >= 0)."""
        self.count += 1
        self.total += value
        if value <= self._min_value:
            self._zeros += 1
            return
        key = math.ceil(math.log(value) / self._gamma_log)
        buckets = self._buckets
        buckets[key] = buckets.get(key, 0) + 1

    def add_many(self, values: Iterable[float] | np.ndarray) -> None:
        """Count many values at once (vectorised)."""
        array = np.asarray(values, dtype=np.float64)
        if array.size == 0:
            return
        self.count += int(array.size)
        self.total += float(array.sum())
        positive = array[array > self._min_value]
        self._zeros += int(array.size - positive.size)
        if positive.size:
            keys, counts = np.unique(
                np.ceil(np.log(positive) / self._gamma_log).astype(np.int64), return_counts=True
            )
            buckets = self._buckets
            for key, n in zip(keys.tolist(), counts.tolist(), strict=True):
                buckets[key] = buckets.get(key, 0) + n

    def merge(self, other: QuantileSketch) -> None:
        """Add another sketch's counts (same ``alpha``)."""
        if other.alpha != self.alpha:
            raise ValueError(f"cannot merge sketches of alpha {self.alpha} and {other.alpha}")
        self.count += other.count
        self.total += other.total
        self._zeros += other._zeros
        buckets = self._buckets
        for key, n in other._buckets.items():
            buckets[key] = buckets.get(key, 0) + n

    def copy(self) -> QuantileSketch:
        """An independent copy."""
        other = QuantileSketch(self.alpha, self._min_value)
        other.merge(self)
        return other

    @property
    def mean(self) -> float:
        """The exact mean (NaN when empty)."""
        return self.total / self.count if self.count else math.nan

    def quantile(self, q: float | int, *, interpolate: bool = False) -> float:
        """The ``q`` quantile (0 <= q <= 1), to ``alpha`` relative error; NaN when empty.

        The value of rank ``q * (count - 1)`` (rounded down); with
        ``interpolate``, between the values of the ranks either side, as
        ``numpy.percentile`` does, so it stays within ``alpha`` of the exact
        percentile where neighbouring values are far apart (a sparse tail).
        ``q`` is typed ``float | int`` so that an int stays one in the error
        message when the module is compiled.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q must be in [0, 1] (got {q!r})")
        if self.count == 0:
            return math.nan
        rank = q * (self.count - 1)
        low = self._value_at(math.floor(rank))
        if not interpolate or rank == math.floor(rank):
            return low
        high = self._value_at(math.floor(rank) + 1)
        return low + (high - low) * (rank - math.floor(rank))

    def _value_at(self, rank: float) -> float:
        """The representative value of the bucket holding the value of ``rank``."""
        if rank < self._zeros:
            return 0.0
        seen = self._zeros
        gamma = math.exp(self._gamma_log)
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if seen > rank:
                return 2.0 * math.exp(key * self._gamma_log) / (gamma + 1.0)
        return 2.0 * math.exp(max(self._buckets) * self._gamma_log) / (gamma + 1.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for Dask workers and files)."""
        return {
            "alpha": self.alpha,
            "min_value": self._min_value,
            "count": self.count,
            "total": self.total,
            "zeros": self._zeros,
            "buckets": {str(k): n for k, n in sorted(self._buckets.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """The sketch written by :meth:`to_dict`."""
        sketch = cls(float(data["alpha"]), float(data["min_value"]))
        sketch.count = int(data["count"])
        sketch.total = float(data["total"])
        sketch._zeros = int(data["zeros"])
        sketch._buckets = {int(k): int(n) for k, n in data["buckets"].items()}
        return sketch


class CallTally:
    """Calls answered by one endpoint of one server: counts, phases, latency.

    Kept for calls made by other servers (requests have their own rows):
    every answered call is counted in ``answered``; those of requests
    generated after the warm-up also add their phases and their latency
    (sent to answered) to a sketch, so per-node figures of a call tree need
    no per-call table.
    """

    __slots__ = ("answered", "count", "latency", "latency_max", "phases")

    def __init__(self, slots: int) -> None:
        self.answered = 0
        self.count = 0
        self.phases = [0.0] * slots
        self.latency = QuantileSketch()
        self.latency_max = 0.0

    def add(self, latency_s: float, ph: list[float], measured: bool) -> None:
        """Count one answered call (its figures too when ``measured``)."""
        self.answered += 1
        if not measured:
            return
        self.count += 1
        phases = self.phases
        for slot, value in enumerate(ph):
            if value:
                phases[slot] += value
        self.latency.add(latency_s)
        self.latency_max = max(self.latency_max, latency_s)

    def merge(self, other: CallTally) -> None:
        """Add another tally (of the same slots)."""
        self.answered += other.answered
        self.count += other.count
        self.phases = [a + b for a, b in zip(self.phases, other.phases, strict=True)]
        self.latency.merge(other.latency)
        self.latency_max = max(self.latency_max, other.latency_max)
