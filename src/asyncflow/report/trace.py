"""Request traces in the Chrome trace-event format (opened by Perfetto).

:func:`write_trace` writes a JSON object ``{"traceEvents": [...],
"displayTimeUnit": "ms", "otherData": {...}}`` for a sample of requests (each
finished request with probability ``sample_rate``) plus the ``slowest``
completed ones. Times are microseconds of simulated time, each a whole number
of nanoseconds (at most three decimals): every span boundary is rounded to the
nanosecond once and ``dur`` is the rounded end minus the rounded start, so a
reader that converts to integer nanoseconds (as Perfetto does) sees adjacent
spans touch without overlapping, and never nests one inside its neighbour.

Tracks: each node is a process (``pid``) named after it — one per edge and
server, in path order, and one called ``requests`` holding each traced
request's whole life. Spans of different requests overlap in time, and the
format wants the spans of one thread to nest, so every process is split into
lanes (``tid``): a span goes to the first lane free at its start. One span per
phase: network hops on their edge, the server phases on the server.

When the run recorded its calls (``Results.calls``: the command line does
with ``--trace``), each traced request's calls are spans with their real
start and end, nested under the request's span on the ``requests`` track
(calls made in parallel on lanes of their own, so that each lane nests), and
the phases are drawn call by call on the nodes where they happened.

Phase start times are rebuilt from the call's (or request's) start and its
phases' durations in path order: the hops up to the server, then at the
server ``handshake``, ``connection_wait``, ``ram_wait``, then ``cpu_wait``,
``cpu`` and ``io``, the wait for the calls it made, then the way back. The
engine records each phase's total per call, not each step, so for an endpoint
with several CPU and I/O steps the order inside the server is approximate
(all core waits, then all CPU, then all I/O); each span's duration is exact,
and the reply's span ends exactly at the call's end.

Event windows are instant markers (global scope) at their start and end, and
spans on an ``events`` track.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.analysis.attribution import hop_edges
from asyncflow.analysis.datastores import pool_of
from asyncflow.metrics.phases import (
    CACHE,
    CONNECTION_WAIT,
    CPU,
    CPU_WAIT,
    DB,
    HANDSHAKE,
    HOP_BALANCER,
    HOP_GENERATOR,
    HOP_OUT,
    HOP_REPLY,
    IO,
    POOL_WAIT,
    RAM_WAIT,
)
from asyncflow.metrics.requests import COMPLETED, IN_FLIGHT

if TYPE_CHECKING:
    from os import PathLike

    from asyncflow.results import Results

__all__ = ["select_requests", "trace_events", "write_trace"]

_Span = tuple[str, str, float, float, int]  # (node, phase, start_s, end_s, request id)
_SLOT = {"ram_wait": RAM_WAIT, "cpu_wait": CPU_WAIT, "cpu": CPU, "io": IO}
_NS_PER_S = 1_000_000_000
_NS_PER_US = 1000
_SERVER_ORDER = ("handshake", "connection_wait", "ram_wait", "cpu_wait", "cpu", "io")


def select_requests(
    results: Results, *, sample_rate: float = 0.01, slowest: int = 50, seed: int = 0
) -> np.ndarray:
    """Ids of the requests to trace, sorted.

    Args:
        results: The run.
        sample_rate: Probability that each finished request (completed or
            failed) is traced.
        slowest: How many of the slowest completed requests to add.
        seed: Seed of the sampling.

    Returns:
        Sorted request ids (indices into ``results.requests``).

    Raises:
        ValueError: If ``sample_rate`` is not in [0, 1] or ``slowest`` < 0.
    """
    if not 0.0 <= sample_rate <= 1.0:
        raise ValueError(f"sample_rate must be between 0 and 1: {sample_rate}")
    if slowest < 0:
        raise ValueError(f"slowest must be >= 0: {slowest}")
    r = results.requests
    finished = np.flatnonzero(r.outcome != IN_FLIGHT)
    rng = np.random.default_rng(seed)
    sampled = finished[rng.random(finished.size) < sample_rate]
    completed = np.flatnonzero(r.outcome == COMPLETED)
    if slowest and completed.size:
        latency = r.finished_s[completed] - r.generated_s[completed]
        count = min(slowest, completed.size)
        top = completed[np.argpartition(latency, completed.size - count)[-count:]]
        sampled = np.union1d(sampled, top)
    return np.unique(sampled)


def _ns(seconds: float) -> int:
    """Return simulated seconds as the nearest whole nanosecond."""
    return round(seconds * _NS_PER_S)


def _us(ns: int) -> float:
    """Return whole nanoseconds as microseconds (the float nearest to ``ns / 1000``).

    Its shortest decimal text, which ``json`` writes, has at most three
    decimals, so reading it back and rounding to nanoseconds gives ``ns``.
    """
    return ns / _NS_PER_US


@dataclass(frozen=True, slots=True)
class _CallSpan:
    """A traced call: its row in the call table, its parent's row, its request, its times."""

    row: int
    parent: int
    root: int
    start: float
    end: float


class _Nest:
    """Lanes of the ``requests`` track where a call's span nests in its caller's.

    Calls are placed in start order, callers first. A call goes on its
    caller's lane unless a sibling still open there overlaps it (calls made
    in parallel): then on the first lane whose open spans all contain it, or
    a new one. Each lane keeps the stack of its spans still open, so every
    lane nests and placing costs the depth of the call tree.
    """

    def __init__(self) -> None:
        self.lanes = 0
        self._open: list[list[tuple[int, int]]] = []  # per lane: spans still open (ns)
        self._lane_of: dict[int, int] = {}  # call row -> lane

    def place(self, call: _CallSpan, start: int, end: int) -> int:
        """The lane of a call."""
        parent = self._lane_of.get(call.parent)
        order = ([parent] if parent is not None else []) + list(range(self.lanes))
        for lane in order:
            stack = self._open[lane]
            while stack and stack[-1][1] <= start:
                stack.pop()
            if all(s <= start and end <= e for s, e in stack):
                break
        else:
            lane = self.lanes
            self.lanes += 1
            self._open.append([])
        self._open[lane].append((start, end))
        self._lane_of[call.row] = lane
        return lane


class _Lanes:
    """Assigns spans of one process to the first lane free at their start."""

    def __init__(self) -> None:
        self.free_at: list[int] = []
        self.free: list[int] = []  # heap of lanes that became free
        self.busy: list[tuple[int, int]] = []  # heap of (end, lane)

    def take(self, start: int, end: int) -> int:
        """Return the lane of a span ``[start, end)`` (nanoseconds)."""
        while self.busy and self.busy[0][0] <= start:
            _, lane = heapq.heappop(self.busy)
            heapq.heappush(self.free, lane)
        lane = heapq.heappop(self.free) if self.free else len(self.free_at)
        if lane == len(self.free_at):
            self.free_at.append(end)
        heapq.heappush(self.busy, (end, lane))
        return lane


def _spans(results: Results, ids: np.ndarray) -> list[tuple[str, str, float, float, int]]:
    """``(node, phase, start_s, end_s, request id)`` of each traced request's phases."""
    r = results.requests
    paths = hop_edges(results)
    phases = r.phases()
    server_phases = [p for p in _SERVER_ORDER if p in phases]
    server_phases += [p for p in phases if p != "network" and p not in server_phases]
    spans: list[tuple[str, str, float, float, int]] = []
    all_hops = r.hops_s
    for rid in ids.tolist():
        s = int(r.server[rid])
        t = float(r.generated_s[rid])
        hops = all_hops[rid].astype(float)
        path = paths.get((int(r.workload[rid]), s), ())
        before = 3  # the hops before the server: from the workload, out, from a balancer
        steps: list[tuple[str, str, float]] = []
        for j in range(min(before, hops.size)):
            steps.append((_edge_name(path, j), "network", hops[j]))
        if s >= 0:
            sid = results.server_ids[s]
            steps += [(sid, p, float(phases[p][rid])) for p in server_phases]
        for j in range(before, hops.size):
            steps.append((_edge_name(path, j), "network", hops[j]))
        for node, phase, duration in steps:
            if duration > 0:
                spans.append((node, phase, t, t + duration, rid))
                t += duration
    return spans


def _call_spans(results: Results, ids: np.ndarray) -> tuple[list[_CallSpan], list[_Span]]:
    """The traced requests' calls, and their phases on the nodes where they happened."""
    calls = results.calls
    if calls is None:  # pragma: no cover - the caller checks
        return [], []
    rows = np.flatnonzero(np.isin(calls.root, ids))
    rows = rows[np.lexsort((rows, calls.start_s[rows], calls.root[rows]))]
    spans: list[_Span] = []
    tree: list[_CallSpan] = []
    for row in rows.tolist():
        start = float(calls.start_s[row])
        end = float(calls.end_s[row])
        if not math.isfinite(end):
            end = results.end_s
        tree.append(_CallSpan(row, int(calls.parent[row]), int(calls.root[row]), start, end))
        spans += _phase_spans(results, row, start, end)
    return tree, spans


def _phase_spans(results: Results, row: int, start: float, end: float) -> list[_Span]:
    """One call's own phases laid out in path order from its start."""
    calls = results.calls
    if calls is None:  # pragma: no cover - the caller checks
        return []
    slots = calls.slots[row].astype(float)
    server = int(calls.server[row])
    site = results.sites[int(calls.site[row])]
    edges = site.edges.get(server, (None, None, None, None))
    if server < 0 and site.edges:  # served by a database or a cache: its only entry
        edges = next(iter(site.edges.values()))
    root = int(calls.root[row])
    order: list[tuple[str, str, float]] = [
        (pool_of(results, site.caller, site.target), "pool_wait", slots[POOL_WAIT]),
        (_edge_name(edges, 0), "network", slots[HOP_GENERATOR]),
        (_edge_name(edges, 1), "handshake", slots[HANDSHAKE]),
        (_edge_name(edges, 1), "network", slots[HOP_OUT]),
        (_edge_name(edges, 2), "network", slots[HOP_BALANCER]),
    ]
    if server >= 0:
        sid = results.server_ids[server]
        order.append((sid, "connection_wait", slots[CONNECTION_WAIT]))
        order += [(sid, phase, slots[_SLOT[phase]]) for phase in _SERVER_ORDER[2:]]
    else:  # a database's or a cache's own time
        order += [(site.target, "db", slots[DB]), (site.target, "cache", slots[CACHE])]
    spans: list[_Span] = []
    t = start
    for node, phase, duration in order:
        if duration > 0:
            spans.append((node, phase, t, min(t + duration, end), root))
            t += duration
    reply = slots[HOP_REPLY]
    if reply > 0:
        spans.append((_edge_name(edges, 3), "network", max(t, end - reply), end, root))
    return [span for span in spans if span[3] > span[2]]


def _edge_name(path: tuple[str | None, ...], hop: int) -> str:
    edge = path[hop] if hop < len(path) else None
    return edge or f"hop {hop + 1}"


def trace_events(
    results: Results, *, sample_rate: float = 0.01, slowest: int = 50, seed: int = 0
) -> dict[str, Any]:
    """Build the trace of a run (see the module docstring) without writing it.

    Args:
        results: The run.
        sample_rate: Probability that each finished request is traced.
        slowest: How many of the slowest completed requests to add.
        seed: Seed of the sampling.

    Returns:
        The JSON-ready trace object.
    """
    ids = select_requests(results, sample_rate=sample_rate, slowest=slowest, seed=seed)
    r = results.requests
    reasons = r.reason_names
    order = ["events", "requests", *_node_order(results)]
    pids = {name: index + 1 for index, name in enumerate(order)}
    lanes: dict[str, _Lanes] = {name: _Lanes() for name in order}
    events: list[dict[str, Any]] = []

    def span(node: str, name: str, start_s: float, end_s: float, args: dict[str, Any]) -> None:
        start, end = _ns(start_s), _ns(end_s)
        pids.setdefault(node, len(pids) + 1)
        lane = lanes.setdefault(node, _Lanes()).take(start, end)
        events.append(
            {
                "name": name,
                "cat": args.pop("cat"),
                "ph": "X",
                "ts": _us(start),
                "dur": _us(end - start),
                "pid": pids[node],
                "tid": lane + 1,
                "args": args,
            }
        )

    for window in sorted(results.fault_windows, key=lambda w: w.start_s):
        args = {"cat": "event", "kind": window.kind, "target": window.target}
        span("events", window.event_id, window.start_s, window.end_s, args)
        for label, at in (("start", window.start_s), ("end", window.end_s)):
            events.append(
                {
                    "name": f"{window.event_id} {label}",
                    "cat": "event",
                    "ph": "i",
                    "s": "g",
                    "ts": _us(_ns(at)),
                    "pid": pids["events"],
                    "tid": 1,
                    "args": {"kind": window.kind, "target": window.target},
                }
            )
    if results.calls is not None:
        tree, phase_spans = _call_spans(results, ids)
        nested, count = _nested_calls(results, tree, pids["requests"])
        events += nested
        lanes["requests"].free_at = [0] * count  # the lanes' names, in the metadata
        spans = sorted(phase_spans, key=lambda item: (item[2], item[4]))
    else:
        for rid in ids.tolist():
            end = float(r.finished_s[rid])
            code = int(r.outcome[rid])
            outcome = "completed" if code == COMPLETED else f"failed: {reasons[code]}"
            args = {"cat": "request", "request_id": rid, "outcome": outcome}
            if math.isfinite(end):
                span("requests", f"request {rid}", float(r.generated_s[rid]), end, args)
        spans = sorted(_spans(results, ids), key=lambda item: (item[2], item[4]))
    for node, phase, start, end, rid in spans:
        span(node, phase, start, end, {"cat": "phase", "request_id": rid})
    return {
        "traceEvents": _metadata(pids, lanes) + events,
        "displayTimeUnit": "ms",
        "otherData": {
            "scenario": results.name,
            "seed": results.seed,
            "traced_requests": int(ids.size),
            "sample_rate": sample_rate,
            "slowest": slowest,
        },
    }


def _nested_calls(
    results: Results, tree: list[_CallSpan], pid: int
) -> tuple[list[dict[str, Any]], int]:
    """Span events of the traced calls on the ``requests`` track, and the lanes used.

    Each call nests in its caller's span.
    """
    calls = results.calls
    if calls is None:  # pragma: no cover - the caller checks
        return [], 0
    names = calls.reason_names
    nest = _Nest()
    events: list[dict[str, Any]] = []
    for call in sorted(tree, key=lambda c: (c.start, c.parent >= 0, c.row)):
        start, end = _ns(call.start), _ns(call.end)
        lane = nest.place(call, start, end)
        code = int(calls.outcome[call.row])
        outcome = "in flight" if code == IN_FLIGHT else names[code].replace("_", " ")
        events.append(
            {
                "name": _call_name(results, call),
                "cat": "request" if call.parent < 0 else "call",
                "ph": "X",
                "ts": _us(start),
                "dur": _us(end - start),
                "pid": pid,
                "tid": lane + 1,
                "args": {"request_id": call.root, "call_id": call.row, "outcome": outcome},
            }
        )
    return events, nest.lanes


def _call_name(results: Results, call: _CallSpan) -> str:
    if call.parent < 0:
        return f"request {call.root}"
    calls = results.calls
    site = results.sites[int(calls.site[call.row])] if calls is not None else None
    server = int(calls.server[call.row]) if calls is not None else -1
    endpoint = int(calls.endpoint[call.row]) if calls is not None else -1
    target = site.target if site is not None else "?"
    if server >= 0 and endpoint >= 0:
        name = results.endpoint_names[server][endpoint]
        where = results.server_ids[server]
        return f"{where}{name}" if name.startswith("/") else f"{where}/{name}"
    return f"call to {target}"


def _node_order(results: Results) -> list[str]:
    """Edges and servers in path order: in, (balancer,) servers, back."""
    order: list[str] = []
    for path in hop_edges(results).values():
        for edge in path:
            if edge is not None and edge not in order:
                order.append(edge)
    before = 3  # hops before the server: from the workload, out, from a balancer
    inbound = [e for e in order if _hop_index(results, e) < before]
    outbound = [e for e in order if e not in inbound]
    return inbound + list(results.server_ids) + outbound


def _hop_index(results: Results, edge: str) -> int:
    for path in hop_edges(results).values():
        if edge in path:
            return path.index(edge)
    return 0


def _metadata(pids: dict[str, int], lanes: dict[str, _Lanes]) -> list[dict[str, Any]]:
    """Process names and order, and a name for each lane."""
    meta: list[dict[str, Any]] = []
    for name, pid in pids.items():
        meta.append({"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}})
        meta.append(
            {"name": "process_sort_index", "ph": "M", "pid": pid, "args": {"sort_index": pid}}
        )
        for lane in range(max(1, len(lanes[name].free_at))):
            meta.append(
                {
                    "name": "thread_name",
                    "ph": "M",
                    "pid": pid,
                    "tid": lane + 1,
                    "args": {"name": f"{name} #{lane + 1}"},
                }
            )
    return meta


def write_trace(
    results: Results,
    path: str | PathLike[str],
    *,
    sample_rate: float = 0.01,
    slowest: int = 50,
    seed: int = 0,
) -> Path:
    """Write a sample of requests as a Chrome trace-event JSON file.

    Open it in Perfetto (ui.perfetto.dev) or ``chrome://tracing``.

    Args:
        results: The run.
        path: The ``.json`` file to write; its parent directory must exist.
        sample_rate: Probability that each finished request is traced.
        slowest: How many of the slowest completed requests to add.
        seed: Seed of the sampling (the same seed traces the same requests).

    Returns:
        The path written.
    """
    trace = trace_events(results, sample_rate=sample_rate, slowest=slowest, seed=seed)
    target = Path(path)
    target.write_text(json.dumps(trace, separators=(",", ":")), encoding="utf-8")
    return target
