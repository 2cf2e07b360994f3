"""The knee of a curve: where latency starts to climb, or more capacity stops paying.

The knee of a sweep's curve is found the way Kneedle finds it (Satopää,
Albrecht, Irwin and Raghavan, 2011): both axes are scaled to ``[0, 1]``,
and the knee is the point farthest from the straight line joining the
first and last points, on the side where a curve that bends upward lies
(below the line for a rising curve, as latency against load; a falling
curve, as latency against cores, is mirrored first). A curve that stays
within :data:`MIN_BEND` of that line (nearly straight) has no knee, and
neither has one that rises by less than :data:`MIN_RISE` of its lowest
value (a flat latency and its noise).

Only numeric parameters with at least three distinct values have knees;
in a grid, each line along the first parameter (one per combination of the
others) gets its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from asyncflow.experiment.sweep import Sweep

__all__ = ["MIN_BEND", "MIN_RISE", "Knee", "find_knee", "knees_of"]

MIN_BEND: Final = 0.1
"""Least distance (in scaled units) from the chord for a bend to count as a knee."""

MIN_RISE: Final = 0.25
"""Least rise of the curve, as a share of its lowest value, for it to have a knee: a
curve that barely moves (noise around a flat latency) has none."""


@dataclass(frozen=True, slots=True)
class Knee:
    """The knee of one line of a sweep.

    Attributes:
        param: The parameter along which the curve runs.
        value: The parameter's value at the knee.
        figure: The figure whose curve it is (``latency_s.p95``).
        figure_value: The figure's mean at the knee.
        others: Values of the other parameters, fixed along the line.
        bend: Distance from the chord, in scaled units (0 to about 0.7).
    """

    param: str
    value: float
    figure: str
    figure_value: float
    others: dict[str, Any]
    bend: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "param": self.param,
            "value": self.value,
            "figure": self.figure,
            "figure_value": self.figure_value,
            "others": dict(self.others),
            "bend": self.bend,
        }


def find_knee(x: Sequence[float], y: Sequence[float]) -> tuple[int, float] | None:
    """The index of the knee of ``y`` against ``x``, and its bend; ``None`` if none.

    Args:
        x: Increasing parameter values (at least three).
        y: The figure at each (NaN where missing: those points are skipped).

    Returns:
        ``(index into x, bend)``, or ``None`` for a curve that is nearly
        straight, too short, flat or bends the other way.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = np.isfinite(xs) & np.isfinite(ys)
    index = np.flatnonzero(keep)
    if index.size < 3:
        return None
    xs, ys = xs[keep], ys[keep]
    span_x, span_y = xs[-1] - xs[0], float(ys.max() - ys.min())
    if span_x <= 0 or span_y <= 0 or span_y < MIN_RISE * abs(float(ys.min())):
        return None
    u = (xs - xs[0]) / span_x
    v = (ys - ys.min()) / span_y
    if v[-1] < v[0]:  # falling: mirror, so the bend is looked for on the same side
        u = 1.0 - u
        u, v = u[::-1], v[::-1]
        index = index[::-1]
    chord = v[0] + (v[-1] - v[0]) * (u - u[0]) / (u[-1] - u[0])
    below = (chord - v) / math.sqrt(1.0 + (v[-1] - v[0]) ** 2)
    best = int(np.argmax(below))
    bend = float(below[best])
    if bend < MIN_BEND or best in (0, below.size - 1):
        return None
    return int(index[best]), bend


def knees_of(sweep: Sweep, figure: str = "latency_s.p95") -> list[Knee]:
    """The knee of ``figure``'s mean along the first parameter, line by line."""
    param = sweep.params[0]
    found: list[Knee] = []
    for others, points in sweep.lines():
        values = [p.values[param] for p in points]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            continue
        means = [
            float(np.nanmean(p.figure(figure))) if _any(p.figure(figure)) else math.nan
            for p in points
        ]
        knee = find_knee([float(v) for v in values], means)
        if knee is not None:
            index, bend = knee
            found.append(Knee(param, float(values[index]), figure, means[index], others, bend))
    return found


def _any(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())
