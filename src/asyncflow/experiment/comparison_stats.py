"""Paired differences with a t test, and corrections for many comparisons at once.

Comparing several variants on several figures makes a family of ``m``
tests; at a 95 % level, each alone would wrongly call about one in twenty
null differences significant. The corrections here keep the chance of any
wrong verdict in the family at ``alpha = 1 - confidence``:

- ``holm`` (Holm–Bonferroni, the default): sort the ``m`` p-values
  ascending; the ``k``-th (from 1) is adjusted to
  ``max(j <= k) min(1, (m - j + 1) p_(j))``, and a difference is
  significant when its adjusted p-value is below ``alpha``. Never less
  powerful than Bonferroni.
- ``bonferroni``: each p-value times ``m`` (at most 1).
- ``none``: the p-values as they are (each test alone at ``alpha``).

The intervals are Bonferroni's simultaneous ones with either correction:
each at level ``1 - alpha / m``, so all of them cover their true
difference together with probability at least ``confidence``. Holm's
verdicts do not come with intervals of their own; under Bonferroni, an
interval that excludes 0 and a significant verdict are the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CORRECTIONS", "PairedTest", "adjust", "interval_level", "paired_test"]

CORRECTIONS = ("holm", "bonferroni", "none")
"""Names of the corrections for multiple comparisons."""


@dataclass(frozen=True, slots=True)
class PairedTest:
    """A paired difference ``variant - base`` and its two-sided t test.

    Attributes:
        mean: Mean of the differences (NaN when no pair has both values).
        ci_low: Lower bound of the interval at the level asked.
        ci_high: Upper bound.
        n: Pairs with a value on both sides.
        p_value: Two-sided p-value of "the mean difference is 0" (NaN with
            fewer than two pairs; 1 when every difference is 0, 0 when they
            are all the same non-zero value).
    """

    mean: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float


def paired_test(base: np.ndarray, other: np.ndarray, level: float) -> PairedTest:
    """Student t statistics of the paired differences ``other - base``.

    Pairs where either value is missing (NaN) are left out.

    Args:
        base: Values of the base, one per replication.
        other: Values of the variant, in the same replication order.
        level: Confidence level of the interval, in (0, 1).

    Returns:
        The :class:`PairedTest`.
    """
    from scipy import stats

    first = np.asarray(base, dtype=np.float64).ravel()
    second = np.asarray(other, dtype=np.float64).ravel()
    differences = second - first
    data = differences[np.isfinite(differences)]
    n = int(data.size)
    if n == 0:
        return PairedTest(math.nan, math.nan, math.nan, 0, math.nan)
    mean = float(data.mean())
    if n < 2:
        return PairedTest(mean, math.nan, math.nan, n, math.nan)
    error = float(data.std(ddof=1)) / math.sqrt(n)
    if error == 0.0:
        return PairedTest(mean, mean, mean, n, 1.0 if mean == 0.0 else 0.0)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * error
    p_value = float(2.0 * stats.t.sf(abs(mean) / error, n - 1))
    return PairedTest(mean, mean - half, mean + half, n, p_value)


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values for a family of tests (NaN ones stay NaN and are not counted).

    Args:
        p_values: The family's p-values.
        method: ``holm``, ``bonferroni`` or ``none``.

    Returns:
        The adjusted p-values, in the order given.

    Raises:
        ValueError: An unknown method.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction: expected one of {', '.join(CORRECTIONS)} (got {method!r})")
    known = [i for i, p in enumerate(p_values) if math.isfinite(p)]
    m = len(known)
    adjusted = [math.nan] * len(p_values)
    if method == "none":
        for i in known:
            adjusted[i] = float(p_values[i])
        return adjusted
    if method == "bonferroni":
        for i in known:
            adjusted[i] = min(1.0, m * float(p_values[i]))
        return adjusted
    running = 0.0
    for rank, i in enumerate(sorted(known, key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


def interval_level(confidence: float, family: int, method: str) -> float:
    """The level of each interval: ``1 - alpha / m``, or ``confidence`` without a correction."""
    if method == "none" or family <= 1:
        return confidence
    return 1.0 - (1.0 - confidence) / family
