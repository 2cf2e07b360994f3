"""Which key a request asks for: Zipf or uniform popularity over ``count`` keys.

Keys are ranks ``0 .. count - 1``, rank 0 the most popular. Under ``zipf``
with exponent ``s > 0`` the key of rank ``k`` is asked with probability
proportional to ``(k + 1) ** -s``, bounded to ``count`` keys (so exponents
at or below 1, whose unbounded series diverges, are fine); ``uniform`` asks
every key alike. A key is the inverse of the cumulative distribution at a
uniform draw, so a cache variant fed the same stream of draws sees the same
keys (common random numbers).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

import numpy as np

__all__ = ["MAX_KEYS", "POPULARITIES", "KeyPopularity"]

#: The most keys a cache may be given: the Zipf table costs 8 bytes a key.
MAX_KEYS = 10_000_000

#: The popularity laws a cache's keys may follow.
POPULARITIES = ("zipf", "uniform")


class KeyPopularity:
    """Turns uniform draws into keys following a popularity law.

    Attributes:
        count: The number of distinct keys.
    """

    __slots__ = ("_cumulative", "_exponent", "_uniform", "count")

    def __init__(self, count: int, popularity: str = "zipf", exponent: float = 1.0) -> None:
        if not 1 <= count <= MAX_KEYS:
            raise ValueError(f"count: must be between 1 and {MAX_KEYS} (got {count!r})")
        if popularity not in POPULARITIES:
            raise ValueError(
                f"popularity: must be one of {', '.join(POPULARITIES)} (got {popularity!r})"
            )
        if popularity == "zipf" and not exponent > 0.0:
            raise ValueError(f"exponent: must be above 0 (got {exponent!r})")
        self.count = count
        self._exponent = exponent
        self._uniform = popularity == "uniform"
        self._cumulative = array("d")
        if not self._uniform:
            cumulative = np.cumsum(self.probabilities())
            cumulative[-1] = 1.0
            self._cumulative = array("d", cumulative.tobytes())

    def key(self, u: float) -> int:
        """The key asked by a request whose uniform draw is ``u`` in [0, 1)."""
        if self._uniform:
            return min(int(u * self.count), self.count - 1)
        return min(bisect_right(self._cumulative, u), self.count - 1)

    def probabilities(self) -> np.ndarray:
        """The probability of each key, by rank (sums to 1)."""
        if self._uniform:
            return np.full(self.count, 1.0 / self.count)
        weights = np.arange(1, self.count + 1, dtype=np.float64) ** -self._exponent
        probabilities: np.ndarray = weights / weights.sum()
        return probabilities
