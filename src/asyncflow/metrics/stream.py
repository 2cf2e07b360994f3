"""Streaming mode: requests folded into sums and sketches as they end.

A :class:`RequestStream` holds what the summary needs from the requests:
counts, float64 sums and quantile sketches by workload, server and endpoint,
and per latency bucket the phases of the requests in it (for the tails). The
ring of request rows (:mod:`asyncflow.streaming`) folds ended requests into
it a :class:`Chunk` at a time, so nothing grows with the horizon. The
figures are exact, except the latency percentiles (from sketches,
:data:`LATENCY_ALPHA` relative error) and the tails' breakdowns (whole
buckets of :data:`TAIL_ALPHA`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asyncflow.metrics.phases import CALLS_NETWORK, HOP_SLOTS, SLOTS
from asyncflow.metrics.requests import COMPLETED
from asyncflow.metrics.sketch import QuantileSketch

LATENCY_ALPHA = 0.005
"""Relative accuracy of the latency sketches (each quantile within 0.5 %)."""

TAIL_ALPHA = 0.01
"""Relative width of the latency buckets the tails' phase breakdowns are kept by."""

MAX_CODES = 128
"""Outcome codes are int8: at most this many (0 and 1 included)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some ended requests, as columns (and the calls on their critical paths)."""

    generated: np.ndarray
    finished: np.ndarray
    outcome: np.ndarray
    server: np.ndarray
    endpoint: np.ndarray
    workload: np.ndarray
    slots: np.ndarray  # (rows, SLOTS) float32
    crit_row: np.ndarray  # index into this chunk's rows
    crit_site: np.ndarray
    crit_server: np.ndarray
    crit_slots: np.ndarray  # (calls, SLOTS) float32


class Scope:
    """Sums over the measured requests of one scope (all, or outside event windows).

    Besides the totals it keeps, per latency bucket of :data:`TAIL_ALPHA`,
    the count, latency sum and slot sums of the requests, and their slot
    sums by (workload, server) and by (call site, server): a tail (the
    requests at or above a percentile) is the buckets from the one holding
    that percentile up, whole.
    """

    __slots__ = ("_gamma_log", "buckets", "count", "crit_crossings", "crossings")

    def __init__(self) -> None:
        self._gamma_log = math.log((1.0 + TAIL_ALPHA) / (1.0 - TAIL_ALPHA))
        self.count = 0
        self.buckets: dict[int, list[Any]] = {}
        self.crossings: np.ndarray = np.zeros(0, dtype=np.int64)
        self.crit_crossings: np.ndarray = np.zeros(0, dtype=np.int64)

    def bucket_of(self, latency: np.ndarray) -> np.ndarray:
        """The bucket key of each latency (0 for latencies of 1 ns or less)."""
        safe = np.maximum(latency, 1e-9)
        keys: np.ndarray = np.ceil(np.log(safe) / self._gamma_log).astype(np.int64)
        return keys

    def bucket_floor(self, key: int) -> float:
        """The lowest latency bucket ``key`` holds."""
        return math.exp((key - 1) * self._gamma_log)

    def merge(self, other: Scope) -> None:
        """Add another scope's sums."""
        self.count += other.count
        self.crossings = _add(self.crossings, other.crossings)
        self.crit_crossings = _add(self.crit_crossings, other.crit_crossings)
        for key, entry in other.buckets.items():
            mine = self.buckets.get(key)
            if mine is None:
                self.buckets[key] = [
                    entry[0],
                    entry[1],
                    entry[2].copy(),
                    entry[3].copy(),
                    entry[4].copy(),
                ]
                continue
            mine[0] += entry[0]
            mine[1] += entry[1]
            mine[2] = mine[2] + entry[2]
            mine[3] = _add(mine[3], entry[3])
            mine[4] = _add(mine[4], entry[4])


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of two arrays whose first dimension may differ (the shorter padded with zeros)."""
    if a.shape[0] < b.shape[0]:
        a, b = b, a
    out = a.copy()
    out[: b.shape[0]] += b
    return out


class RequestStream:
    """Everything the summary needs from the requests, folded a chunk at a time.

    Sketches and counts merge exactly (:meth:`merge`): streams of
    replications, or of workers, add up to the stream of all their requests.
    Float sums merge up to the order of the additions.
    """

    __slots__ = (
        "bin_latency",
        "bin_s",
        "by_code",
        "completed_bins",
        "completed_by_endpoint",
        "completed_by_server",
        "crit_by_site",
        "endpoint_latency",
        "endpoint_offsets",
        "failed_bins",
        "finished_by_workload",
        "latency",
        "latency_by_workload",
        "latency_max",
        "latency_sum_bins",
        "latency_sum_by_endpoint",
        "latency_sum_by_server",
        "measured_by_endpoint",
        "measured_by_server",
        "n_servers",
        "n_sites",
        "n_workloads",
        "own_by_endpoint",
        "own_by_path",
        "scopes",
        "slot_sum",
        "warm_up_s",
        "windows",
    )

    def __init__(
        self,
        *,
        workloads: int,
        endpoint_sizes: Sequence[int],
        warm_up_s: float,
        sites: int = 0,
        windows: Sequence[tuple[float, float]] = (),
        bin_s: float = 1.0,
        bins: int = 1,
    ) -> None:
        self.n_workloads = max(1, workloads)
        self.n_servers = len(endpoint_sizes)
        self.n_sites = sites
        self.endpoint_offsets = np.concatenate(([0], np.cumsum(endpoint_sizes))).astype(np.int64)
        endpoints = int(self.endpoint_offsets[-1])
        self.warm_up_s = warm_up_s
        self.windows = tuple(windows)
        w, s = self.n_workloads, self.n_servers
        self.by_code = np.zeros((w, MAX_CODES), dtype=np.int64)
        self.finished_by_workload = np.zeros(w, dtype=np.int64)
        self.completed_by_server = np.zeros(s, dtype=np.int64)
        self.completed_by_endpoint = np.zeros(endpoints, dtype=np.int64)
        self.measured_by_server = np.zeros(s, dtype=np.int64)
        self.measured_by_endpoint = np.zeros(endpoints, dtype=np.int64)
        self.latency_sum_by_server = np.zeros(s)
        self.latency_sum_by_endpoint = np.zeros(endpoints)
        self.latency = QuantileSketch(LATENCY_ALPHA)
        self.latency_by_workload = [QuantileSketch(LATENCY_ALPHA) for _ in range(w)]
        self.endpoint_latency = [QuantileSketch(LATENCY_ALPHA) for _ in range(endpoints)]
        self.latency_max = np.full(endpoints + w + 1, -np.inf)  # endpoints, workloads, all
        self.slot_sum = np.zeros(SLOTS)
        self.own_by_endpoint = np.zeros((endpoints, SLOTS))
        self.own_by_path = np.zeros((w * s, SLOTS))
        self.crit_by_site = np.zeros((sites * (s + 1), SLOTS))  # see call_codes
        self.scopes = {"all": Scope(), "clean": Scope()}
        self.bin_s = bin_s
        self.completed_bins = np.zeros(bins, dtype=np.int64)
        self.latency_sum_bins = np.zeros(bins)
        self.failed_bins: dict[int, np.ndarray] = {}
        self.bin_latency: dict[int, QuantileSketch] = {}

    def allocate_sites(self, sites: int) -> None:
        """Set the number of call sites (known once the run is wired, before any fold)."""
        self.n_sites = sites
        self.crit_by_site = np.zeros((sites * (self.n_servers + 1), SLOTS))

    # ------------------------------------------------------------------ folding

    def fold(self, chunk: Chunk) -> None:
        """Add some ended (or, at the horizon, in-flight) requests."""
        if chunk.generated.size == 0:
            return
        w = chunk.workload.astype(np.int64)
        code = chunk.outcome.astype(np.int64)
        np.add.at(self.by_code, (w, code), 1)
        done = code == COMPLETED
        finished_ok = done & (chunk.finished >= self.warm_up_s)
        self.finished_by_workload += np.bincount(w[finished_ok], minlength=self.n_workloads)
        server = chunk.server.astype(np.int64)
        endpoint = self._endpoint_codes(server, chunk.endpoint)
        self.completed_by_server += _count(server[done], self.n_servers)
        self.completed_by_endpoint += _count(endpoint[done], self.completed_by_endpoint.size)
        self._fold_bins(chunk, code, done)
        measured = done & (chunk.generated >= self.warm_up_s)
        if measured.any():
            self._fold_measured(chunk, measured, w, server, endpoint)

    def _fold_bins(self, chunk: Chunk, code: np.ndarray, done: np.ndarray) -> None:
        """Completions, failures and latencies per bin of finish time."""
        bins = self.completed_bins.size
        ended = code > COMPLETED
        where = np.zeros(code.size, dtype=np.int64)
        finite = done | ended
        where[finite] = np.clip(
            (chunk.finished[finite] // self.bin_s).astype(np.int64), 0, bins - 1
        )
        self.completed_bins += np.bincount(where[done], minlength=bins)
        latency = chunk.finished[done] - chunk.generated[done]
        self.latency_sum_bins += np.bincount(where[done], weights=latency, minlength=bins)
        for c in np.unique(code[ended]).tolist():
            counts = np.bincount(where[ended & (code == c)], minlength=bins)
            self.failed_bins[c] = self.failed_bins.get(c, np.zeros(bins, dtype=np.int64)) + counts
        done_bins = where[done]
        order = np.argsort(done_bins, kind="stable")
        sorted_bins, sorted_latency = done_bins[order], latency[order]
        starts = np.flatnonzero(np.diff(sorted_bins, prepend=-1))
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), sorted_bins.size], strict=True):
            key = int(sorted_bins[a])
            sketch = self.bin_latency.setdefault(key, QuantileSketch(LATENCY_ALPHA))
            sketch.add_many(sorted_latency[a:b])

    def _endpoint_codes(self, server: np.ndarray, endpoint: np.ndarray) -> np.ndarray:
        valid = (server >= 0) & (endpoint >= 0)
        codes = self.endpoint_offsets[np.maximum(server, 0)] + endpoint
        codes[~valid] = -1
        return np.asarray(codes)

    def _fold_measured(
        self,
        chunk: Chunk,
        measured: np.ndarray,
        w: np.ndarray,
        server: np.ndarray,
        endpoint: np.ndarray,
    ) -> None:
        rows = np.flatnonzero(measured)
        latency = chunk.finished[rows] - chunk.generated[rows]
        slots = chunk.slots[rows].astype(np.float64)
        w, server, endpoint = w[rows], server[rows], endpoint[rows]
        crit = np.flatnonzero(measured[chunk.crit_row])
        crit_row = np.searchsorted(rows, chunk.crit_row[crit])  # rows among the measured
        crit_own = chunk.crit_slots[crit].astype(np.float64)
        crit_totals = _as_totals(crit_own)
        self.latency.add_many(latency)
        self._max(latency, endpoint, w)
        for g in np.unique(w).tolist():
            self.latency_by_workload[g].add_many(latency[w == g])
        at_endpoint = endpoint >= 0
        order = np.argsort(endpoint[at_endpoint], kind="stable")
        sorted_codes = endpoint[at_endpoint][order]
        sorted_latency = latency[at_endpoint][order]
        starts = np.flatnonzero(np.diff(sorted_codes, prepend=-2))
        for a, b in zip(starts.tolist(), [*starts[1:].tolist(), sorted_codes.size], strict=True):
            self.endpoint_latency[int(sorted_codes[a])].add_many(sorted_latency[a:b])
        own = slots.copy()
        np.subtract.at(own, crit_row, crit_totals)
        self.slot_sum += slots.sum(axis=0)
        self.measured_by_server += _count(server, self.n_servers)
        self.measured_by_endpoint += _count(endpoint, self.measured_by_endpoint.size)
        self.latency_sum_by_server += _sum(server, self.n_servers, latency)
        self.latency_sum_by_endpoint += _sum(endpoint, self.measured_by_endpoint.size, latency)
        self.own_by_endpoint += _group_rows(endpoint, self.own_by_endpoint.shape[0], own)
        path = np.where(server >= 0, w * self.n_servers + server, -1)
        self.own_by_path += _group_rows(path, self.own_by_path.shape[0], own)
        crit_code = self._crit_codes(chunk, crit)
        self.crit_by_site += _group_rows(crit_code, self.crit_by_site.shape[0], crit_own)
        clean = self._clean(chunk, rows)
        for name, keep in (("all", None), ("clean", clean)):
            if keep is not None and not self.windows:
                continue
            self._fold_scope(
                self.scopes[name], keep, latency, slots, own, path, crit_row, crit_code, crit_own
            )

    def _crit_codes(self, chunk: Chunk, crit: np.ndarray) -> np.ndarray:
        site = chunk.crit_site[crit].astype(np.int64)
        server = chunk.crit_server[crit].astype(np.int64)
        # As analysis.attribution.call_codes: datastores' calls by site after the pairs.
        pairs = self.n_sites * self.n_servers
        return np.asarray(np.where(server >= 0, site * self.n_servers + server, pairs + site))

    def _clean(self, chunk: Chunk, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` overlap no event window."""
        affected = np.zeros(rows.size, dtype=bool)
        generated, finished = chunk.generated[rows], chunk.finished[rows]
        for start, end in self.windows:
            affected |= (generated <= end) & (finished >= start)
        return ~affected

    def _max(self, latency: np.ndarray, endpoint: np.ndarray, w: np.ndarray) -> None:
        top = self.latency_max
        np.maximum.at(top, endpoint[endpoint >= 0], latency[endpoint >= 0])
        np.maximum.at(top, top.size - 1 - self.n_workloads + w, latency)
        top[-1] = max(top[-1], float(latency.max()))

    def _fold_scope(
        self,
        scope: Scope,
        keep: np.ndarray | None,
        latency: np.ndarray,
        slots: np.ndarray,
        own: np.ndarray,
        path: np.ndarray,
        crit_row: np.ndarray,
        crit_code: np.ndarray,
        crit_own: np.ndarray,
    ) -> None:
        if keep is None:
            keep = np.ones(latency.size, dtype=bool)
        scope.count += int(np.count_nonzero(keep))
        n_paths, n_calls = self.own_by_path.shape[0], self.crit_by_site.shape[0]
        scope.crossings = _add(scope.crossings, _count(np.where(keep, path, -1), n_paths))
        crit_keep = keep[crit_row]
        crossed = _count(np.where(crit_keep, crit_code, -1), n_calls)
        scope.crit_crossings = _add(scope.crit_crossings, crossed)
        bucket = np.where(keep, scope.bucket_of(latency), _NO_BUCKET)
        rows, row_keys = _by_key(bucket)
        calls, call_keys = _by_key(np.where(crit_keep, bucket[crit_row], _NO_BUCKET))
        call_spans = dict(_spans(call_keys))
        for key, (a, b) in _spans(row_keys):
            picked = rows[a:b]
            entry = scope.buckets.setdefault(
                key,
                [0, 0.0, np.zeros(SLOTS), np.zeros((n_paths, SLOTS)), np.zeros((n_calls, SLOTS))],
            )
            entry[0] += int(picked.size)
            entry[1] += float(latency[picked].sum())
            entry[2] += slots[picked].sum(axis=0)
            entry[3] += _group_rows(path[picked], n_paths, own[picked])
            if key in call_spans:
                c, d = call_spans[key]
                on_path = calls[c:d]
                entry[4] += _group_rows(crit_code[on_path], n_calls, crit_own[on_path])

    # ------------------------------------------------------------------ merging

    def merge(self, other: RequestStream) -> None:
        """Add the requests of another stream of the same scenario."""
        self.by_code = self.by_code + other.by_code
        self.finished_by_workload = self.finished_by_workload + other.finished_by_workload
        self.completed_by_server = self.completed_by_server + other.completed_by_server
        self.completed_by_endpoint = self.completed_by_endpoint + other.completed_by_endpoint
        self.measured_by_server = self.measured_by_server + other.measured_by_server
        self.measured_by_endpoint = self.measured_by_endpoint + other.measured_by_endpoint
        self.latency_sum_by_server = self.latency_sum_by_server + other.latency_sum_by_server
        self.latency_sum_by_endpoint = self.latency_sum_by_endpoint + other.latency_sum_by_endpoint
        self.slot_sum = self.slot_sum + other.slot_sum
        self.own_by_endpoint = self.own_by_endpoint + other.own_by_endpoint
        self.own_by_path = self.own_by_path + other.own_by_path
        self.crit_by_site = self.crit_by_site + other.crit_by_site
        self.latency_max = np.maximum(self.latency_max, other.latency_max)
        self.latency.merge(other.latency)
        for mine, theirs in zip(self.latency_by_workload, other.latency_by_workload, strict=True):
            mine.merge(theirs)
        for mine, theirs in zip(self.endpoint_latency, other.endpoint_latency, strict=True):
            mine.merge(theirs)
        for name, scope in other.scopes.items():
            self.scopes[name].merge(scope)
        self.completed_bins = self.completed_bins + other.completed_bins
        self.latency_sum_bins = self.latency_sum_bins + other.latency_sum_bins
        for code, counts in other.failed_bins.items():
            before = self.failed_bins.get(code)
            self.failed_bins[code] = counts.copy() if before is None else before + counts
        for key, sketch in other.bin_latency.items():
            self.bin_latency.setdefault(key, QuantileSketch(LATENCY_ALPHA)).merge(sketch)

    # ------------------------------------------------------------------ reading

    def max_of(self, index: int) -> float | None:
        """The largest latency of a group (``latency_max`` index), None when empty."""
        value = float(self.latency_max[index])
        return value if math.isfinite(value) else None


_NO_BUCKET = np.iinfo(np.int64).min


def _by_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the entries with a key, sorted by key, and their keys."""
    picked = np.flatnonzero(keys != _NO_BUCKET)
    order = np.argsort(keys[picked], kind="stable")
    return picked[order], keys[picked][order]


def _spans(keys: np.ndarray) -> list[tuple[int, tuple[int, int]]]:
    """``(key, (start, end))`` of each run of equal keys in sorted ``keys``."""
    if keys.size == 0:
        return []
    starts = np.flatnonzero(np.diff(keys, prepend=keys[0] - 1))
    ends = [*starts[1:].tolist(), keys.size]
    return [(int(keys[a]), (a, b)) for a, b in zip(starts.tolist(), ends, strict=True)]


def _count(codes: np.ndarray, groups: int) -> np.ndarray:
    kept = codes[codes >= 0]
    return np.bincount(kept, minlength=groups)[:groups].astype(np.int64)


def _sum(codes: np.ndarray, groups: int, weights: np.ndarray) -> np.ndarray:
    keep = codes >= 0
    total = np.bincount(codes[keep], weights=weights[keep], minlength=groups)[:groups]
    return total.astype(np.float64)


def _group_rows(codes: np.ndarray, groups: int, rows: np.ndarray) -> np.ndarray:
    """Per-group sums of the rows of a matrix, shape (groups, columns)."""
    out = np.zeros((groups, rows.shape[1]))
    keep = codes >= 0
    if keep.any():
        np.add.at(out, codes[keep], rows[keep])
    return out


def _as_totals(own: np.ndarray) -> np.ndarray:
    """Calls' own slots as they count in their request's totals (hops as calls' network)."""
    totals = own.copy()
    hops = list(HOP_SLOTS)
    totals[:, CALLS_NETWORK] += totals[:, hops].sum(axis=1)
    totals[:, hops] = 0.0
    return totals


def widen(packed: np.ndarray, kept: tuple[int, ...]) -> np.ndarray:
    """Kept slots widened to every slot (zeros for the others)."""
    full = np.zeros((packed.shape[0], SLOTS), dtype=np.float32)
    if kept:
        full[:, list(kept)] = packed
    return full
