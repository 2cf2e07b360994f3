"""Exact level monitors: queue lengths, busy cores, RAM, requests in transit.

A level is a step function of time. Components record each change as a
``(time, delta)`` pair (:meth:`Level.change`, :meth:`Level.span`) written in
place into an ``array('d')``, time and delta side by side (one buffer, one
cache line touched a change). A full buffer is kept as it is and a new one,
as large as all before it (an eighth of them once large), takes the next
changes; a flush first moves them all into one buffer, which keeps its size
when it is emptied. Each change is copied once at most: appended to, an
``array`` grows by a sixteenth at a time, and grown in place a buffer is
still copied whole at each growth; at 1,000 servers those copies, reading
buffers long cold, were the largest source of cache misses
(``bench/cachesim.py``). Every so often (and at the end) :meth:`Level.flush`
turns the buffered changes up to a time into exact integrals with numpy: the
area under the level in each time bin (so per-bin time-weighted means are
exact), the maximum in each bin, and the area and maximum after the warm-up.
Memory stays bounded by the flush period, not by the run length.

Changes may be recorded ahead of time (an edge knows when a request will
arrive when it sends it); changes later than the flush time are carried to
the next flush.
"""

from __future__ import annotations

import math
import struct
from array import array
from bisect import bisect_right
from typing import Final

import numpy as np

_SETTLED_LAST = np.ones(1, dtype=bool)

# A change's two values, and a span's four, written into a buffer by one call:
# an ``array`` item set parses its value with the generic argument parser and
# the compiled core boxes every index, so four item sets cost a span about
# 2,400 instructions, a fifth of a request's (``bench/cachesim.py``). Native
# layout (no prefix: native order, size and alignment), as ``array('d')`` has.
_WRITE_CHANGE: Final = struct.Struct("2d").pack_into
_WRITE_SPAN: Final = struct.Struct("4d").pack_into


class BinEdges:
    """The start times of a run's series bins, shared by all its levels.

    Held both as an array (for vectorised searches) and as a list (for the
    two scalar searches of each flush, which ``bisect`` answers without a
    numpy call); a fleet of thousands of levels keeps one copy.
    """

    __slots__ = ("array", "list")

    def __init__(self, n_bins: int, bin_s: float) -> None:
        self.array = np.arange(n_bins) * bin_s
        self.list: list[float] = self.array.tolist()


FIRST_CAPACITY = 16
"""Changes a level's buffer holds before it first grows."""

DUE_CHANGES = 2048
"""Pending changes that make a level due for flushing (a flush costs ~30 µs of
numpy calls: smaller buffers wait for the end of the run)."""


def _buffer(changes: int) -> array[float]:
    """Room for ``changes`` changes, interleaved: ``time, delta, time, delta, ...``."""
    return array("d", bytes(16 * changes))


class Level:
    """One level's change buffer and its exact binned integrals."""

    __slots__ = (
        "_bins",
        "_buf",
        "_cap",
        "_due",
        "_full",
        "_limit",
        "_listed",
        "_n",
        "_t_last",
        "_value",
        "_warm_up_s",
        "area_after_warm_up",
        "bin_area",
        "bin_max",
        "max_after_warm_up",
        "name",
    )

    # The compiled core lays attributes out in this order: the writers' first.
    _n: int
    _limit: int
    _buf: array[float]
    _full: list[tuple[array[float], int]]

    def __init__(
        self,
        name: str,
        n_bins: int,
        bin_s: float,
        warm_up_s: float = 0.0,
        bins: BinEdges | None = None,
        due: list[Level] | None = None,
    ) -> None:
        self.name = name
        self._n = 0  # values written in the current chunk: two a change
        self._cap = FIRST_CAPACITY  # changes the current chunk holds
        self._buf = _buffer(FIRST_CAPACITY)
        # Chunks filled before the current one, each with its values written,
        # until a read (a flush) moves them all into one buffer.
        self._full = []
        # The level joins ``due`` (once) when DUE_CHANGES are pending: whoever
        # flushes during the run looks there instead of at every level.
        self._due = due
        self._listed = False
        self._limit = 0  # values that fit before _make_room must run: see _set_limit
        self._set_limit()
        self._bins = bins if bins is not None else BinEdges(n_bins, bin_s)
        self._warm_up_s = warm_up_s
        self._t_last = 0.0
        self._value = 0.0
        # One allocation for both (a fleet builds thousands of levels).
        self.bin_area, self.bin_max = np.zeros((2, n_bins))
        self.area_after_warm_up = 0.0
        self.max_after_warm_up = 0.0

    @property
    def value(self) -> float:
        """The level at the last flush time."""
        return self._value

    def _pairs(self) -> np.ndarray:
        """The pending changes as rows ``(time, delta)``: a view of the buffer."""
        self._consolidate()
        return np.frombuffer(self._buf, dtype=np.float64, count=self._n).reshape(-1, 2)

    def _consolidate(self) -> None:
        """Move every pending change into one buffer, as large as all chunks together."""
        if not self._full:
            return
        cap = self._held() + self._cap
        buf = _buffer(cap)
        at = 0
        with memoryview(buf) as into:
            for chunk, n in (*self._full, (self._buf, self._n)):
                with memoryview(chunk) as values:
                    into[at : at + n] = values[:n]
                at += n
        self._buf, self._cap, self._n = buf, cap, at
        self._full = []
        self._set_limit()

    def _held(self) -> int:
        """Changes the full chunks hold."""
        return sum(len(chunk) for chunk, _ in self._full) >> 1

    def _full_values(self) -> int:
        """Values written in the full chunks."""
        return sum(n for _, n in self._full)

    @property
    def times(self) -> np.ndarray:
        """The times of the changes not yet flushed, in the order recorded (a view)."""
        return self._pairs()[:, 0]

    @property
    def deltas(self) -> np.ndarray:
        """Their deltas (a view)."""
        return self._pairs()[:, 1]

    @property
    def pending(self) -> int:
        """Changes recorded and not yet flushed."""
        return (self._full_values() + self._n) >> 1

    def pending_sum(self) -> float:
        """The sum of the pending deltas, added in the order recorded."""
        self._consolidate()
        return float(sum(self._buf[1 : self._n : 2]))

    def change(self, time: float, delta: float) -> None:
        """Record that the level moves by ``delta`` at ``time``."""
        n = self._n
        if n + 2 > self._limit:
            self._make_room(n + 2)
            n = self._n
        _WRITE_CHANGE(self._buf, 8 * n, time, delta)
        self._n = n + 2

    def span(self, start: float, end: float) -> None:
        """Record one more from ``start`` to ``end`` (a call in transit)."""
        n = self._n
        if n + 4 > self._limit:
            self._make_room(n + 4)
            n = self._n
        _WRITE_SPAN(self._buf, 8 * n, start, 1.0, end, -1.0)
        self._n = n + 4

    def _make_room(self, values: int) -> None:
        """``values`` values are (about to be) in the current chunk.

        Start a new chunk if they do not fit; join the due list when enough
        changes are pending.
        """
        full = self._full_values()
        if values + full >= 2 * DUE_CHANGES and not self._listed and self._due is not None:
            self._due.append(self)
            self._listed = True
        if values > 2 * self._cap:
            # A new chunk, the full one kept where it is: grown in place, one
            # buffer was copied each time it grew, and the copy read every
            # change written so far, cold at 1,000 servers (bench/cachesim.py).
            # As large as all before it while small (a fleet's levels stay
            # small until the end), an eighth of them past DUE_CHANGES: spare
            # room is memory the whole run holds (its peak, when streaming).
            held = self._held() + self._cap
            self._full.append((self._buf, self._n))
            cap = held if held < DUE_CHANGES else held // 8
            self._buf, self._cap, self._n = _buffer(cap), cap, 0
        self._set_limit()

    def _set_limit(self) -> None:
        limit = 2 * self._cap
        if not self._listed and self._due is not None:
            limit = min(limit, 2 * DUE_CHANGES - 1 - self._full_values())
        self._limit = limit

    def release(self) -> None:
        """Give the buffer's memory back (at the end of a run; changes pending are kept)."""
        self._consolidate()
        changes = max(FIRST_CAPACITY, self.pending)
        if changes >= self._cap:
            return
        try:
            del self._buf[2 * changes :]
        except BufferError:
            # A view of the buffer is still alive (a profiler holding the frame
            # of a flush, say): the array cannot shrink; copy it to a new one.
            moved = _buffer(changes)
            moved[: self._n] = self._buf[: self._n]
            self._buf = moved
        self._cap = changes
        self._set_limit()

    def flush(self, until: float) -> None:
        """Integrate every buffered change with ``time <= until``."""
        t0 = self._t_last
        if until < t0:
            raise ValueError(f"flush back in time: {until} < {t0}")
        self._consolidate()
        n = self._n
        if not n and self._value == 0.0:
            # Nothing changed and the level is 0: no area, no new maximum (levels
            # are >= 0). Most levels of a large fleet are like that (unused RAM).
            self._t_last = until
            return
        # Views of the buffer: every step below makes new arrays before it is
        # written again.
        pairs = self._pairs()
        t_chg = pairs[:, 0]
        d_chg = pairs[:, 1]
        keep_t: np.ndarray | None = None
        keep_d: np.ndarray | None = None
        if t_chg.size and t_chg.max() > until:
            due = t_chg <= until
            keep_t, keep_d = t_chg[~due], d_chg[~due]
            t_chg, d_chg = t_chg[due], d_chg[due]
        order = t_chg.argsort(kind="stable")
        t_chg, d_chg = t_chg[order], d_chg[order]
        values = self._value + d_chg.cumsum()
        self._integrate(t0, until, t_chg, values)
        if values.size:
            self._value = float(values[-1])
        self._t_last = until
        # Emptied, keeping its size; the changes still ahead go back in front
        # (as many as make it due list it again).
        self._n = 0
        self._listed = False
        if keep_t is not None and keep_d is not None:
            self._n = 2 * keep_t.size
            kept = self._pairs()
            kept[:, 0] = keep_t
            kept[:, 1] = keep_d
        self._make_room(self._n)

    def _integrate(self, t0: float, t1: float, t_chg: np.ndarray, values: np.ndarray) -> None:
        """Add the step function on [t0, t1] to the bins and warm-up totals."""
        starts = np.concatenate(([t0], t_chg))
        levels = np.concatenate(([self._value], values))
        all_edges = self._bins.array
        # Per-bin maxima: the level after each instant's changes and at each bin start.
        # Several changes at one instant count once, with the value they leave.
        if t_chg.size:
            settled = np.concatenate((t_chg[1:] != t_chg[:-1], _SETTLED_LAST))
            t_set, v_set = t_chg[settled], values[settled]
            idx = all_edges.searchsorted(t_set, side="right") - 1
            np.maximum.at(self.bin_max, idx, v_set)
        else:
            t_set = v_set = t_chg
        first = bisect_right(self._bins.list, t0) - 1
        last = bisect_right(self._bins.list, t1) - 1
        edges = all_edges[first + 1 : last + 1]  # bin starts inside (t0, t1]
        if edges.size:
            at_edges = levels[starts.searchsorted(edges, side="right") - 1]
            np.maximum(
                self.bin_max[first + 1 : last + 1], at_edges, out=self.bin_max[first + 1 : last + 1]
            )
        if first >= 0 and self._bins.list[first] == t0:
            self.bin_max[first] = max(self.bin_max[first], levels[0])
        # Areas from the cumulative integral A(t) evaluated at t0, bin starts, t1:
        # the piece after the k-th point lies in bin first + k.
        seg_area = levels[:-1] * (starts[1:] - starts[:-1])
        at_start = np.concatenate(([0.0], seg_area.cumsum()))
        points = np.concatenate(([t0], edges, [t1]))
        i = starts.searchsorted(points, side="right") - 1
        area = at_start[i] + levels[i] * (points - starts[i])
        self.bin_area[first : first + points.size - 1] += area[1:] - area[:-1]
        warm = self._warm_up_s
        if t1 > warm:
            lo = max(t0, warm)
            if lo == t0:  # the cumulative integral at t0 and t1 is already known
                a_lo, a_hi, at_lo = float(area[0]), float(area[-1]), float(levels[i[0]])
            else:
                pts = np.array([lo, t1])
                j = starts.searchsorted(pts, side="right") - 1
                a = at_start[j] + levels[j] * (pts - starts[j])
                a_lo, a_hi, at_lo = float(a[0]), float(a[1]), float(levels[j[0]])
            self.area_after_warm_up += a_hi - a_lo
            if t_set.size and t_set[0] >= lo:
                peak = max(at_lo, float(v_set.max()))
            else:
                after = v_set[t_set >= lo]
                peak = max(at_lo, float(after.max()) if after.size else -math.inf)
            self.max_after_warm_up = max(self.max_after_warm_up, peak)
