"""Latency statistics of groups of requests, read a chunk at a time, as numpy gives them."""

from __future__ import annotations

import numpy as np
import pytest

import asyncflow
from asyncflow.analysis.latencies import (
    group_latency_stats,
    group_sorted_latencies,
    latency_stats_of,
    measured_values,
    no_stats,
)
from asyncflow.analysis.lazy import LazyColumn, count_rows
from asyncflow.results import Results
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import cpu, endpoint, exponential, io

PERCENTILES = (50, 90, 95, 99)


@pytest.fixture(scope="module")
def three_workloads() -> Results:
    builder = ScenarioBuilder("three").client()
    for name, users in (("a", 30), ("b", 5), ("c", 1)):
        builder.workload(users=users, requests_per_minute=60, id=name)
    builder.server("srv-1", endpoints=[endpoint("/api", cpu(exponential(0.004)), io(0.01))])
    builder.wire(latency=exponential(0.002))
    return asyncflow.run(builder.settings(120, seed=11, warm_up_s=5).build())


def _expected(results: Results, group: int) -> dict[str, float | None]:
    r = results.requests
    measured = (r.outcome == 1) & (r.generated_s >= results.warm_up_s)
    values = np.sort((r.finished_s - r.generated_s)[measured & (r.workload == group)])
    if values.size == 0:
        return no_stats(PERCENTILES)
    stats: dict[str, float | None] = {"mean": float(values.mean())}
    stats.update({f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES})
    stats["max"] = float(values.max())
    return stats


def _codes(results: Results) -> LazyColumn:
    r = results.requests
    measured = (r.outcome == 1) & (r.generated_s >= results.warm_up_s)
    return LazyColumn(len(r), lambda rows: np.where(measured[rows], r.workload[rows], -1))


@pytest.mark.parametrize("budget", [None, 600, 200])  # one batch; batches; larger groups by rank
def test_group_statistics_are_those_of_each_sorted_group(
    three_workloads: Results, budget: int | None
) -> None:
    stats = group_latency_stats(
        three_workloads, _codes(three_workloads), 4, PERCENTILES, budget=budget
    )
    assert stats == [_expected(three_workloads, g) for g in range(4)]
    assert stats[3] == no_stats(PERCENTILES)  # a group without requests


def test_skipped_groups_are_left_empty_and_sorted_latencies_given_whole(
    three_workloads: Results,
) -> None:
    codes = _codes(three_workloads)
    stats = group_latency_stats(three_workloads, codes, 3, PERCENTILES, frozenset({0}))
    assert stats[0] == no_stats(PERCENTILES)
    assert stats[1] == _expected(three_workloads, 1)
    exact = group_sorted_latencies(three_workloads, codes, 3, [2, 0])
    r = three_workloads.requests
    latency = r.finished_s - r.generated_s
    for g in (0, 2):
        assert exact[g].tolist() == np.sort(latency[codes[slice(None)] == g]).tolist()


def test_row_order_statistics_are_those_of_the_masked_latencies(
    three_workloads: Results,
) -> None:
    r = three_workloads.requests
    mask = r.outcome == 1
    latency = (r.finished_s - r.generated_s)[mask]
    stats = latency_stats_of(measured_values(three_workloads, mask), PERCENTILES)
    assert stats["mean"] == float(latency.mean())
    assert stats["p99"] == float(np.percentile(latency, 99))
    assert stats["max"] == float(latency.max())
    nothing = np.zeros(len(r), dtype=bool)
    assert latency_stats_of(measured_values(three_workloads, nothing), PERCENTILES) == no_stats(
        PERCENTILES
    )
    assert count_rows(len(r), lambda rows: mask[rows]) == int(mask.sum())


def test_a_lazy_column_makes_many_picked_rows_a_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncflow.analysis.lazy as lazy

    monkeypatch.setattr(lazy, "CHUNK_ROWS", 10)
    column = np.arange(100) * 3
    calls: list[int] = []

    def make(rows: slice | np.ndarray) -> np.ndarray:
        part = column[rows]
        calls.append(part.size)
        return part

    lazy_column = LazyColumn(100, make)
    picked = np.array([5, 99, 0, 42] * 6)
    assert lazy_column[picked].tolist() == column[picked].tolist()
    assert calls == [10, 10, 4]
    assert lazy_column[3:7].tolist() == [9, 12, 15, 18]
