"""Level integration checked against a brute-force step-function integral."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncflow.metrics.levels import Level

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
