"""The summary of a streaming run, from its :class:`~asyncflow.metrics.stream.RequestStream`.

Same layout as :func:`asyncflow.analysis.summary.summarize`. Counts, means,
maxima, per-node and per-endpoint phase means, levels and edges are exact
(float sums added in another order than the exact summary's, so the last
digits may differ). Latency percentiles come from quantile sketches: each
within ``LATENCY_ALPHA`` (0.5 %) of the value at that rank. The tails'
breakdowns and the bottleneck verdict read the requests at or above a
percentile from buckets of ``TAIL_ALPHA`` relative width: the buckets above
the one holding the percentile in full, that one for the share of its
requests ranked above the percentile, its requests taken as alike (so a
tail's phases are those of requests within a bucket's width of the exact
tail; where a bucket holds many requests of different phases, as behind an
injected delay, the shares are blurred).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis import attribution
from asyncflow.analysis.summary import (
    _OUTSIDE,
    FORMAT_VERSION,
    PERCENTILES,
    _balancers,
    _none_if_nan,
    _service_time,
    edge_blocks,
    finish,
    server_blocks,
)
from asyncflow.metrics.phases import PHASES, SLOTS
from asyncflow.metrics.requests import COMPLETED, IN_FLIGHT
from asyncflow.metrics.sketch import QuantileSketch

if TYPE_CHECKING:
    from asyncflow.metrics.stream import RequestStream, Scope
    from asyncflow.results import Results

__all__ = ["sketch_stats", "summarize_stream"]


def summarize_stream(results: Results, stream: RequestStream) -> dict[str, Any]:
    """The summary of a streaming run (see docs/reference/summary.md)."""
    names = results.requests.reason_names
    totals = stream.by_code.sum(axis=0)
    generated = int(totals.sum())
    completed, in_flight = int(totals[COMPLETED]), int(totals[IN_FLIGHT])
    whole = stream.scopes["all"]
    summary: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "scenario": results.name,
        "seed": results.seed,
        "simulated_s": results.end_s,
        "warm_up_s": results.warm_up_s,
        "wall_s": results.wall_s,
        "requests": {
            "generated": generated,
            "completed": completed,
            "failed": generated - completed - in_flight,
            "in_flight": in_flight,
            "failed_by_reason": _by_reason(totals, names),
        },
        "latency_s": sketch_stats(stream.latency, stream.max_of(-1)),
        "throughput_rps": {"mean": float(stream.finished_by_workload.sum()) / results.measured_s},
        "workloads": _workloads(results, stream),
        "servers": _servers(results, stream),
        "load_balancers": _balancers(results),
        "edges": _edges(results, stream),
        "endpoints": _endpoints(results, stream),
        "latency_breakdown_s": _none_if_nan(_means(stream.slot_sum, whole.count)),
        "latency_breakdown_tail_s": {
            f"p{p}": _none_if_nan(_tail_breakdown(whole, p)) for p in attribution.TAILS
        },
        "bottleneck": _bottleneck(results, stream).as_dict(),
    }
    return finish(results, summary)


def sketch_stats(sketch: QuantileSketch, largest: float | None) -> dict[str, float | None]:
    """Mean, percentiles (to the sketch's accuracy) and maximum; all None when empty."""
    if sketch.count == 0:
        return {"mean": None, **{f"p{p}": None for p in PERCENTILES}, "max": None}
    stats: dict[str, float | None] = {"mean": sketch.mean}
    stats.update({f"p{p}": sketch.quantile(p / 100, interpolate=True) for p in PERCENTILES})
    stats["max"] = largest
    return stats


def _by_reason(counts: np.ndarray, names: tuple[str, ...]) -> dict[str, int]:
    return {names[c]: int(counts[c]) for c in range(COMPLETED + 1, len(names)) if counts[c]}


def _means(slot_sum: np.ndarray, count: float) -> dict[str, float]:
    """Mean seconds per phase from slot sums (NaN when there is no request)."""
    if not count:
        return {p.name: float("nan") for p in PHASES}
    return {p.name: float(sum(slot_sum[s] for s in p.slots)) / count for p in PHASES}


def _workloads(results: Results, stream: RequestStream) -> dict[str, dict[str, Any]]:
    names = results.requests.reason_names
    out: dict[str, dict[str, Any]] = {}
    first_max = stream.latency_max.size - 1 - stream.n_workloads
    for w, wid in enumerate(results.workload_ids):
        counts = stream.by_code[w]
        generated = int(counts.sum())
        done, flying = int(counts[COMPLETED]), int(counts[IN_FLIGHT])
        out[wid] = {
            "requests": {
                "generated": generated,
                "completed": done,
                "failed": generated - done - flying,
                "in_flight": flying,
                "failed_by_reason": _by_reason(counts, names),
            },
            "latency_s": sketch_stats(stream.latency_by_workload[w], stream.max_of(first_max + w)),
            "throughput_rps": {"mean": float(stream.finished_by_workload[w]) / results.measured_s},
        }
    return out


def _servers(results: Results, stream: RequestStream) -> dict[str, dict[str, Any]]:
    """Per server, as :func:`asyncflow.analysis.summary._servers`, from the stream's sums."""
    n = stream.n_servers
    own = stream.own_by_path.reshape(stream.n_workloads, n, SLOTS).sum(axis=0)
    service = stream.latency_sum_by_server - own[:, list(_OUTSIDE)].sum(axis=1)
    return server_blocks(
        results, stream.completed_by_server, stream.measured_by_server, own, service
    )


def _endpoints(results: Results, stream: RequestStream) -> dict[str, dict[str, dict[str, Any]]]:
    own = stream.own_by_endpoint
    service = stream.latency_sum_by_endpoint - own[:, list(_OUTSIDE)].sum(axis=1)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for i, sid in enumerate(results.server_ids):
        entries: dict[str, dict[str, Any]] = {}
        for j, name in enumerate(results.endpoint_names[i]):
            g = int(stream.endpoint_offsets[i]) + j
            called = results.call_tallies.get((sid, name))
            count = int(stream.measured_by_endpoint[g]) + (called.count if called else 0)
            served = float(service[g]) + (_service_time(called) if called else 0.0)
            sketch = stream.endpoint_latency[g]
            largest = stream.max_of(g)
            if called is not None and called.count:
                sketch = sketch.copy()
                sketch.merge(called.latency)
                largest = max(largest or 0.0, called.latency_max)
            entries[name] = {
                "completed": int(stream.completed_by_endpoint[g])
                + (called.answered if called else 0),
                "latency_s": sketch_stats(sketch, largest),
                "service_s_mean": served / count if count else None,
            }
        out[sid] = entries
    return out


def _edges(results: Results, stream: RequestStream) -> dict[str, dict[str, Any]]:
    return edge_blocks(results, _transit_means(results, stream))


def _transit_means(results: Results, stream: RequestStream) -> dict[str, float | None]:
    """As :func:`asyncflow.analysis.attribution.edge_transit_means`, from the stream."""
    seconds = attribution.node_seconds_of(results, stream.own_by_path, stream.crit_by_site)
    whole = stream.scopes["all"]
    counts = dict.fromkeys(results.edge_ids, 0)
    n_servers = stream.n_servers
    paths = attribution.hop_edges(results)
    for code in np.flatnonzero(whole.crossings).tolist():
        for edge in paths.get(divmod(code, n_servers), ()):
            if edge in counts:
                counts[edge] += int(whole.crossings[code])
    for code in np.flatnonzero(whole.crit_crossings).tolist():
        for edge in attribution.call_edges(results, code)[1:]:
            if edge in counts:
                counts[edge] += int(whole.crit_crossings[code])
    return {
        e: seconds.get((e, "network"), 0.0) / counts[e] if counts[e] else None
        for e in results.edge_ids
    }


# --------------------------------------------------------------------------- tails


def tail_buckets(scope: Scope, percentile: float) -> list[tuple[int, float]]:
    """The buckets of the requests at or above ``percentile``, each with the share taken.

    Every bucket above the one holding the percentile counts in full; that
    one counts for the share of its requests ranked at or above it (its
    requests taken as alike).
    """
    keys = sorted(scope.buckets)
    counts = np.array([scope.buckets[k][0] for k in keys], dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return []
    rank = percentile / 100 * (total - 1)
    ends = np.cumsum(counts)
    first = min(int(np.searchsorted(ends, rank, side="right")), len(keys) - 1)
    above = float(ends[first]) - float(np.ceil(rank))
    share = min(1.0, max(above, 1.0) / float(counts[first]))
    return [(keys[first], share)] + [(k, 1.0) for k in keys[first + 1 :]]


def _tail_sum(scope: Scope, buckets: list[tuple[int, float]], field: int) -> Any:
    return sum(scope.buckets[k][field] * share for k, share in buckets)


def _tail_breakdown(scope: Scope, percentile: float) -> dict[str, float]:
    buckets = tail_buckets(scope, percentile)
    count = float(_tail_sum(scope, buckets, 0))
    slot_sum = np.asarray(_tail_sum(scope, buckets, 2)) if buckets else np.zeros(SLOTS)
    return _means(slot_sum, count)


def _tail_share(results: Results, scope: Scope) -> attribution.NodeShare | None:
    buckets = tail_buckets(scope, 99)
    if not buckets:
        return None
    own = np.asarray(_tail_sum(scope, buckets, 3))
    calls = np.asarray(_tail_sum(scope, buckets, 4))
    totals = attribution.node_seconds_of(results, own, calls)
    return attribution.top_share_of(results, totals, float(_tail_sum(scope, buckets, 1)))


def _bottleneck(results: Results, stream: RequestStream) -> attribution.Bottleneck:
    """The verdict of :func:`asyncflow.analysis.attribution.find_bottleneck`, from the buckets."""
    uses = attribution.resource_utilizations(results)
    busiest = max(uses, key=lambda u: u.utilization) if uses else None
    whole = _tail_share(results, stream.scopes["all"])
    scope, judged = "all requests", whole
    clean = stream.scopes["clean"]
    if results.fault_windows and clean.count >= attribution.MIN_CLEAN_REQUESTS:
        scope, judged = "requests outside event windows", _tail_share(results, clean)
    return attribution.verdict(judged, scope, whole, busiest)
