"""Masks, codes and orders of the requests, made a part of the table at a time.

What the summary and the reports group requests by (measured or not, in a
tail, by path, by time bin) is made from the table's own columns for the
chunk of rows being read (:class:`~asyncflow.analysis.lazy.LazyColumn`), so
no column as long as the request table is held beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from asyncflow.analysis.groups import codes_of, sums
from asyncflow.analysis.latencies import group_sorted_latencies
from asyncflow.analysis.lazy import CHUNK_ROWS, LazyColumn
from asyncflow.metrics.requests import COMPLETED

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = ["Mask", "latency_bins", "measured_rows", "on_path_codes", "path_codes", "path_order"]

Mask = np.ndarray | LazyColumn
"""A boolean mask of the requests: an array, or one made a part at a time."""


def measured_rows(results: Results) -> LazyColumn:
    """The measured requests (``attribution.measured_mask``), made a part at a time."""
    r = results.requests
    warm_up = results.warm_up_s
    return LazyColumn(
        len(r), lambda rows: (r.outcome[rows] == COMPLETED) & (r.generated_s[rows] >= warm_up)
    )


def path_codes(results: Results, mask: Mask) -> LazyColumn:
    """``workload * servers + server`` of the requests of ``mask``, -1 for the others."""
    r = results.requests
    sizes = (max(1, len(results.workload_ids)), len(results.server_ids))

    def make(rows: slice | np.ndarray) -> np.ndarray:
        code = codes_of(r.workload[rows], r.server[rows], sizes=sizes)
        code[~mask[rows]] = -1
        return code

    return LazyColumn(len(r), make)


def on_path_codes(on_path: np.ndarray, codes: LazyColumn, root: np.ndarray) -> LazyColumn:
    """The request codes of critical-path calls (by their ``root``) where ``on_path``, else -1."""
    return LazyColumn(on_path.size, lambda rows: np.where(on_path[rows], codes[root[rows]], -1))


def path_order(results: Results) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the measured requests by path code (ascending within a path), and bounds."""
    r = results.requests
    codes = path_codes(results, measured_rows(results))
    counts = sums(codes, len(results.workload_ids) * max(1, len(results.server_ids)))
    bounds = np.concatenate(([0], np.cumsum(counts)))
    order = np.empty(int(bounds[-1]), dtype=np.int32 if len(r) < 2**31 else np.int64)
    place = bounds[:-1].copy()  # where each path's next row goes
    for start in range(0, len(r), CHUNK_ROWS):
        part = codes[start : start + CHUNK_ROWS]
        rows = np.flatnonzero(part >= 0)
        part = part[rows]
        by_path = np.argsort(part, kind="stable")
        rows, part = rows[by_path] + start, part[by_path]
        paths, first, count = np.unique(part, return_index=True, return_counts=True)
        order[place[part] + np.arange(part.size) - np.repeat(first, count)] = rows
        place[paths] += count
    return order, bounds


def latency_bins(results: Results, edges: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Each non-empty bin's latencies of completed requests, by finish time.

    Bin ``j`` holds the requests that finished in ``[edges[j], edges[j + 1])``.
    Bins are read a batch at a time (at most ``max(65536, requests // 8)``
    latencies held, besides a bin larger than that), each batch in one pass
    over the rows: no column of every request is made.
    """
    r = results.requests
    bins = edges.size - 1

    def code(rows: slice | np.ndarray) -> np.ndarray:
        j = np.searchsorted(edges, r.finished_s[rows], side="right") - 1
        j[(r.outcome[rows] != COMPLETED) | (j >= bins)] = -1
        return j

    codes = LazyColumn(len(r), code)
    counts = sums(codes, bins)
    budget = max(1 << 16, len(r) // 8)
    batch: list[int] = []
    held = 0
    for j in np.flatnonzero(counts).tolist():
        if batch and held + int(counts[j]) > budget:
            yield from group_sorted_latencies(results, codes, bins, batch).items()
            batch, held = [], 0
        batch.append(j)
        held += int(counts[j])
    if batch:
        yield from group_sorted_latencies(results, codes, bins, batch).items()
