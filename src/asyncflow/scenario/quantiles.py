"""A duration given by its quantiles, as production dashboards report them.

``{distribution: quantiles, quantiles: {p50: 0.004, p90: 0.009, p99: 0.03}}``
describes a latency by percentiles (keys ``p<percent>``, e.g. ``p50``,
``p99.9``), optionally with ``min`` (default 0) and ``max``.

Interpolation: the quantile function is linear between the given points,
from ``(0, min)`` to each ``(percent / 100, value)``: within each band the
samples are uniform. Tail: with ``max``, the last band runs linearly up to
``max`` (the law is bounded). Without it, the samples above the highest
percentile ``q_k`` follow an exponential tail, ``x_k + θ · ln((1 - q_k) /
(1 - u))``, whose scale ``θ`` makes it pass through the two highest points
(a straight line through them on a log-survival plot):
``θ = (x_k - x_{k-1}) / ln((1 - q_{k-1}) / (1 - q_k))``.

The mean and variance follow exactly from these pieces, so the theory and
the reports see the same law the engine samples.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from asyncflow.scenario._base import NO_VALUE, Problem

__all__ = ["MAX_QUANTILE_POINTS", "QuantileLaw", "quantile_law"]

#: The most points a quantile law may list (percentiles, min and max).
MAX_QUANTILE_POINTS: Final = 100

_PERCENTILE: Final = re.compile(r"p(\d{1,2}(?:\.\d+)?)")
_KEY_RULE: Final = "must be min, max or p<percent> with 0 < percent < 100 (e.g. p50, p99.9)"


@dataclass(frozen=True, slots=True)
class QuantileLaw:
    """The knots of the quantile function and the scale of its tail.

    Attributes:
        probabilities: Cumulative probabilities of the knots, from 0 (and to 1
            when the law is bounded).
        values: The quantile function at each knot, non-decreasing.
        tail: The exponential tail's scale above the last knot (0 when bounded).
    """

    probabilities: tuple[float, ...]
    values: tuple[float, ...]
    tail: float

    def moments(self) -> tuple[float, float]:
        """The exact mean and variance (``inf`` where they overflow)."""
        first = second = 0.0
        knots = zip(self.probabilities, self.values, strict=True)
        previous = next(knots)
        for knot in knots:
            width = knot[0] - previous[0]
            low, high = previous[1], knot[1]
            first += width * (low + high) / 2.0
            second += width * (low * low + low * high + high * high) / 3.0
            previous = knot
        rest = 1.0 - previous[0]
        if rest > 0.0:
            start, scale = previous[1], self.tail
            first += rest * (start + scale)
            second += rest * (start * start + 2.0 * start * scale + 2.0 * scale * scale)
        variance = max(second - first * first, 0.0) if math.isfinite(second) else math.inf
        return first, variance

    def inverse(self, u: np.ndarray) -> np.ndarray:
        """The samples whose uniform draws are ``u`` (each in [0, 1))."""
        probabilities = np.asarray(self.probabilities)
        out: np.ndarray = np.interp(u, probabilities, np.asarray(self.values))
        last = self.probabilities[-1]
        if last < 1.0:
            above = u > last
            out[above] = self.values[-1] + self.tail * np.log((1.0 - last) / (1.0 - u[above]))
        return out


def quantile_law(points: Mapping[str, float]) -> tuple[QuantileLaw | None, list[Problem]]:
    """The law the points describe, or the problems (paths under ``quantiles``)."""
    problems: list[Problem] = []
    percentiles: list[tuple[float, float, str]] = []
    for key, value in points.items():
        match = _PERCENTILE.fullmatch(key)
        if key in ("min", "max"):
            pass
        elif match is None or not 0.0 < float(match.group(1)) < 100.0:
            problems.append((("quantiles", key), _KEY_RULE, NO_VALUE))
            continue
        else:
            percentiles.append((float(match.group(1)) / 100.0, value, key))
        if value < 0:
            problems.append((("quantiles", key), "must be >= 0", value))
    if problems:
        return None, problems
    if not percentiles:
        return None, [(("quantiles",), "needs at least one percentile (e.g. p50)", NO_VALUE)]
    percentiles.sort()
    knots = [(0.0, points.get("min", 0.0), "min"), *percentiles]
    if "max" in points:
        knots.append((1.0, points["max"], "max"))
    for (_, low, low_key), (_, high, high_key) in itertools.pairwise(knots):
        if high < low:
            rule = f"must not be below {low_key} = {low:g} (quantiles rise with the percentile)"
            problems.append((("quantiles", high_key), rule, high))
    if problems:
        return None, problems
    law = QuantileLaw(
        tuple(q for q, _, _ in knots), tuple(float(x) for _, x, _ in knots), _tail(knots)
    )
    if not all(math.isfinite(m) for m in law.moments()):
        rule = "are too large: their mean or variance overflows a double"
        return None, [(("quantiles",), rule, NO_VALUE)]
    return law, []


def _tail(knots: list[tuple[float, float, str]]) -> float:
    """The exponential scale through the two highest knots (0 for a bounded law)."""
    (q_low, x_low, _), (q_high, x_high, _) = knots[-2], knots[-1]
    if q_high >= 1.0:
        return 0.0
    return (x_high - x_low) / math.log((1.0 - q_low) / (1.0 - q_high))
