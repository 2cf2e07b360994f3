"""Level integration checked against a brute-force step-function integral."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncflow.metrics.levels import DUE_CHANGES, Level

HORIZON = 10.0


def _brute_force(
    changes: list[tuple[float, float]], bin_s: float, n_bins: int, warm: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    pts = sorted(changes)

    def level(x: float) -> float:
        return sum(d for t, d in pts if t <= x)

    def area(a: float, b: float) -> float:
        grid = [a] + [t for t, _ in pts if a < t < b] + [b]
        return sum(level(x0) * (x1 - x0) for x0, x1 in itertools.pairwise(grid))

    areas, maxima = np.zeros(n_bins), np.zeros(n_bins)
    for j in range(n_bins):
        a, b = j * bin_s, min((j + 1) * bin_s, HORIZON)
        areas[j] = area(a, b)
        maxima[j] = max([level(a)] + [level(t) for t, _ in pts if a <= t < b])
    peak = max([level(warm)] + [level(t) for t, _ in pts if t >= warm])
    return areas, maxima, area(warm, HORIZON), peak


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0, HORIZON), st.sampled_from([1.0, 2.0, 0.5])), max_size=25),
    bin_s=st.sampled_from([0.1, 0.5, 0.7, 1.0, 3.0]),
    warm=st.sampled_from([0.0, 2.1, 5.0]),
    flush_times=st.lists(st.floats(0, HORIZON), max_size=4),
)
def test_flushed_integrals_match_brute_force(
    steps: list[tuple[float, float]], bin_s: float, warm: float, flush_times: list[float]
) -> None:
    # Each step up is followed by a step down later, so the level stays >= 0.
    changes: list[tuple[float, float]] = []
    for t, size in steps:
        changes += [(t, size), (min(HORIZON, t + 1.3), -size)]
    n_bins = math.ceil(HORIZON / bin_s - 1e-9)
    level = Level("x", n_bins, bin_s, warm)
    added: set[int] = set()
    previous = 0.0
    for flush_at in [*sorted(flush_times), HORIZON]:
        # Changes may be recorded ahead of time, but never before the last flush.
        for i, (t, d) in enumerate(changes):
            if i not in added and previous <= t <= flush_at + 2.0:
                level.change(t, d)
                added.add(i)
        level.flush(flush_at)
        previous = flush_at
    areas, maxima, warm_area, warm_peak = _brute_force(changes, bin_s, n_bins, warm)
    np.testing.assert_allclose(level.bin_area, areas, atol=1e-9)
    np.testing.assert_allclose(level.bin_max, maxima, atol=1e-9)
    assert level.area_after_warm_up == pytest.approx(warm_area, abs=1e-9)
    assert level.max_after_warm_up == pytest.approx(warm_peak, abs=1e-9)


def test_flush_back_in_time_is_refused() -> None:
    level = Level("x", 10, 1.0)
    level.flush(5.0)
    with pytest.raises(ValueError, match="flush back in time"):
        level.flush(4.0)


def test_the_buffer_keeps_every_change_through_doublings_flushes_and_release() -> None:
    level = Level("x", 10, 1.0)
    recorded: list[tuple[float, float]] = []
    for i in range(100):  # past 16, 32 and 64 changes: three doublings, odd and even fills
        t = i * 0.01
        if i % 3:
            level.change(t, 0.5)
            recorded.append((t, 0.5))
        else:
            level.span(t, t + 5.0)  # one in transit until 5 s later
            recorded += [(t, 1.0), (t + 5.0, -1.0)]
    assert level.pending == len(recorded)
    assert list(zip(level.times.tolist(), level.deltas.tolist(), strict=True)) == recorded
    assert level.pending_sum() == sum(d for _, d in recorded)
    level.flush(2.0)  # the spans' ends (after 2 s) are carried, first in the buffer
    ahead = [(t, d) for t, d in recorded if t > 2.0]
    assert list(zip(level.times.tolist(), level.deltas.tolist(), strict=True)) == ahead
    level.release()
    level.change(2.5, 1.0)
    assert level.times.tolist() == [t for t, _ in ahead] + [2.5]
    level.flush(10.0)
    assert level.pending == 0
    # The area up to 10 s: every change counted once, the spans closed at their ends.
    expected = sum(d * (10.0 - t) for t, d in [*recorded, (2.5, 1.0)])
    assert level.bin_area.sum() == pytest.approx(expected)


def test_a_level_joins_the_due_list_once_when_enough_changes_are_pending() -> None:
    due: list[Level] = []
    level = Level("x", 10, 1.0, due=due)
    for i in range(DUE_CHANGES - 2):
        level.change(i * 1e-4, 1.0)
    assert due == []
    level.span(0.5, 0.6)  # two changes at once: the last two before it is due
    assert due == [level]
    level.change(0.7, -1.0)
    level.span(0.8, 0.9)
    assert due == [level]  # listed once
    due.clear()
    level.flush(1.0)
    assert level.pending == 0
    assert due == []
    # Changes still ahead when it is flushed, as many as make it due: listed again.
    for i in range(DUE_CHANGES):
        level.change(2.0 + i * 1e-4, 1.0)
    due.clear()
    level.flush(1.5)
    assert level.pending == DUE_CHANGES
    assert due == [level]


def test_a_level_without_a_due_list_just_grows() -> None:
    level = Level("x", 10, 1.0)
    for i in range(3 * DUE_CHANGES):
        level.change(i * 1e-4, 1.0)
    assert level.pending == 3 * DUE_CHANGES


def test_a_buffer_grows_and_shrinks_while_a_view_of_it_is_held() -> None:
    # A frame kept alive after a flush (a profiler's sample) holds views of
    # the buffer: the array cannot be resized in place, so it is copied.
    # (Views are taken of a consolidated buffer; growing starts new chunks.)
    level = Level("x", 10, 1.0)
    for i in range(10):
        level.change(i * 0.1, 1.0)
    held = level.times
    for i in range(10, 40):  # past 16 and 32 changes
        level.change(i * 0.1, 1.0)
    assert level.times.tolist() == [i * 0.1 for i in range(40)]
    assert held.tolist() == [i * 0.1 for i in range(10)]  # the view still reads the old buffer
    level.flush(2.0)
    held = level.times
    level.release()
    ahead = [i * 0.1 for i in range(40) if i * 0.1 > 2.0]
    assert level.pending == len(ahead) == 19
    assert level.times.tolist() == held.tolist() == ahead


def test_a_full_buffer_is_kept_and_not_copied_until_a_read() -> None:
    level = Level("x", 10, 1.0)
    first = level._buf
    for i in range(16):
        level.change(i * 0.01, 1.0)
    assert level._buf is first
    level.change(0.5, -1.0)  # the 17th change starts a chunk of its own
    assert level._buf is not first
    assert level._full == [(first, 32)]
    for i in range(100):
        level.span(1.0 + i * 0.01, 2.0 + i * 0.01)
    assert len(level._full) == 4  # chunks of 16, 16, 32 and 64 changes, full
    assert level._full[0][0] is first
    assert level.pending == 217
    assert level.pending_sum() == 15.0  # read: one buffer now, in the order recorded
    assert level._full == []
    assert level.times[:17].tolist() == [i * 0.01 for i in range(16)] + [0.5]
    level.flush(10.0)
    assert level.pending == 0
    assert level.bin_area.sum() == pytest.approx(
        sum(10.0 - i * 0.01 for i in range(16)) - 9.5 + 100 * 1.0
    )
