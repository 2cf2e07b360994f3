"""Rules across the scenario: ids, the graph's shape, event targets and times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from scenario_helpers import edge, nodes, problems, server

from asyncflow.scenario import parse_scenario

Mutation = Callable[[dict[str, Any]], object]

LB = "topology_graph.nodes.load_balancer"


def _edges(d: dict[str, Any]) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = d["topology_graph"]["edges"]
    return edges


def _add_edge(d: dict[str, Any], eid: str, source: str, target: str) -> None:
    _edges(d).append({"id": eid, "source": source, "target": target, "latency": 0.001})


def _outage(eid: str, target: str, start: float, end: float) -> dict[str, Any]:
    return {
        "event_id": eid,
        "target_id": target,
        "start": {"kind": "server_down", "t_start": start},
        "end": {"kind": "server_up", "t_end": end},
    }


LB_CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "unknown edge target",
        lambda d: edge(d, 2).update(target="srv-3"),
        [
            "topology_graph.edges[2].target: unknown node 'srv-3' (did you mean 'srv-2'?)",
            f"{LB}.server_covered[0]: no edge from the load balancer 'lb-1' to 'srv-1'",
        ],
    ),
    (
        "unknown edge source",
        lambda d: edge(d, 4).update(source="srv1"),
        [
            "topology_graph.edges[4].source: unknown node 'srv1' (did you mean 'srv-1'?)",
            "topology_graph.nodes.servers[0]: server 'srv-1' has no path back to the "
            "client 'client-1'",
        ],
    ),
    (
        "edge to the workload",
        lambda d: edge(d, 5).update(target="rqs-1"),
        [
            "topology_graph.edges[5].target: the workload 'rqs-1' cannot be an edge target",
            "topology_graph.nodes.servers[1]: server 'srv-2' has no path back to the "
            "client 'client-1'",
        ],
    ),
    (
        "self loop",
        lambda d: edge(d, 4).update(target="srv-1"),
        [
            "topology_graph.edges[4].target: must differ from source (an edge joins two nodes) "
            "(got 'srv-1')",
            "topology_graph.nodes.servers[0]: server 'srv-1' has no path back to the "
            "client 'client-1'",
        ],
    ),
    (
        "server with no path back to the client",
        lambda d: _edges(d).pop(4),
        [
            "topology_graph.nodes.servers[0]: server 'srv-1' has no path back to the "
            "client 'client-1'"
        ],
    ),
    (
        "server edge going elsewhere",
        lambda d: edge(d, 5).update(target="lb-1"),
        [
            "topology_graph.nodes.servers[1]: server 'srv-2' has no path back to the "
            "client 'client-1'"
        ],
    ),
    (
        "second edge between two nodes",
        lambda d: _add_edge(d, "extra", "srv-1", "client-1"),
        ["topology_graph.edges[6].target: second edge from 'srv-1' to 'client-1' (also edges[4])"],
    ),
    (
        "client bypassing the load balancer",
        lambda d: edge(d, 1).update(target="srv-1"),
        [
            "topology_graph.nodes.servers[1]: server 'srv-2' receives no requests "
            "(its load balancer receives none)",
            f"{LB}: the load balancer 'lb-1' receives no requests (no workload enters it "
            "and no call goes to it)",
        ],
    ),
    (
        "workload not connected to the client",
        lambda d: edge(d, 0).update(target="lb-1"),
        [
            "topology_graph.edges[0].target: an edge from the workload 'rqs-1' must go to "
            "'client-1' (got 'lb-1')"
        ],
    ),
    (
        "no edge from the workload",
        lambda d: (_edges(d).pop(0), d["events"].pop()),
        ["topology_graph.edges: no edge from the workload 'rqs-1' to 'client-1'"],
    ),
    (
        "unknown covered server",
        lambda d: nodes(d)["load_balancer"].update(server_covered=["srv-1", "srv-3"]),
        [
            f"{LB}.server_covered[1]: unknown server 'srv-3' (did you mean 'srv-2'?)",
            "topology_graph.edges[3].target: the load balancer 'lb-1' may only connect to the "
            "servers it covers (got 'srv-2')",
            "topology_graph.nodes.servers[1]: server 'srv-2' receives no requests "
            "(no load balancer covers it, no workload enters it and no call reaches it)",
        ],
    ),
    (
        "covered server without an edge",
        lambda d: (_edges(d).pop(3), d["events"].pop(2)),
        [f"{LB}.server_covered[1]: no edge from the load balancer 'lb-1' to 'srv-2'"],
    ),
    (
        "covering the client",
        lambda d: nodes(d)["load_balancer"]["server_covered"].append("client-1"),
        [f"{LB}.server_covered[2]: the client 'client-1'"],
    ),
    (
        "two edges from the LB to one server",
        lambda d: _add_edge(d, "again", "lb-1", "srv-1"),
        ["topology_graph.edges[6].target: second edge from 'lb-1' to 'srv-1' (also edges[2])"],
    ),
    (
        "duplicate node id",
        lambda d: nodes(d)["load_balancer"].update(id="srv-1"),
        [f"{LB}.id: duplicate node id (also topology_graph.nodes.servers[0].id) (got 'srv-1')"],
    ),
    (
        "workload id reused by a node",
        lambda d: nodes(d)["client"].update(id="rqs-1"),
        [
            "rqs_input.id: the workload id is also a node id (topology_graph.nodes.client.id) "
            "(got 'rqs-1')"
        ],
    ),
    (
        "duplicate edge id",
        lambda d: edge(d, 5).update(id="srv1-client"),
        ["topology_graph.edges[5].id: duplicate edge id (also edges[4]) (got 'srv1-client')"],
    ),
    # ---- events
    (
        "unknown event target",
        lambda d: d["events"][1].update(target_id="srv-3"),
        ["events[1].target_id: unknown server 'srv-3' (did you mean 'srv-2'?)"],
    ),
    (
        "outage on an edge",
        lambda d: d["events"][1].update(target_id="client-lb"),
        ["events[1].target_id: a server_down event needs a server, 'client-lb' is an edge"],
    ),
    (
        "spike on a server",
        lambda d: d["events"][0].update(target_id="srv-1"),
        ["events[0].target_id: a network_spike_start event needs an edge, 'srv-1' is a server"],
    ),
    (
        "outage on the load balancer",
        lambda d: d["events"][1].update(target_id="lb-1"),
        ["events[1].target_id: a server_down event needs a server, 'lb-1' is the load balancer"],
    ),
    (
        "event after the horizon",
        lambda d: d["events"][4]["end"].update(t_end=601),
        ["events[4].end.t_end: must be <= total_simulation_time (600) (got 601.0)"],
    ),
    (
        "event entirely after the horizon",
        lambda d: d["events"][4].update(
            start={"kind": "network_spike_start", "t_start": 700, "spike_s": 0.1},
            end={"kind": "network_spike_end", "t_end": 800},
        ),
        ["events[4].end.t_end: must be <= total_simulation_time (600) (got 800.0)"],
    ),
    (
        "overlapping outages",
        lambda d: d["events"].append(_outage("ev-again", "srv-1", 230, 250)),
        [
            "events[5].start.t_start: outage overlaps 'ev-srv1-down' on server 'srv-1' "
            "(180 to 240) (got 230.0)"
        ],
    ),
    (
        "outage inside a long one, after another short one",
        lambda d: d["events"].extend(
            [
                _outage("long", "srv-1", 0, 300),
                _outage("short", "srv-1", 10, 20),
                _outage("later", "srv-1", 250, 260),
            ]
        ),
        [
            "events[6].start.t_start: outage overlaps 'long' on server 'srv-1' (0 to 300) "
            "(got 10.0)",
            "events[1].start.t_start: outage overlaps 'long' on server 'srv-1' (0 to 300) "
            "(got 180.0)",
            "events[7].start.t_start: outage overlaps 'long' on server 'srv-1' (0 to 300) "
            "(got 250.0)",
        ],
    ),
    (
        "duplicate event id",
        lambda d: d["events"][2].update(event_id="ev-spike-1"),
        ["events[2].event_id: duplicate event id (also events[0]) (got 'ev-spike-1')"],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in LB_CASES], ids=[c[0] for c in LB_CASES]
)
def test_cross_problems(lb_data: dict[str, Any], mutate: Mutation, expected: list[str]) -> None:
    mutate(lb_data)
    assert problems(lb_data) == expected


def test_back_to_back_outages_are_fine(lb_data: dict[str, Any]) -> None:
    lb_data["events"].append(_outage("next", "srv-1", 240, 300))
    assert len(parse_scenario(lb_data).events) == 6


def test_overlapping_spikes_are_fine(lb_data: dict[str, Any]) -> None:
    spike = dict(lb_data["events"][0], event_id="ev-spike-1b")
    lb_data["events"].append(spike)
    assert len(parse_scenario(lb_data).events) == 6


def test_outage_of_the_only_server_is_allowed(single_data: dict[str, Any]) -> None:
    single_data["events"] = [_outage("down", "srv-1", 10, 20)]
    (event,) = parse_scenario(single_data).events
    assert event.is_outage


def test_events_null_means_none(single_data: dict[str, Any]) -> None:
    single_data["events"] = None
    assert parse_scenario(single_data).events == ()


SINGLE_CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "several servers without a load balancer",
        lambda d: nodes(d)["servers"].append(dict(server(d), id="srv-2")),
        [
            "topology_graph.nodes.servers[1]: server 'srv-2' receives no requests "
            "(no workload enters it and no call reaches it)",
        ],
    ),
    (
        "client pointing at nothing",
        lambda d: _edges(d).pop(1),
        [
            "topology_graph.edges: no edge from the client 'client-1' to an entry node "
            "(a server or a load balancer)",
        ],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in SINGLE_CASES], ids=[c[0] for c in SINGLE_CASES]
)
def test_single_server_problems(
    single_data: dict[str, Any], mutate: Mutation, expected: list[str]
) -> None:
    mutate(single_data)
    assert problems(single_data) == expected
