"""Bisection, bracketing and knees on synthetic outcomes (no simulation)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from asyncflow.analysis.stats import proportion_interval
from asyncflow.experiment.knee import MIN_RISE, find_knee
from asyncflow.experiment.search import SearchSpace, _explore, _found, _Searcher


@dataclass
class FakeGate:
    """What the search reads of a gate: the share of runs meeting the objective."""

    probability: Any
    passed: bool


@dataclass
class FakePoint:
    """A point whose objectives pass exactly on one side of a limit."""

    passed: bool
    gates: tuple[FakeGate, ...]


def limit_at(limit: float, direction: str, calls: list[float]) -> Any:
    def evaluate(value: float) -> FakePoint:
        calls.append(value)
        ok = value <= limit if direction == "max" else value >= limit
        share = proportion_interval(20 if ok else 12, 20, 0.95)
        return FakePoint(ok, (FakeGate(share, ok),))

    return evaluate


def search(space: SearchSpace, limit: float, start: float | None = None) -> tuple[Any, list[float]]:
    calls: list[float] = []
    searcher = _Searcher(space, limit_at(limit, space.direction, calls))
    _explore(searcher, start)
    return _found(searcher, 0.95), calls


def test_find_max_within_bounds_ends_one_resolution_from_the_limit() -> None:
    found, calls = search(SearchSpace("x", "max", low=0.0, high=100.0), limit=63.2)
    assert found.value <= 63.2 < found.next_value
    assert found.next_value - found.value <= found.resolution * (1 + 1e-9)
    assert found.resolution == pytest.approx(1.0)  # 1 % of the range's top
    assert found.confidence == 1.0
    assert found.next_confidence == pytest.approx(0.6)
    assert len(calls) == len(set(calls)) <= 2 + math.ceil(math.log2(100))
    assert "is the largest value tried" in found.limit


def test_find_min_on_whole_numbers_with_a_step() -> None:
    found, _ = search(SearchSpace("cores", "min", low=1, high=64, integer=True), limit=13)
    assert (found.value, found.next_value) == (13.0, 12.0)
    found, _ = search(SearchSpace("x", "min", low=0, high=10, step=0.5), limit=3.3)
    assert (found.value, found.next_value) == (3.5, 3.0)


def test_candidates_are_bisected_by_position() -> None:
    values = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    found, calls = search(SearchSpace("x", "max", candidates=values), limit=10)
    assert (found.value, found.next_value) == (8.0, 16.0)
    assert set(calls) <= set(values)


def test_without_bounds_the_current_value_is_doubled_or_halved() -> None:
    found, calls = search(SearchSpace("users", "max"), limit=700.0, start=100.0)
    assert calls[:4] == [100.0, 200.0, 400.0, 800.0]
    assert found.value <= 700 < found.next_value
    found, calls = search(SearchSpace("cores", "min", integer=True), limit=3, start=16)
    assert calls[:4] == [16.0, 8.0, 4.0, 2.0]
    assert found.value == 3.0


def test_no_passing_value_and_a_limit_beyond_the_range() -> None:
    found, _ = search(SearchSpace("x", "max", low=10.0, high=20.0), limit=5.0)
    assert found.value is None
    assert found.confidence is None
    assert found.limit == "no value tried meets the objectives in at least 95% of runs"
    found, _ = search(SearchSpace("x", "max", low=10.0, high=20.0), limit=50.0)
    assert found.value == 20.0
    assert found.next_value is None
    assert "the limit may lie beyond it" in found.limit


def test_a_search_with_nothing_to_start_from_is_refused() -> None:
    from asyncflow.errors import ExperimentError

    with pytest.raises(ExperimentError, match="no bounds given and no positive value"):
        search(SearchSpace("x", "max"), limit=1.0, start=None)


def test_the_knee_of_a_hockey_stick_and_of_queueing_curves() -> None:
    x = np.arange(0, 11, dtype=float)
    stick = np.where(x <= 6, 1.0, 1.0 + 3.0 * (x - 6))
    assert find_knee(x, stick) is not None
    assert find_knee(x, stick)[0] == 6  # type: ignore[index]
    rho = np.linspace(0.1, 0.95, 18)
    mm1 = 1.0 / (1.0 - rho)  # latency against load: the knee where it starts to climb
    index, bend = find_knee(rho, mm1)  # type: ignore[misc]
    assert 0.75 <= rho[index] <= 0.9
    assert bend > 0.3
    cores = np.arange(1, 11, dtype=float)
    falling = 1.0 + 8.0 / cores**2  # latency against capacity: mirrored
    index, _ = find_knee(cores, falling)  # type: ignore[misc]
    assert cores[index] in (2.0, 3.0)


@pytest.mark.parametrize(
    "y",
    [
        np.linspace(1.0, 5.0, 8),  # straight
        np.array([0.1200, 0.1199, 0.1206, 0.1199, 0.1201, 0.1204]),  # flat with noise
        np.sqrt(np.arange(1.0, 9.0)),  # bends the other way
        np.array([1.0, 2.0]),  # too short
    ],
    ids=["straight", "flat", "concave", "short"],
)
def test_curves_without_a_knee(y: np.ndarray) -> None:
    assert find_knee(np.arange(y.size, dtype=float), y) is None
    assert MIN_RISE > 0
