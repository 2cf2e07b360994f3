"""Traces of call trees: each call a span with its real times, nested in its caller's."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import asyncflow
from asyncflow.report.trace import trace_events
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import call, cpu, deterministic, endpoint, exponential, io, parallel


def _tree() -> Any:
    return (
        ScenarioBuilder("trace")
        .workload(users=10, requests_per_minute=60, target="api")
        .client()
        .server(
            "api",
            endpoints=[endpoint("/p", cpu(0.001), parallel("a", "b"), call("a"), cpu(0.001))],
        )
        .server("a", endpoints=[endpoint("/x", io(exponential(0.01)))])
        .server("b", endpoints=[endpoint("/x", io(deterministic(0.02)))])
        .wire(latency=0.0005)
        .settings(horizon_s=20, seed=3)
        .build()
    )


def _ns(event: dict[str, Any]) -> tuple[int, int]:
    start = round(event["ts"] * 1000)
    return start, start + round(event["dur"] * 1000)


def test_call_spans_nest_in_their_callers_and_lanes_never_cross() -> None:
    results = asyncflow.run(_tree(), record_calls=True)
    trace = trace_events(results, sample_rate=0.2, slowest=5)
    spans = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    calls = [e for e in spans if e["cat"] in ("request", "call")]
    by_id = {e["args"]["call_id"]: e for e in calls}
    table = results.calls
    assert table is not None
    children = [e for e in calls if e["cat"] == "call"]
    assert len(children) >= 3 * sum(1 for e in calls if e["cat"] == "request") - 3
    for child in children:
        parent = by_id[int(table.parent[child["args"]["call_id"]])]
        c0, c1 = _ns(child)
        p0, p1 = _ns(parent)
        assert p0 <= c0  # inside its caller, in real time
        assert c1 <= p1
    # On every lane of every track, spans nest or follow one another.
    lanes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for event in spans:
        lanes[(event["pid"], event["tid"])].append(_ns(event))
    for intervals in lanes.values():
        intervals.sort(key=lambda iv: (iv[0], -iv[1]))
        open_spans: list[tuple[int, int]] = []
        for start, end in intervals:
            while open_spans and open_spans[-1][1] <= start:
                open_spans.pop()
            assert not open_spans or end <= open_spans[-1][1]
            open_spans.append((start, end))
    # The two calls sent together overlap: they cannot share a lane.
    tids = defaultdict(set)
    for child in children:
        tids[int(table.parent[child["args"]["call_id"]])].add(child["tid"])
    assert any(len(t) > 1 for t in tids.values())
