"""Exact level monitors: queue lengths, busy cores, RAM, requests in transit.

A level is a step function of time. Components record each change as a
``(time, delta)`` pair appended to two ``array('d')`` buffers, a cheap append
on the hot path. Every so often (and at the end) :meth:`Level.flush` turns
the buffered changes up to a time into exact integrals with numpy: the area
under the level in each time bin (so per-bin time-weighted means are exact),
the maximum in each bin, and the area and maximum after the warm-up. Memory
stays bounded by the flush period, not by the run length.

Changes may be recorded ahead of time (an edge knows when a request will
arrive when it sends it); changes later than the flush time are carried to
the next flush.
"""

from __future__ import annotations

import math
from array import array

import numpy as np


class Level:
    """One level's change buffer and its exact binned integrals."""

    __slots__ = (
        "_edges",
        "_t_last",
        "_value",
        "_warm_up_s",
        "area_after_warm_up",
        "bin_area",
        "bin_max",
        "deltas",
        "max_after_warm_up",
        "name",
        "times",
    )

    def __init__(self, name: str, n_bins: int, bin_s: float, warm_up_s: float = 0.0) -> None:
        self.name = name
        self.times = array("d")
        self.deltas = array("d")
        self._edges = np.arange(n_bins) * bin_s
        self._warm_up_s = warm_up_s
        self._t_last = 0.0
        self._value = 0.0
        self.bin_area = np.zeros(n_bins)
        self.bin_max = np.zeros(n_bins)
        self.area_after_warm_up = 0.0
        self.max_after_warm_up = 0.0

    @property
    def value(self) -> float:
        """The level at the last flush time."""
        return self._value

    def change(self, time: float, delta: float) -> None:
        """Record a change (convenience; hot paths append to the buffers directly)."""
        self.times.append(time)
        self.deltas.append(delta)

    def flush(self, until: float) -> None:
        """Integrate every buffered change with ``time <= until``."""
        t0 = self._t_last
        if until < t0:
            raise ValueError(f"flush back in time: {until} < {t0}")
        if not self.times and self._value == 0.0:
            # Nothing changed and the level is 0: no area, no new maximum (levels
            # are >= 0). Most levels of a large fleet are like that (unused RAM).
            self._t_last = until
            return
        times = np.array(self.times, dtype=np.float64)
        deltas = np.array(self.deltas, dtype=np.float64)
        due = times <= until
        if due.all():
            t_chg, d_chg = times.copy(), deltas.copy()
            keep_t, keep_d = np.empty(0), np.empty(0)
        else:
            t_chg, d_chg = times[due], deltas[due]
            keep_t, keep_d = times[~due], deltas[~due]
        order = np.argsort(t_chg, kind="stable")
        t_chg, d_chg = t_chg[order], d_chg[order]
        values = self._value + np.cumsum(d_chg)
        self._integrate(t0, until, t_chg, values)
        if values.size:
            self._value = float(values[-1])
        self._t_last = until
        # Emptied in place: components hold the buffers' bound append methods.
        del self.times[:]
        del self.deltas[:]
        if keep_t.size:
            self.times.frombytes(keep_t.tobytes())
            self.deltas.frombytes(keep_d.tobytes())

    def _integrate(self, t0: float, t1: float, t_chg: np.ndarray, values: np.ndarray) -> None:
        """Add the step function on [t0, t1] to the bins and warm-up totals."""
        starts = np.concatenate(([t0], t_chg))
        levels = np.concatenate(([self._value], values))
        all_edges = self._edges
        # Per-bin maxima: the level after each instant's changes and at each bin start.
        # Several changes at one instant count once, with the value they leave.
        settled = np.append(t_chg[1:] != t_chg[:-1], True) if t_chg.size else np.empty(0, bool)
        t_set, v_set = t_chg[settled], values[settled]
        if t_set.size:
            idx = np.searchsorted(all_edges, t_set, side="right") - 1
            np.maximum.at(self.bin_max, idx, v_set)
        first = int(np.searchsorted(all_edges, t0, side="right")) - 1
        last = int(np.searchsorted(all_edges, t1, side="right")) - 1
        edges = all_edges[first + 1 : last + 1]  # bin starts inside (t0, t1]
        if edges.size:
            at_edges = levels[np.searchsorted(starts, edges, side="right") - 1]
            np.maximum(
                self.bin_max[first + 1 : last + 1], at_edges, out=self.bin_max[first + 1 : last + 1]
            )
        if first >= 0 and all_edges[first] == t0:
            self.bin_max[first] = max(self.bin_max[first], levels[0])
        # Areas from the cumulative integral A(t) evaluated at t0, bin starts, t1:
        # the piece after the k-th point lies in bin first + k.
        points = np.concatenate(([t0], edges, [t1]))
        area = self._cumulative(starts, levels, points)
        self.bin_area[first : first + points.size - 1] += np.diff(area)
        warm = self._warm_up_s
        if t1 > warm:
            lo = max(t0, warm)
            a = self._cumulative(starts, levels, np.array([lo, t1]))
            self.area_after_warm_up += float(a[1] - a[0])
            at_lo = levels[np.searchsorted(starts, lo, side="right") - 1]
            after = v_set[t_set >= lo]
            peak = max(float(at_lo), float(after.max()) if after.size else -math.inf)
            self.max_after_warm_up = max(self.max_after_warm_up, peak)

    @staticmethod
    def _cumulative(starts: np.ndarray, levels: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Integral of the step function from ``starts[0]`` to each point."""
        seg_area = levels[:-1] * np.diff(starts)
        at_start = np.concatenate(([0.0], np.cumsum(seg_area)))
        i = np.searchsorted(starts, points, side="right") - 1
        result: np.ndarray = at_start[i] + levels[i] * (points - starts[i])
        return result
