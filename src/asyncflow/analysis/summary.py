"""The summary of one run, composed from its :class:`~asyncflow.results.Results`.

Every per-node and per-endpoint figure is computed in one pass over the
requests (and the calls on their critical paths), grouped with
``numpy.bincount`` (:mod:`asyncflow.analysis.groups`): the cost grows with
the number of requests, not with requests × servers.

Per-node figures count calls served there: for an entry server the
requests it served; for a server that other servers call, those calls (from
the tallies the servers keep). A request's own phases at its entry server
are its phases less those of the calls it waited for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis import attribution
from asyncflow.analysis.datastores import datastore_blocks
from asyncflow.analysis.groups import codes_of, slot_sums, sums
from asyncflow.analysis.latencies import (
    group_latency_stats,
    group_sorted_latencies,
    latency_column,
    latency_stats_of,
    measured_values,
)
from asyncflow.analysis.lazy import LazyColumn, count_rows
from asyncflow.analysis.replicas import replica_summary
from asyncflow.analysis.rows import measured_rows, on_path_codes
from asyncflow.metrics.phases import (
    CONNECTION_WAIT,
    HANDSHAKE,
    HOP_SLOTS,
    PHASES,
    SLOTS,
)
from asyncflow.metrics.requests import COMPLETED, IN_FLIGHT
from asyncflow.metrics.sketch import CallTally

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = ["FORMAT_VERSION", "PERCENTILES", "latency_stats", "summarize"]

FORMAT_VERSION = 2
"""Version of the summary's layout (2: workloads, call counts, call trees)."""

PERCENTILES = (50, 90, 95, 99)
SERVER_LEVELS = ("ready_queue", "busy_cores", "io_waiting", "ram_in_use_mb", "ram_wait_queue")
_OUTSIDE = (*HOP_SLOTS, HANDSHAKE, CONNECTION_WAIT)  # slots spent before or after a server


def summarize(results: Results) -> dict[str, Any]:
    """The summary as a JSON-ready dict (see docs/reference/summary.md)."""
    if results.stream is not None:
        from asyncflow.analysis.summary_stream import summarize_stream

        return summarize_stream(results, results.stream)
    r = results.requests
    outcome, n = r.outcome, len(r)
    completed = count_rows(n, lambda rows: outcome[rows] == COMPLETED)
    in_flight = count_rows(n, lambda rows: outcome[rows] == IN_FLIGHT)
    warm_up = results.warm_up_s
    measured = count_rows(
        n, lambda rows: (outcome[rows] == COMPLETED) & (r.finished_s[rows] >= warm_up)
    )
    view = _RunView.of(results)
    overall = attribution.breakdowns_by_group(results)["all"]
    summary = {
        "format_version": FORMAT_VERSION,
        "scenario": results.name,
        "seed": results.seed,
        "simulated_s": results.end_s,
        "warm_up_s": results.warm_up_s,
        "wall_s": results.wall_s,
        "requests": {
            "generated": len(r),
            "completed": completed,
            "failed": len(r) - completed - in_flight,
            "in_flight": in_flight,
            "failed_by_reason": results.failed_by_reason(),
        },
        "latency_s": latency_stats_of(measured_values(results, view.measured), PERCENTILES),
        "throughput_rps": {"mean": float(measured) / results.measured_s},
        "workloads": _workloads(results, view),
        "servers": _servers(results, view),
        "load_balancers": _balancers(results),
        "edges": _edges(results, view),
        "endpoints": _endpoints(results, view),
        "latency_breakdown_s": _none_if_nan(overall["all"].phases_s),
        "latency_breakdown_tail_s": {
            f"p{p}": _none_if_nan(overall[f"p{p}"].phases_s) for p in attribution.TAILS
        },
        "bottleneck": attribution.find_bottleneck(results).as_dict(),
    }
    return finish(results, summary)


def finish(results: Results, summary: dict[str, Any]) -> dict[str, Any]:
    """Add the datastores, cost and theory; blank phases when none were recorded."""
    summary.update(datastore_blocks(results))
    if not results.requests.records_phases:
        blank_phases(summary)
    summary.update(_capacity(results, summary))
    summary.update(replica_summary(results))
    if results.policies:
        summary["policies"] = results.policies
        if "attempts" in results.policies:
            summary["attempts"] = results.policies["attempts"]
    return summary


NO_PHASES = (
    "Phases were not recorded (--no-phases), so the latency is not attributed to nodes and phases."
)


def blank_phases(summary: dict[str, Any]) -> None:
    """Set to None every figure that phases make (breakdowns, service times, the verdict)."""
    summary["latency_breakdown_s"] = dict.fromkeys(summary["latency_breakdown_s"])
    summary["latency_breakdown_tail_s"] = {
        tail: dict.fromkeys(values) for tail, values in summary["latency_breakdown_tail_s"].items()
    }
    phase_keys = {f"{p.name}_s_mean" for p in PHASES} | {"calls_s_mean", "service_s_mean"}
    for stats in summary["servers"].values():
        stats.update({k: None for k in stats if k in phase_keys})
    for entries in summary["endpoints"].values():
        for stats in entries.values():
            stats["service_s_mean"] = None
    for stats in summary["edges"].values():
        stats["transit_s_mean"] = None
    verdict = summary["bottleneck"]
    for key in ("node", "resource", "phase", "share_of_p99"):
        verdict[key] = None
    verdict["whole_run"] = None
    busiest = verdict["busiest"]
    verdict["verdict"] = NO_PHASES
    if busiest is not None:
        verdict["verdict"] = (
            NO_PHASES[:-1] + "; the busiest resource is "
            f"{attribution.resource_label(busiest['resource'])} on "
            f"{busiest['node']} ({busiest['utilization']:.0%} used on average)."
        )


def _capacity(results: Results, summary: dict[str, Any]) -> dict[str, Any]:
    """The ``cost`` section (when the scenario prices it) and theory beside the run."""
    from asyncflow.analysis.theory import theory_of
    from asyncflow.analysis.theory_compare import theory_block, value_in
    from asyncflow.scenario.cost import cost_figures

    scenario = results.scenario
    out: dict[str, Any] = {}
    if scenario.cost is not None:
        throughput = summary["throughput_rps"]["mean"]
        out["cost"] = cost_figures(scenario.cost, scenario, throughput)
    out["theory"] = theory_block(theory_of(scenario), lambda path: value_in(summary, path))
    return out


@dataclass(frozen=True, slots=True)
class _RunView:
    """What every section reads: masks, latencies, own phases, endpoint groups."""

    measured: LazyColumn  # made a part at a time: no mask of every request held
    endpoint_offsets: np.ndarray
    crit_measured: np.ndarray  # rows of results.critical whose request is measured

    @classmethod
    def of(cls, results: Results) -> _RunView:
        measured = measured_rows(results)
        sizes = [len(results.endpoint_names[i]) for i in range(len(results.server_ids))]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        crit = results.critical
        in_measured = measured[crit.root] if len(crit) else np.zeros(0, dtype=bool)
        return cls(
            measured=measured,
            endpoint_offsets=offsets,
            crit_measured=in_measured,
        )

    def only(self, codes: LazyColumn) -> LazyColumn:
        """``codes`` of the measured requests, -1 for the others."""
        keep = self.measured
        return LazyColumn(len(codes), lambda rows: np.where(keep[rows], codes[rows], -1))

    def endpoint_code(self, results: Results) -> LazyColumn:
        """The server-endpoint code of each request, -1 if none (made a part at a time)."""
        r = results.requests
        offsets = self.endpoint_offsets.astype(np.int32)

        def make(rows: slice | np.ndarray) -> np.ndarray:
            server, endpoint = r.server[rows].astype(np.int32), r.endpoint[rows]
            code = offsets[np.maximum(server, 0)]
            code += endpoint
            code[(server < 0) | (endpoint < 0)] = -1
            return code

        return LazyColumn(len(r), make)

    def own_sums(self, results: Results, codes: LazyColumn, groups: int) -> np.ndarray:
        """Per group: the measured requests' own slot sums (their calls' phases taken out)."""
        r = results.requests
        codes = self.only(codes)
        totals = slot_sums(codes, groups, r.slots, r.kept)
        crit = results.critical
        if self.crit_measured.any():
            crit_codes = on_path_codes(self.crit_measured, codes, crit.root)
            totals -= slot_sums(crit_codes, groups, crit.slots, crit.kept, totals=True)
        return totals


# --------------------------------------------------------------------------- sections


def _workloads(results: Results, view: _RunView) -> dict[str, dict[str, Any]]:
    """Per workload (request class): counts, latency, throughput."""
    r = results.requests
    out: dict[str, dict[str, Any]] = {}
    names = r.reason_names
    groups = len(results.workload_ids)
    n, warm_up = len(r), results.warm_up_s
    workload = LazyColumn(n, lambda rows: r.workload[rows])

    def where(test: Any) -> LazyColumn:
        return LazyColumn(n, lambda rows: np.where(test(rows), r.workload[rows], -1))

    generated = sums(r.workload, groups)
    completed = sums(where(lambda rows: r.outcome[rows] == COMPLETED), groups)
    flying = sums(where(lambda rows: r.outcome[rows] == IN_FLIGHT), groups)
    throughput = sums(
        where(lambda rows: (r.outcome[rows] == COMPLETED) & (r.finished_s[rows] >= warm_up)),
        groups,
    )
    latencies = group_latency_stats(results, view.only(workload), groups, PERCENTILES)

    def failed_code(rows: slice | np.ndarray) -> np.ndarray:
        outcome = r.outcome[rows]
        failure = np.where(outcome > COMPLETED, outcome, -1)
        return codes_of(r.workload[rows], failure, sizes=(groups, len(names)))

    failed = sums(LazyColumn(n, failed_code), groups * len(names)).reshape(groups, len(names))
    for w, wid in enumerate(results.workload_ids):
        by_reason = {names[c]: int(n) for c, n in enumerate(failed[w]) if n}
        out[wid] = {
            "requests": {
                "generated": int(generated[w]),
                "completed": int(completed[w]),
                "failed": int(failed[w].sum()),
                "in_flight": int(flying[w]),
                "failed_by_reason": by_reason,
            },
            "latency_s": latencies[w],
            "throughput_rps": {"mean": float(throughput[w]) / results.measured_s},
        }
    return out


def _servers(results: Results, view: _RunView) -> dict[str, dict[str, Any]]:
    """Per server: calls, levels, phase means over the calls it served."""
    r = results.requests
    n = len(results.server_ids)
    server = LazyColumn(len(r), lambda rows: r.server[rows].astype(np.int32))
    completed = sums(_completed_only(results, server), n)
    measured = sums(view.only(server), n)
    own = view.own_sums(results, server, n)
    service = sums(view.only(server), n, latency_column(results))
    service -= own[:, list(_OUTSIDE)].sum(axis=1)
    return server_blocks(results, completed, measured, own, service)


def server_blocks(
    results: Results,
    completed: np.ndarray,
    measured: np.ndarray,
    own: np.ndarray,
    service: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """Each server's block from per-server sums over the requests it served at their entry.

    Args:
        results: The run (levels, call tallies, refusals).
        completed: Requests completed, by server.
        measured: Requests measured (after the warm-up), by server.
        own: Their own phase slot sums, by server (shape (servers, SLOTS)).
        service: Their time inside the server, by server.
    """
    tallies = _by_server(results)
    nodes = results.scenario.topology_graph.nodes
    out: dict[str, dict[str, Any]] = {}
    for i, sid in enumerate(results.server_ids):
        resources = nodes.servers[i].server_resources
        called = tallies.get(i)
        count = int(measured[i]) + (called.count if called else 0)
        phases = own[i] + (np.asarray(called.phases) if called else 0.0)
        served_time = float(service[i]) + (_service_time(called) if called else 0.0)
        answered = called.answered if called else 0
        stats: dict[str, Any] = {
            "completed": int(completed[i]) + answered,
            "cpu_utilization": results.level_mean("busy_cores", sid) / resources.cpu_cores,
            "ready_queue_mean": results.level_mean("ready_queue", sid),
            "ready_queue_max": results.level_max("ready_queue", sid),
            "io_waiting_mean": results.level_mean("io_waiting", sid),
            "ram_in_use_mb_mean": results.level_mean("ram_in_use_mb", sid),
            "ram_in_use_mb_max": results.level_max("ram_in_use_mb", sid),
            "ram_utilization": results.level_mean("ram_in_use_mb", sid) / resources.ram_mb,
            "ram_wait_queue_mean": results.level_mean("ram_wait_queue", sid),
            "ram_wait_queue_max": results.level_max("ram_wait_queue", sid),
        }
        stats.update(_extra_levels(results, sid, SERVER_LEVELS))
        stats.update(_phase_means(phases, served_time, count, _makes_calls(nodes.servers[i])))
        stats["refused"] = results.refused.get(sid, 0)
        calls = results.node_calls.get(sid)
        if calls is not None:
            stats["calls"] = {
                "served": calls.served,
                "failed": calls.failed,
                "cancelled": calls.cancelled,
            }
        out[sid] = stats
    return out


def _makes_calls(server: Any) -> bool:
    """Whether any endpoint of a server has a call or parallel step (in a branch too)."""

    def calls(steps: Any) -> bool:
        for step in steps:
            if step.category == "call":
                return True
            if step.category == "branch" and any(calls(arm) for _, arm in step.arms):
                return True
        return False

    return any(calls(endpoint.steps) for endpoint in server.endpoints)


def _phase_means(
    phases: np.ndarray, service_s: float, count: int, makes_calls: bool
) -> dict[str, float | None]:
    """Mean seconds of each phase spent at the server, and the service time.

    The service time runs from admission to leaving: the phases inside the
    server plus the time waiting for the calls it made (``calls_s_mean``,
    present only where calls were made).
    """
    means: dict[str, float | None] = {}
    inside = 0.0
    for spec in PHASES:
        if spec.name == "network":
            continue
        total = float(sum(phases[s] for s in spec.slots)) if count else 0.0
        means[f"{spec.name}_s_mean"] = total / count if count else None
        if spec.in_service:
            inside += total
    if not count:
        means["service_s_mean"] = None
        return means
    if makes_calls:
        means["calls_s_mean"] = (service_s - inside) / count
    means["service_s_mean"] = service_s / count
    return means


def _service_time(tally: CallTally) -> float:
    """Seconds the tallied calls spent inside the server (their latency less their hops)."""
    outside = sum(tally.phases[s] for s in _OUTSIDE)
    return tally.latency.total - outside


def _by_server(results: Results) -> dict[int, CallTally]:
    """The call tallies of each server, its endpoints merged."""
    index = {sid: i for i, sid in enumerate(results.server_ids)}
    merged: dict[int, CallTally] = {}
    for (sid, _), tally in results.call_tallies.items():
        target = merged.setdefault(index[sid], CallTally(SLOTS))
        target.merge(tally)
    return merged


def _balancers(results: Results) -> dict[str, dict[str, Any]]:
    """Connection levels, limits and refusals of each load balancer."""
    out: dict[str, dict[str, Any]] = {}
    for balancer in results.scenario.topology_graph.nodes.balancers:
        lb = balancer.id
        stats: dict[str, Any] = {
            **_extra_levels(results, lb, ()),
            "refused": results.refused.get(lb, 0),
        }
        limits = balancer.resources
        if limits is not None and limits.max_connections is not None:
            stats["max_connections"] = limits.max_connections
            stats["listen_backlog"] = limits.listen_backlog or 0
            stats["ram_mb"] = limits.ram_mb
            if "connections" in results.level_metrics(lb):
                mean = results.level_mean("connections", lb)
                stats["connection_utilization"] = mean / limits.max_connections
        out[lb] = stats
    return out


def _edges(results: Results, view: _RunView) -> dict[str, dict[str, Any]]:
    return edge_blocks(results, attribution.edge_transit_means(results))


def edge_blocks(
    results: Results, transit: Mapping[str, float | None]
) -> dict[str, dict[str, Any]]:
    """One block per edge: its in-transit level and ``transit`` (mean seconds a call took)."""
    return {
        eid: {
            "in_transit_mean": results.level_mean("in_transit", eid),
            "in_transit_max": results.level_max("in_transit", eid),
            "transit_s_mean": transit[eid],
            **_extra_levels(results, eid, ("in_transit",)),
        }
        for eid in results.edge_ids
    }


def _endpoints(results: Results, view: _RunView) -> dict[str, dict[str, dict[str, Any]]]:
    """Per server and endpoint: completions, latency statistics, service time."""
    groups = int(view.endpoint_offsets[-1])
    code = view.endpoint_code(results)
    completed = sums(_completed_only(results, code), groups)
    measured_code = view.only(code)
    measured = sums(measured_code, groups)
    merged = _called_groups(results, view)
    exact = group_sorted_latencies(results, measured_code, groups, sorted(merged))
    latencies = group_latency_stats(results, measured_code, groups, PERCENTILES, merged)
    own = view.own_sums(results, code, groups)
    service = sums(measured_code, groups, latency_column(results))
    service -= own[:, list(_OUTSIDE)].sum(axis=1)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for i, sid in enumerate(results.server_ids):
        entries: dict[str, dict[str, Any]] = {}
        for j, name in enumerate(results.endpoint_names[i]):
            g = int(view.endpoint_offsets[i]) + j
            called = results.call_tallies.get((sid, name))
            count = int(measured[g]) + (called.count if called else 0)
            served = float(service[g]) + (_service_time(called) if called else 0.0)
            entries[name] = {
                "completed": int(completed[g]) + (called.answered if called else 0),
                "latency_s": _merged_latency(exact[g], called) if g in exact else latencies[g],
                "service_s_mean": served / count if count else None,
            }
        out[sid] = entries
    return out


def _called_groups(results: Results, view: _RunView) -> frozenset[int]:
    """The endpoint groups that answered calls (their latency merges requests and calls)."""
    out = set()
    for i, sid in enumerate(results.server_ids):
        for j, name in enumerate(results.endpoint_names[i]):
            tally = results.call_tallies.get((sid, name))
            if tally is not None and tally.count:
                out.add(int(view.endpoint_offsets[i]) + j)
    return frozenset(out)


def _completed_only(results: Results, codes: LazyColumn) -> LazyColumn:
    """``codes`` of the completed requests, -1 for the others."""
    outcome = results.requests.outcome
    return LazyColumn(
        len(codes), lambda rows: np.where(outcome[rows] == COMPLETED, codes[rows], -1)
    )


def _merged_latency(exact: np.ndarray, called: CallTally | None) -> dict[str, float | None]:
    """Latency statistics of an endpoint's requests and of the calls it answered.

    Exact when only requests reached it; otherwise from the calls' sketch
    (relative error under 0.5 %) with the requests added to it.
    """
    if called is None or called.count == 0:
        return latency_stats(exact, scratch=True)
    sketch = called.latency.copy()
    sketch.add_many(exact)
    stats: dict[str, float | None] = {"mean": sketch.mean}
    stats.update({f"p{p}": sketch.quantile(p / 100) for p in PERCENTILES})
    stats["max"] = max(called.latency_max, float(exact.max()) if exact.size else 0.0)
    return stats


def _extra_levels(results: Results, node: str, known: tuple[str, ...]) -> dict[str, float]:
    """Mean and max of every level of ``node`` not among ``known``."""
    extra: dict[str, float] = {}
    for metric in results.level_metrics(node):
        if metric not in known:
            extra[f"{metric}_mean"] = results.level_mean(metric, node)
            extra[f"{metric}_max"] = results.level_max(metric, node)
    return extra


def latency_stats(latencies: np.ndarray, *, scratch: bool = False) -> dict[str, float | None]:
    """Mean, percentiles and maximum of some latencies (all None when there are none).

    With ``scratch`` the percentiles reorder ``latencies`` in place instead
    of copying them (for an array made for the call).
    """
    if latencies.size == 0:
        return {"mean": None, "p50": None, "p90": None, "p95": None, "p99": None, "max": None}
    mean, top = float(latencies.mean()), float(latencies.max())
    qs = np.percentile(latencies, PERCENTILES, overwrite_input=scratch)
    stats: dict[str, float | None] = {"mean": mean}
    stats.update({f"p{p}": float(q) for p, q in zip(PERCENTILES, qs, strict=True)})
    stats["max"] = top
    return stats


def _none_if_nan(values: dict[str, float]) -> dict[str, float | None]:
    return {k: None if math.isnan(v) else v for k, v in values.items()}
