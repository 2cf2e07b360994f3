"""The latencies of requests, read a chunk of rows at a time, and their statistics.

No float64 column of latencies is held: each figure reads
``finished_s - generated_s`` of the rows it needs when it needs them
(:class:`~asyncflow.analysis.ranks.ChunkedValues`), and the figures are bit
for bit those of numpy on the array made whole (the mean in row order for
all requests, in ascending order for a group, as of a sorted group).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.groups import sums
from asyncflow.analysis.lazy import LazyColumn
from asyncflow.analysis.ranks import ChunkedValues, latency_figures

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = [
    "group_latency_stats",
    "group_sorted_latencies",
    "latency_column",
    "latency_stats_of",
    "measured_values",
    "no_stats",
    "stats_dict",
]


def no_stats(percentiles: Sequence[int]) -> dict[str, float | None]:
    """The statistics of no latency: all None."""
    return dict.fromkeys(("mean", *(f"p{p}" for p in percentiles), "max"))


def latency_column(results: Results) -> LazyColumn:
    """Every request's ``finished_s - generated_s``, made for the rows asked for."""
    r = results.requests
    return LazyColumn(len(r), lambda rows: r.finished_s[rows] - r.generated_s[rows])


def measured_values(results: Results, mask: np.ndarray | LazyColumn) -> ChunkedValues:
    """The latencies of the rows of ``mask``, in row order (``(finished - generated)[mask]``)."""
    r = results.requests

    def part(start: int, stop: int) -> np.ndarray:
        keep = mask[start:stop]
        values: np.ndarray = r.finished_s[start:stop][keep] - r.generated_s[start:stop][keep]
        return values

    return ChunkedValues(len(r), part)


def stats_dict(
    mean: float, quantiles: Sequence[float], top: float, percentiles: Sequence[int]
) -> dict[str, float | None]:
    """``{"mean", "p50", ..., "max"}`` from the figures."""
    stats: dict[str, float | None] = {"mean": mean}
    stats.update({f"p{p}": q for p, q in zip(percentiles, quantiles, strict=True)})
    stats["max"] = top
    return stats


def _sorted_stats(values: np.ndarray, percentiles: Sequence[int]) -> dict[str, float | None]:
    """Statistics of sorted values, as of a sorted group (its mean in ascending order)."""
    mean, top = float(values.mean()), float(values.max())
    qs = np.percentile(values, list(percentiles), overwrite_input=True)
    return stats_dict(mean, [float(q) for q in qs], top, percentiles)


def group_latency_stats(
    results: Results,
    codes: LazyColumn,
    groups: int,
    percentiles: Sequence[int],
    skip: frozenset[int] = frozenset(),
    budget: int | None = None,
) -> list[dict[str, float | None]]:
    """The latency statistics of each group's requests (codes -1: in no group).

    Each group's figures are those of its latencies sorted (the mean added
    in ascending order). Groups small enough are read together, a batch of
    at most half the budget at a time, from one pass each; a larger
    group is read by rank (:class:`ChunkedValues`). Groups in ``skip`` are
    left as :func:`no_stats`. ``budget``: the most latencies held at once
    (by default ``max(65536, requests // 8)``).
    """
    n = len(results.requests)
    counts = sums(codes, groups)
    budget = max(1 << 16, n // 8) if budget is None else budget
    out = [no_stats(percentiles) for _ in range(groups)]
    batch: list[int] = []
    held = 0
    wanted = [g for g in range(groups) if counts[g] and g not in skip]
    for g in wanted:
        size = int(counts[g])
        if size > budget // 2:
            values = _group_values(results, codes, g, budget)
            figures = latency_figures(values, percentiles, sorted_mean=True)
            out[g] = stats_dict(*figures, percentiles)
            continue
        if held + size > budget // 2:
            _batch_stats(results, codes, batch, groups, percentiles, out)
            batch, held = [], 0
        batch.append(g)
        held += size
    if batch:
        _batch_stats(results, codes, batch, groups, percentiles, out)
    return out


def _group_values(results: Results, codes: LazyColumn, group: int, budget: int) -> ChunkedValues:
    latency = latency_column(results)

    def part(start: int, stop: int) -> np.ndarray:
        rows = slice(start, stop)
        values: np.ndarray = latency[rows][codes[rows] == group]
        return values

    return ChunkedValues(len(results.requests), part, budget)


def group_sorted_latencies(
    results: Results, codes: LazyColumn, groups: int, chosen: Sequence[int]
) -> dict[int, np.ndarray]:
    """The sorted latencies of each group in ``chosen``, made whole (one pass)."""
    values, bounds = _gather(results, codes, groups, chosen)
    return {g: values[bounds[k] : bounds[k + 1]] for k, g in enumerate(chosen)}


def _gather(
    results: Results, codes: LazyColumn, groups: int, chosen: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The latencies of the ``chosen`` groups, sorted by (group in ``chosen`` order, value)."""
    where = np.full(groups + 1, -1, dtype=np.int64)  # code -1 reads the last entry
    where[list(chosen)] = np.arange(len(chosen))
    latency = latency_column(results)
    values: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    for start in range(0, len(results.requests), 1 << 16):
        rows = slice(start, start + (1 << 16))
        rank = where[codes[rows]]
        keep = rank >= 0
        values.append(latency[rows][keep])
        ranks.append(rank[keep])
    value = np.concatenate(values) if values else np.zeros(0)
    rank = np.concatenate(ranks) if ranks else np.zeros(0, dtype=np.int64)
    del values, ranks
    order = np.lexsort((value, rank))
    counts = np.bincount(rank, minlength=len(chosen))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return value[order], bounds


def _batch_stats(
    results: Results,
    codes: LazyColumn,
    batch: list[int],
    groups: int,
    percentiles: Sequence[int],
    out: list[dict[str, float | None]],
) -> None:
    values, bounds = _gather(results, codes, groups, batch)
    for k, g in enumerate(batch):
        out[g] = _sorted_stats(values[bounds[k] : bounds[k + 1]], percentiles)


def latency_stats_of(values: ChunkedValues, percentiles: Sequence[int]) -> dict[str, Any]:
    """Mean (in row order), percentiles and maximum of some latencies; all None when none."""
    if values.count == 0:
        return no_stats(percentiles)
    return stats_dict(*latency_figures(values, percentiles, sorted_mean=False), percentiles)
