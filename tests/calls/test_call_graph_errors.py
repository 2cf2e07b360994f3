"""Bad call graphs: every problem named with its path, the rule and the value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import ScenarioBuilder, parse_scenario
from asyncflow.scenario.builder import call, cpu, endpoint, io

Mutation = Callable[[dict[str, Any]], object]
API = "topology_graph.nodes.servers[0]"
STEP = f"{API}.endpoints[0].steps[1].step_operation"


def _base() -> dict[str, Any]:
    return (
        ScenarioBuilder("graph")
        .workload(users=5, requests_per_minute=60, target="api")
        .client()
        .server("api", endpoints=[endpoint("/p", cpu(0.001), call("lb-back", "/data"))])
        .server("back-1", endpoints=[endpoint("/data", io(0.01)), endpoint("/meta", io(0.01))])
        .server("back-2", endpoints=[endpoint("/data", io(0.01)), endpoint("/meta", io(0.01))])
        .load_balancer("lb-back", servers=["back-1", "back-2"])
        .wire(latency=0.001)
        .settings(horizon_s=10)
        .to_dict()
    )


def _nodes(d: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = d["topology_graph"]["nodes"]
    return nodes


def _step(d: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = _nodes(d)["servers"][0]["endpoints"][0]["steps"][1]
    return step


def _target(value: str, endpoint_name: str | None = "/data") -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        spec: dict[str, Any] = {"target": value}
        if endpoint_name is not None:
            spec["endpoint"] = endpoint_name
        _step(d)["step_operation"] = {"call": spec}

    return mutate


def _drop_edge(source: str, target: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        edges = d["topology_graph"]["edges"]
        d["topology_graph"]["edges"] = [
            e for e in edges if (e["source"], e["target"]) != (source, target)
        ]

    return mutate


def _back_calls_api(d: dict[str, Any]) -> None:
    back = _nodes(d)["servers"][1]
    back["endpoints"][0]["steps"].append(call("api"))
    d["topology_graph"]["edges"] += [  # back-1 -> api exists already, for the answers
        {"id": "api-b1", "source": "api", "target": "back-1", "latency": 0.001},
    ]


CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "unknown target",
        _target("lb-bak"),
        [
            f"{STEP}.call.target: unknown node 'lb-bak' (did you mean 'lb-back'?): calls go to a "
            "server or a load balancer"
        ],
    ),
    (
        "calling the client",
        _target("client-1"),
        [f"{STEP}.call.target: 'client-1' is the client: calls go to a server or a load balancer"],
    ),
    (
        "calling itself",
        _target("api", None),
        [f"{STEP}.call.target: a server cannot call itself ('api')"],
    ),
    (
        "no edge for the call",
        _drop_edge("api", "lb-back"),
        [f"{STEP}.call.target: no edge from 'api' to 'lb-back': the call has no way to travel"],
    ),
    (
        "no edge for the answers",
        _drop_edge("back-2", "api"),
        [
            f"{STEP}.call.target: no edge from 'back-2' back to 'api': its answers have no way "
            "to travel"
        ],
    ),
    (
        "unknown endpoint",
        _target("lb-back", "/dat"),
        [f"{STEP}.call.endpoint: 'back-1' has no endpoint '/dat' (did you mean '/data'?)"],
    ),
    (
        "endpoint left out where there are several",
        _target("lb-back", None),
        [f"{STEP}.call.endpoint: required: 'back-1' has 2 endpoints ('/data', '/meta')"],
    ),
    (
        "a call cycle",
        _back_calls_api,
        [
            "topology_graph.nodes.servers[1].endpoints[0].steps[1].step_operation.call.target: "
            "call cycle: api -> back-1 -> api"
        ],
    ),
    (
        "a server behind two balancers",
        lambda d: (
            _nodes(d).update(
                load_balancers=[
                    _nodes(d).pop("load_balancer"),
                    {"id": "lb-2", "server_covered": ["back-1"]},
                ]
            ),
            d["topology_graph"]["edges"].append(
                {"id": "x", "source": "lb-2", "target": "back-1", "latency": 0.001}
            ),
        ),
        [
            "topology_graph.nodes.load_balancers[1].server_covered[0]: 'back-1' is covered by "
            "'lb-back' already (one balancer a server)",
            "topology_graph.nodes.load_balancers[1]: the load balancer 'lb-2' receives no "
            "requests (no workload enters it and no call goes to it)",
        ],
    ),
    (
        "both balancer keys",
        lambda d: _nodes(d).update(load_balancers=[_nodes(d)["load_balancer"]]),
        [
            "topology_graph.nodes.load_balancers: give either load_balancer or load_balancers, "
            "not both"
        ],
    ),
    (
        "both workload keys",
        lambda d: d.update(workloads=[d["rqs_input"]]),
        ["workloads: give either rqs_input or workloads, not both"],
    ),
    (
        "workload entering at the client",
        lambda d: d["rqs_input"].update(target="client-1"),
        ["rqs_input.target: 'client-1' is the client"],
    ),
    (
        "workload entry without an edge from the client",
        lambda d: d["rqs_input"].update(target="back-1"),
        ["rqs_input.target: no edge from the client 'client-1' to 'back-1'"],
    ),
    (
        "workload without a target while the client has two edges",
        lambda d: (
            d["rqs_input"].pop("target"),
            d["topology_graph"]["edges"].append(
                {"id": "x", "source": "client-1", "target": "back-1", "latency": 0.001}
            ),
        ),
        ["rqs_input.target: required: the client 'client-1' has edges to 'api', 'back-1'"],
    ),
    (
        "branch probabilities that do not add up",
        lambda d: _step(d).update(
            kind="branch",
            step_operation={
                "branch": [
                    {"probability": 0.5, "steps": [call("lb-back", "/data")]},
                    {"probability": 0.4, "steps": []},
                ]
            },
        ),
        [f"{STEP}.branch: the arms' probabilities must add up to 1 (they add up to 0.9)"],
    ),
    (
        "wait for more answers than calls",
        lambda d: _step(d).update(
            kind="parallel",
            step_operation={
                "parallel": {"calls": [{"target": "lb-back", "endpoint": "/data"}], "wait": 2}
            },
        ),
        [
            f"{STEP}.parallel.wait: must be 'all', 'first' or a number from 1 to 1 (the calls) "
            "(got 2)"
        ],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_call_graph_problems(mutate: Mutation, expected: list[str]) -> None:
    data = _base()
    parse_scenario(_base())  # the base is valid
    mutate(data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected
