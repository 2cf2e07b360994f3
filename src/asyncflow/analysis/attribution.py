"""Where the time of requests goes: phase breakdowns and a bottleneck verdict.

Every completed request records the seconds it spent in each phase
(``Results.requests.phases()``: ``network``, ``ram_wait``, ``cpu_wait``,
``cpu``, ``io``, and whatever phases the engine adds later); they add up to
its latency. This module averages them over groups of requests — all of
them, or only the slowest (latency at or above the group's p95 or p99) —
overall, per server and per endpoint, and places each phase on the node
where it happened: network time on the edge of each hop, every other phase
on the server that handled the request.

Only completed requests generated at or after the warm-up are used, like the
latency statistics of the summary.

The verdict (:func:`find_bottleneck`) names the node and phase with the
largest share of the p99 tail and the resource with the highest mean
utilisation. Injected events (latency spikes, outages) usually make the tail
of a whole run by themselves, which says nothing about capacity; so when a
run has event windows, the tail is first judged on the requests whose
lifetime touches no window, and the whole run's tail is reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.datastores import store_edges, store_seconds, store_utilizations
from asyncflow.analysis.groups import codes_of, slot_sums, sums
from asyncflow.analysis.latencies import group_latency_stats, latency_column, measured_values
from asyncflow.analysis.lazy import LazyColumn, count_rows
from asyncflow.analysis.rows import Mask, measured_rows, on_path_codes, path_codes
from asyncflow.metrics.phases import HOP_SLOTS, PHASES, SLOTS

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = [
    "TAILS",
    "Bottleneck",
    "NodeShare",
    "PhaseBreakdown",
    "ResourceUse",
    "breakdown",
    "breakdowns_by_group",
    "edge_transit_means",
    "event_affected_mask",
    "find_bottleneck",
    "hop_edges",
    "measured_mask",
    "node_phase_seconds",
    "phase_label",
    "phase_resource",
    "resource_utilizations",
]

TAILS = (95, 99)
"""Percentiles whose tails are broken down next to all requests."""

MIN_CLEAN_REQUESTS = 200
"""Fewest requests outside event windows for the verdict to be judged on them."""

_PHASE_LABELS = {
    "network": "the network",
    "ram_wait": "waiting for RAM",
    "cpu_wait": "waiting for a CPU core",
    "cpu": "CPU work",
    "io": "I/O",
    "handshake": "opening connections",
    "connection_wait": "waiting in an accept backlog",
    "pool_wait": "waiting for a pooled connection",
    "db": "database queries",
    "cache": "cache lookups",
}
_PHASE_RESOURCES = {
    "network": "network",
    "ram_wait": "ram",
    "cpu_wait": "cpu",
    "cpu": "cpu",
    "io": "io",
    "handshake": "connections",
    "connection_wait": "connections",
    "pool_wait": "pool",
    "db": "database",
    "cache": "cache",
}
_RESOURCE_LABELS = {"cpu": "CPU", "ram": "RAM", "connections": "open connections"}
# level metric, and the server_resources field holding its capacity
_CAPACITY_LEVELS = (
    ("cpu", "busy_cores", "cpu_cores"),
    ("ram", "ram_in_use_mb", "ram_mb"),
    ("connections", "connections", "max_connections"),
)


def phase_label(phase: str) -> str:
    """Return a phase in plain words ("ram_wait" → "waiting for RAM")."""
    return _PHASE_LABELS.get(phase, phase.replace("_", " "))


def resource_label(resource: str) -> str:
    """A resource in words for a verdict ("cpu" → "CPU")."""
    return _RESOURCE_LABELS.get(resource, resource)


def phase_resource(phase: str) -> str:
    """Return the resource a phase uses or waits for ("cpu_wait" → "cpu")."""
    if phase in _PHASE_RESOURCES:
        return _PHASE_RESOURCES[phase]
    return phase.removesuffix("_wait")


# --------------------------------------------------------------------------- masks


def measured_mask(results: Results) -> np.ndarray:
    """Completed requests generated at or after the warm-up (a boolean mask)."""
    return measured_rows(results)[:]


def event_affected_mask(results: Results) -> np.ndarray:
    """Requests whose lifetime overlaps at least one event window.

    A request in flight at the end is taken to live until the end of the run.
    """
    r = results.requests
    affected = np.zeros(len(r), dtype=bool)
    for start in range(0, len(r), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        finished = np.where(np.isnan(r.finished_s[rows]), results.end_s, r.finished_s[rows])
        for window in results.fault_windows:
            affected[rows] |= (r.generated_s[rows] <= window.end_s) & (finished >= window.start_s)
    return affected


def _both(first: Mask, second: Mask) -> LazyColumn:
    """Rows in both masks, made a part at a time."""
    return LazyColumn(len(first), lambda rows: first[rows] & second[rows])


def _tail_mask(results: Results, mask: Mask, percentile: float | None) -> Mask:
    """Narrow ``mask`` to latencies at or above its ``percentile`` (all when None).

    No latency column of the whole run is made, nor a mask of every request:
    the rows' latencies are read a chunk at a time (the same values as
    ``finished_s - generated_s``) when the tail is read.
    """
    if percentile is None:
        return mask
    values = measured_values(results, mask)
    if values.count == 0:
        return mask
    threshold = values.percentiles([percentile])[0]
    r = results.requests
    return LazyColumn(
        len(r),
        lambda rows: mask[rows] & ((r.finished_s[rows] - r.generated_s[rows]) >= threshold),
    )


# --------------------------------------------------------------------------- breakdowns


@dataclass(frozen=True, slots=True)
class PhaseBreakdown:
    """Mean seconds per phase over a group of completed requests.

    Attributes:
        count: Requests in the group.
        latency_s: Their mean latency (NaN when the group is empty).
        phases_s: Mean seconds per phase; they add up to ``latency_s``.
    """

    count: int
    latency_s: float
    phases_s: dict[str, float]

    def shares(self) -> dict[str, float]:
        """Each phase's share of the mean latency (NaN when it is 0 or unknown)."""
        total = self.latency_s
        if not total or not np.isfinite(total):
            return {phase: float("nan") for phase in self.phases_s}
        return {phase: value / total for phase, value in self.phases_s.items()}


def breakdown(
    results: Results, mask: np.ndarray | None = None, *, above: float | None = None
) -> PhaseBreakdown:
    """Mean seconds per phase over measured requests.

    Args:
        results: The run.
        mask: Restrict to these requests (intersected with the measured ones).
        above: Keep only requests at or above this latency percentile of the
            group (95 for the slowest 5 %); ``None`` keeps all.

    Returns:
        The breakdown of the group.
    """
    r = results.requests
    measured = measured_rows(results) if mask is None else _both(mask, measured_rows(results))
    group = _tail_mask(results, measured, above)
    values = measured_values(results, group)
    count = values.count
    if count == 0:
        return PhaseBreakdown(0, float("nan"), {p.name: float("nan") for p in PHASES})
    mean = values.sum_in_order() / count
    slot_means = _slot_sums_of(r.slots, r.kept, group) / count
    return PhaseBreakdown(count, mean, _phase_means(slot_means))


CHUNK_ROWS = 1 << 13
"""Rows summed at a time: bounds the memory a breakdown needs beside the table
(a float64 copy of their slots, twice: half a megabyte with eight slots)."""


def _slot_sums_of(slots: np.ndarray, kept: tuple[int, ...], rows: Mask) -> np.ndarray:
    """Float64 sums of every slot over the ``rows`` mask, shape (SLOTS,), a chunk at a time.

    Rows are added one after the other, in order, chunk after chunk: the
    same additions as summing all the rows at once.
    """
    out = np.zeros(SLOTS)
    if not kept:
        return out
    total = np.zeros(len(kept))
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        block = slots[chunk][rows[chunk]].astype(np.float64)
        total = np.concatenate((total[np.newaxis], block)).sum(axis=0)
    out[list(kept)] = total
    return out


def _phase_means(slot_means: np.ndarray) -> dict[str, float]:
    return {p.name: float(sum(slot_means[s] for s in p.slots)) for p in PHASES}


def breakdowns_by_group(
    results: Results, by: str = "overall"
) -> dict[str, dict[str, PhaseBreakdown]]:
    """Breakdowns of all requests and of the p95 and p99 tails, per group.

    Per server and per endpoint the groups are computed together, in one
    grouped pass over the requests (one sort for the tails' thresholds).

    Args:
        results: The run.
        by: ``"overall"`` (one group, ``"all"``), ``"server"`` (server ids) or
            ``"endpoint"`` (``"server/endpoint"``).

    Returns:
        ``{group: {"all": ..., "p95": ..., "p99": ...}}``; groups with no
        measured request are left out (the overall group never is).

    Raises:
        ValueError: For an unknown ``by``.
    """
    if by == "overall":
        entry = {"all": breakdown(results)}
        for pct in TAILS:
            entry[f"p{pct}"] = breakdown(results, above=pct)
        return {"all": entry}
    codes, names = _group_codes(results, by)
    return _grouped(results, codes, names)


def _group_codes(results: Results, by: str) -> tuple[LazyColumn, list[str]]:
    """Each request's group code (-1: none), made a part at a time, and the groups' names."""
    r = results.requests
    if by == "server":
        return LazyColumn(len(r), lambda rows: r.server[rows].astype(np.int64)), list(
            results.server_ids
        )
    if by == "endpoint":
        servers = results.scenario.topology_graph.nodes.servers
        names = [f"{s.id}/{e.endpoint_name}" for s in servers for e in s.endpoints]
        sizes = [len(s.endpoints) for s in servers]
        offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)

        def make(rows: slice | np.ndarray) -> np.ndarray:
            server, endpoint = r.server[rows].astype(np.int64), r.endpoint[rows]
            valid = (server >= 0) & (endpoint >= 0)
            return np.where(valid, offsets[np.maximum(server, 0)] + endpoint, -1)

        return LazyColumn(len(r), make), names
    raise ValueError(f"by must be 'overall', 'server' or 'endpoint', not {by!r}")


def _grouped(
    results: Results, every: LazyColumn, names: list[str]
) -> dict[str, dict[str, PhaseBreakdown]]:
    """Breakdowns of every group at once: grouped sums, each group's tail thresholds by rank."""
    r = results.requests
    groups = len(names)
    latency = latency_column(results)
    measured = measured_rows(results)
    codes = LazyColumn(len(r), lambda rows: np.where(measured[rows], every[rows], -1))
    stats = group_latency_stats(results, codes, groups, TAILS)
    variants: dict[str, LazyColumn] = {"all": codes}
    for pct in TAILS:
        found = [stats[g][f"p{pct}"] for g in range(groups)]
        threshold = np.array([np.inf if v is None else v for v in found] + [np.inf])
        variants[f"p{pct}"] = _at_or_above(codes, latency, threshold)
    out: dict[str, dict[str, PhaseBreakdown]] = {}
    tables = {
        key: (sums(c, groups), sums(c, groups, latency), slot_sums(c, groups, r.slots, r.kept))
        for key, c in variants.items()
    }
    for g, name in enumerate(names):
        if not tables["all"][0][g]:
            continue
        entry = {}
        for key, (count, latency_sum, slot_sum) in tables.items():
            n = int(count[g])
            entry[key] = PhaseBreakdown(n, float(latency_sum[g]) / n, _phase_means(slot_sum[g] / n))
        out[name] = entry
    return out


def _at_or_above(codes: LazyColumn, latency: LazyColumn, threshold: np.ndarray) -> LazyColumn:
    """``codes`` of the requests at or above their group's threshold, -1 for the others."""

    def make(rows: slice | np.ndarray) -> np.ndarray:
        code = codes[rows]
        return np.where(latency[rows] >= threshold[code], code, -1)

    return LazyColumn(len(codes), make)


# --------------------------------------------------------------------------- nodes


def hop_edges(results: Results) -> dict[tuple[int, int], tuple[str | None, ...]]:
    """The edge of each hop of a request's own path, by (workload, server) index.

    The hops are the columns of ``requests.hops_s``: from the workload to the
    client, out to the entry node, from a balancer to the server, the reply;
    a hop the path does not take maps to ``None``.
    """
    paths: dict[tuple[int, int], tuple[str | None, ...]] = {}
    client = results.scenario.topology_graph.nodes.client.id
    for site in results.sites:
        if site.caller == client:
            for server, edges in site.edges.items():
                paths[(site.workload, server)] = edges
    return paths


def node_phase_seconds(results: Results, mask: Mask) -> dict[tuple[str, str], float]:
    """Total seconds the requests of ``mask`` spent per ``(node, phase)``.

    Network time goes to the edge of each hop; every other phase to the
    server where it was spent: a request's own phases to its entry server,
    those of the calls it waited for (its critical path) to the servers that
    served them. Requests that reached no server are ignored.
    """
    r = results.requests
    n_servers = len(results.server_ids)
    n_workloads = max(1, len(results.workload_ids))
    codes = path_codes(results, mask)
    own = slot_sums(codes, n_workloads * n_servers, r.slots, r.kept)
    crit = results.critical
    on_path = mask[crit.root] if len(crit) else np.zeros(0, dtype=bool)
    if on_path.any():
        by_path = on_path_codes(on_path, codes, crit.root)
        own -= slot_sums(by_path, own.shape[0], crit.slots, crit.kept, totals=True)
    calls = None
    if on_path.any():
        n_sites = len(results.sites)
        crit_codes = lazy_call_codes(crit.site, crit.server, n_sites, n_servers, on_path)
        calls = slot_sums(crit_codes, n_sites * (n_servers + 1), crit.slots, crit.kept)
    return node_seconds_of(results, own, calls)


def call_edges(results: Results, code: int) -> tuple[str | None, ...]:
    """The edges of the calls of one :func:`call_codes` code (hop by hop)."""
    n_servers = len(results.server_ids)
    pairs = len(results.sites) * n_servers
    if code >= pairs:  # a call a datastore served, by site
        return store_edges(results, code - pairs)
    site, server = divmod(code, n_servers)
    return results.sites[site].edges.get(server, ())


def call_codes(site: np.ndarray, server: np.ndarray, n_sites: int, n_servers: int) -> np.ndarray:
    """Codes of critical-path calls, by call site and the server that served them.

    ``site * servers + server`` for a call a server served, ``sites * servers
    + site`` for one a database or a cache served.
    """
    site = site.astype(np.int64)
    server = server.astype(np.int64)
    served = codes_of(site, server, sizes=(n_sites, n_servers))
    return np.asarray(np.where(server >= 0, served, n_sites * n_servers + site))


def lazy_call_codes(
    site: np.ndarray, server: np.ndarray, n_sites: int, n_servers: int, on_path: np.ndarray
) -> LazyColumn:
    """:func:`call_codes` of the calls ``on_path`` (-1 for the others), made a part at a time."""

    def make(rows: slice | np.ndarray) -> np.ndarray:
        code = call_codes(site[rows], server[rows], n_sites, n_servers)
        code[~on_path[rows]] = -1
        return code

    return LazyColumn(on_path.size, make)


def node_seconds_of(
    results: Results, own: np.ndarray, calls: np.ndarray | None
) -> dict[tuple[str, str], float]:
    """Seconds per ``(node, phase)`` from slot sums by path and by call site.

    Args:
        results: The run.
        own: Requests' own slot sums by ``workload * servers + server``.
        calls: Critical-path calls' slot sums by :func:`call_codes` (by
            ``site * servers + server``, then by site for the calls that
            datastores served).
    """
    n_servers = len(results.server_ids)
    totals: dict[tuple[str, str], float] = {}
    paths = hop_edges(results)
    for code in np.flatnonzero(own.any(axis=1)).tolist():
        workload, server = divmod(code, n_servers)
        add_node_seconds(
            totals, results.server_ids[server], paths.get((workload, server), ()), own[code]
        )
    if calls is not None:
        pairs = len(results.sites) * n_servers
        for code in np.flatnonzero(calls[:pairs].any(axis=1)).tolist():
            site, server = divmod(code, n_servers)
            edges = results.sites[site].edges.get(server, ())
            add_node_seconds(totals, results.server_ids[server], edges, calls[code])
        if calls.shape[0] > pairs:
            store_seconds(results, calls[pairs:], totals)
    return totals


def add_node_seconds(
    totals: dict[tuple[str, str], float],
    server: str,
    edges: tuple[str | None, ...],
    slots: np.ndarray,
) -> None:
    """Add one group's slot sums: hops to their edges, the rest to the server."""
    for hop, slot in enumerate(HOP_SLOTS):
        seconds = float(slots[slot])
        if seconds > 0:
            name = edges[hop] if hop < len(edges) else None
            edge = name if name is not None else f"hop {hop + 1}"
            totals[(edge, "network")] = totals.get((edge, "network"), 0.0) + seconds
    for spec in PHASES:
        if spec.name != "network":
            key = (server, spec.name)
            totals[key] = totals.get(key, 0.0) + float(sum(slots[s] for s in spec.slots))


def edge_transit_means(results: Results) -> dict[str, float | None]:
    """Mean seconds a measured request (or a call on its critical path) spent on each edge.

    ``None`` for an edge that no measured request crossed.
    """
    measured = measured_rows(results)
    seconds = node_phase_seconds(results, measured)
    counts = dict.fromkeys(results.edge_ids, 0)
    n_servers = len(results.server_ids)
    n_workloads = max(1, len(results.workload_ids))
    crossed = sums(path_codes(results, measured), n_workloads * n_servers)
    paths = hop_edges(results)
    for code in np.flatnonzero(crossed).tolist():
        for edge in paths.get(divmod(code, n_servers), ()):
            if edge in counts:
                counts[edge] += int(crossed[code])
    crit = results.critical
    if len(crit):
        on_path = measured[crit.root]
        n_sites = len(results.sites)
        crit_codes = lazy_call_codes(crit.site, crit.server, n_sites, n_servers, on_path)
        calls = sums(crit_codes, n_sites * (n_servers + 1))
        for code in np.flatnonzero(calls).tolist():
            for edge in call_edges(results, code)[1:]:
                if edge in counts:
                    counts[edge] += int(calls[code])
    return {
        e: seconds.get((e, "network"), 0.0) / counts[e] if counts[e] else None
        for e in results.edge_ids
    }


# --------------------------------------------------------------------------- verdict


@dataclass(frozen=True, slots=True)
class NodeShare:
    """A phase on a node and its share of a tail's latency.

    Attributes:
        node: Server or edge id.
        phase: Phase name (``"ram_wait"``, ``"network"``, ...).
        share: Fraction of the tail requests' total latency spent in the
            phase, on every node.
        event_ids: Event windows targeting that node.
        node_share: The part of ``share`` spent on ``node`` itself.
    """

    node: str
    phase: str
    share: float
    event_ids: tuple[str, ...] = ()
    node_share: float | None = None

    @property
    def resource(self) -> str:
        """The resource the phase uses or waits for."""
        return phase_resource(self.phase)

    def describe(self) -> str:
        """The phase, its share and its node in words.

        ``waiting for RAM on srv-1 (71%)`` when that node holds nearly all of
        the phase, else ``I/O (40%), the largest share on srv-2 (22%)``.
        """
        label = phase_label(self.phase)
        node_share = self.share if self.node_share is None else self.node_share
        if node_share >= 0.9 * self.share:
            return f"{label} on {self.node} ({self.share:.0%})"
        return f"{label} ({self.share:.0%}), the largest share on {self.node} ({node_share:.0%})"


@dataclass(frozen=True, slots=True)
class ResourceUse:
    """Mean utilisation of one resource of one node over the measured window."""

    node: str
    resource: str
    utilization: float


@dataclass(frozen=True, slots=True)
class Bottleneck:
    """The verdict of a run.

    Attributes:
        tail: Largest share of the p99 tail in the judged scope (None when no
            request completed).
        scope: ``"all requests"`` or ``"requests outside event windows"``.
        whole_run: Largest share of the whole run's p99 tail.
        busiest: Resource with the highest mean utilisation.
        verdict: One plain sentence.
    """

    tail: NodeShare | None
    scope: str
    whole_run: NodeShare | None
    busiest: ResourceUse | None
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        """The verdict as the summary's ``bottleneck`` entry."""
        tail, whole, busiest = self.tail, self.whole_run, self.busiest
        return {
            "node": tail.node if tail else None,
            "resource": tail.resource if tail else None,
            "phase": tail.phase if tail else None,
            "share_of_p99": tail.share if tail else None,
            "scope": self.scope,
            "whole_run": None
            if whole is None
            else {
                "node": whole.node,
                "resource": whole.resource,
                "phase": whole.phase,
                "share_of_p99": whole.share,
                "event_ids": list(whole.event_ids),
            },
            "busiest": None
            if busiest is None
            else {
                "node": busiest.node,
                "resource": busiest.resource,
                "utilization": busiest.utilization,
            },
            "verdict": self.verdict,
        }


def resource_utilizations(results: Results) -> list[ResourceUse]:
    """Mean utilisation of each server resource that has a capacity and a level.

    CPU is busy cores over ``cpu_cores``, RAM is RAM in use over ``ram_mb``;
    open connections over ``max_connections`` (servers and the load
    balancer) appear when both are there.
    """
    nodes = results.scenario.topology_graph.nodes
    holders: list[tuple[str, Any]] = [(s.id, s.server_resources) for s in nodes.servers]
    holders += [(b.id, b.resources) for b in nodes.balancers if b.resources is not None]
    uses: list[ResourceUse] = []
    for node, resources in holders:
        recorded = set(results.level_metrics(node))
        for resource, metric, field in _CAPACITY_LEVELS:
            capacity = getattr(resources, field, None)
            if metric in recorded and capacity:
                mean = results.level_mean(metric, node)
                uses.append(ResourceUse(node, resource, mean / float(capacity)))
    uses += [ResourceUse(*use) for use in store_utilizations(results)]
    return uses


def _top_share(results: Results, scope: Mask) -> NodeShare | None:
    """The phase with the largest share of the scope's p99 tail, and its main node.

    Phases are compared over all nodes together (two equal servers do not
    split a queue's share in halves); the node named is the one holding the
    largest part of that phase.
    """
    tail = _tail_mask(results, scope, 99)
    values = measured_values(results, tail)
    if values.count == 0:
        return None
    total_latency = values.sum_in_order()
    totals = node_phase_seconds(results, tail)
    return top_share_of(results, totals, total_latency)


def top_share_of(
    results: Results, totals: dict[tuple[str, str], float], total_latency: float
) -> NodeShare | None:
    """The phase with the largest share of a tail, from its seconds per (node, phase)."""
    if not totals:
        return None
    by_phase: dict[str, float] = {}
    for (_, phase), seconds in totals.items():
        by_phase[phase] = by_phase.get(phase, 0.0) + seconds
    phase = max(by_phase, key=lambda name: by_phase[name])
    node = max((n for n, p in totals if p == phase), key=lambda n: totals[(n, phase)])
    events = tuple(w.event_id for w in results.fault_windows if w.target == node)
    if total_latency <= 0:
        return NodeShare(node, phase, float("nan"), events, float("nan"))
    share = by_phase[phase] / total_latency
    node_share = totals[(node, phase)] / total_latency
    return NodeShare(node, phase, share, events, node_share)


def find_bottleneck(results: Results) -> Bottleneck:
    """Judge where the tail latency of a run comes from.

    The p99 tail is the set of measured requests with a latency at or above
    the p99; its total latency is split by node and phase, and the largest
    part wins. With event windows and at least :data:`MIN_CLEAN_REQUESTS`
    measured requests outside them, the verdict is judged on those requests
    (the capacity of the system, not the injected fault), and the whole run's
    largest part is reported too when it differs.

    Args:
        results: The run.

    Returns:
        The verdict, with a sentence such as "p99 is dominated by waiting for
        RAM on srv-1 (71%); the busiest resource is RAM on srv-1 (77% used)".
    """
    measured = measured_rows(results)
    uses = resource_utilizations(results)
    busiest = max(uses, key=lambda u: u.utilization) if uses else None
    whole = _top_share(results, measured)
    scope, judged = "all requests", whole
    if results.fault_windows:
        clean = _both(measured, ~event_affected_mask(results))
        if count_rows(len(clean), lambda rows: clean[rows]) >= MIN_CLEAN_REQUESTS:
            scope, judged = "requests outside event windows", _top_share(results, clean)
    return verdict(judged, scope, whole, busiest)


def verdict(
    judged: NodeShare | None, scope: str, whole: NodeShare | None, busiest: ResourceUse | None
) -> Bottleneck:
    """The verdict from the judged tail's share, the whole run's and the busiest resource."""
    return Bottleneck(judged, scope, whole, busiest, _sentence(judged, scope, whole, busiest))


def _sentence(
    judged: NodeShare | None, scope: str, whole: NodeShare | None, busiest: ResourceUse | None
) -> str:
    if judged is None:
        return "No request completed after the warm-up, so there is no latency to attribute."
    subject = "p99" if scope == "all requests" else "p99 outside event windows"
    parts = [_dominance(judged, subject)]
    differs = whole is not None and (whole.node, whole.phase) != (judged.node, judged.phase)
    if scope != "all requests" and whole is not None and differs:
        during = f" during {', '.join(whole.event_ids)}" if whole.event_ids else ""
        parts.append(_dominance(whole, "the whole run's p99") + during)
    if busiest is not None:
        label = _RESOURCE_LABELS.get(busiest.resource, busiest.resource)
        parts.append(
            f"the busiest resource is {label} on {busiest.node} "
            f"({busiest.utilization:.0%} used on average)"
        )
    text = "; ".join(parts)
    if not text.startswith("p99"):
        text = text[0].upper() + text[1:]
    return text + "."


def _dominance(share: NodeShare, subject: str) -> str:
    what = share.describe()
    if share.share >= 0.5:
        return f"{subject} is dominated by {what}"
    return f"the largest part of {subject} is {what}"
