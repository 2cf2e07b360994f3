"""Bad connection settings: clear errors that name the field, the rule and the value."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

import asyncflow
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import endpoint, io

Mutation = Callable[[dict[str, Any]], None]


def _data() -> dict[str, Any]:
    return (
        ScenarioBuilder("bad")
        .workload(users=1, requests_per_minute=60)
        .client()
        .server("srv-1", endpoints=[endpoint("/a", io(0.1))])
        .server("srv-2", endpoints=[endpoint("/a", io(0.1))])
        .load_balancer("lb-1", servers=["srv-1", "srv-2"])
        .wire(latency=0.001)
        .settings(horizon_s=10)
        .to_dict()
    )


def _resources(d: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = d["topology_graph"]["nodes"]["servers"][0]["server_resources"]
    return resources


def _nodes(d: dict[str, Any]) -> dict[str, Any]:
    nodes: dict[str, Any] = d["topology_graph"]["nodes"]
    return nodes


SERVER = "topology_graph.nodes.servers[0]"
LB = "topology_graph.nodes.load_balancer"
CASES: list[tuple[str, Mutation, str]] = [
    (
        "zero sockets",
        lambda d: _resources(d).update(max_connections=0),
        f"{SERVER}.server_resources.max_connections: must be >= 1 (got 0)",
    ),
    (
        "negative backlog",
        lambda d: _resources(d).update(listen_backlog=-1),
        f"{SERVER}.server_resources.listen_backlog: must be >= 0 (got -1)",
    ),
    (
        "backlog without a socket limit",
        lambda d: _resources(d).update(listen_backlog=10),
        f"{SERVER}.server_resources.listen_backlog: needs max_connections: a backlog only fills "
        "when every socket is taken (unlimited sockets never wait) (got 10)",
    ),
    (
        "sockets cannot all get their memory",
        lambda d: _resources(d).update(max_connections=10000, connection_memory_kb=512),
        f"{SERVER}.server_resources.connection_memory_kb: max_connections x connection_memory_kb "
        "needs 5000 MB but ram_mb is 1024: lower max_connections (or leave it unset to let memory "
        "be the limit) (got 512.0)",
    ),
    (
        "negative connection memory",
        lambda d: _resources(d).update(connection_memory_kb=-1),
        f"{SERVER}.server_resources.connection_memory_kb: must be >= 0 (got -1)",
    ),
    (
        "pool on a server that makes no calls",
        lambda d: _nodes(d)["servers"][0].update(connection_pool={}),
        f"{SERVER}.connection_pool: this server makes no calls, and a pool keeps the connections "
        "of calls: set connection_pool on the client or the load balancer",
    ),
    (
        "keep-alive on a server",
        lambda d: _nodes(d)["servers"][0].update(keep_alive=True),
        f"{SERVER}.keep_alive: keep_alive belongs in a connection_pool (on the client, a load "
        "balancer, or a server that makes calls) (got True)",
    ),
    (
        "TLS CPU on a balancer",
        lambda d: _nodes(d)["load_balancer"].update(tls={"cpu_s": 0.001}),
        f"{LB}.tls.cpu_s: load balancers have no CPU model: give TLS CPU time to servers",
    ),
    (
        "zero balancer sockets",
        lambda d: _nodes(d)["load_balancer"].update(resources={"max_connections": 0}),
        f"{LB}.resources.max_connections: must be >= 1 (got 0)",
    ),
    (
        "empty pool",
        lambda d: _nodes(d)["client"].update(connection_pool={"pool_size": 0}),
        "topology_graph.nodes.client.connection_pool.pool_size: must be >= 1 (got 0)",
    ),
    (
        "misspelled keep-alive",
        lambda d: _nodes(d)["client"].update(connection_pool={"keepalive": True}),
        "topology_graph.nodes.client.connection_pool.keepalive: unknown field "
        "(did you mean 'keep_alive'?)",
    ),
    (
        "keep-alive not a boolean",
        lambda d: _nodes(d)["client"].update(connection_pool={"keep_alive": "yes"}),
        "topology_graph.nodes.client.connection_pool.keep_alive: must be true or false (got 'yes')",
    ),
    (
        "zero bandwidth",
        lambda d: d["topology_graph"]["edges"][0].update(bandwidth_mbps=0),
        "topology_graph.edges[0].bandwidth_mbps: must be >= 0.001 Mbit/s: 1 kbit/s, slower "
        "than any real link; slower still, transfers never end (got 0)",
    ),
    (
        "negative request body",
        lambda d: _nodes(d)["servers"][0]["endpoints"][0].update(request_kb=-1),
        f"{SERVER}.endpoints[0].request_kb: must be >= 0 (got -1)",
    ),
    (
        "negative response body",
        lambda d: _nodes(d)["servers"][0]["endpoints"][0].update(response_kb=-5),
        f"{SERVER}.endpoints[0].response_kb: must be >= 0 (got -5)",
    ),
    (
        "negative TLS round trips",
        lambda d: _nodes(d)["servers"][0].update(tls={"round_trips": -1}),
        f"{SERVER}.tls.round_trips: must be >= 0 (got -1)",
    ),
    (
        "zero idle timeout",
        lambda d: _nodes(d)["load_balancer"].update(connection_pool={"idle_timeout_s": 0}),
        f"{LB}.connection_pool.idle_timeout_s: must be > 0 (got 0)",
    ),
    (
        "balancer memory too small for its sockets",
        lambda d: _nodes(d)["load_balancer"].update(
            resources={"ram_mb": 1, "max_connections": 100, "connection_memory_kb": 64}
        ),
        f"{LB}.resources.connection_memory_kb: max_connections x connection_memory_kb needs "
        "6.25 MB but ram_mb is 1: lower max_connections (or leave it unset to let memory be the "
        "limit) (got 64.0)",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_connection_settings_are_named(mutate: Mutation, message: str) -> None:
    data = _data()
    mutate(data)
    with pytest.raises(asyncflow.ScenarioError, match=f"^{re.escape(message)}$"):
        asyncflow.parse_scenario(data)


def test_good_connection_settings_load() -> None:
    data = _data()
    _resources(data).update(max_connections=100, listen_backlog=128, connection_memory_kb=64)
    _nodes(data)["client"]["connection_pool"] = {"keep_alive": True, "pool_size": 8}
    _nodes(data)["load_balancer"]["resources"] = {"ram_mb": 256, "max_connections": 500}
    _nodes(data)["servers"][0]["tls"] = {"round_trips": 1, "cpu_s": 0.0015}
    scenario = asyncflow.parse_scenario(data)
    assert scenario.topology_graph.nodes.client.connection_pool is not None
    assert scenario.topology_graph.nodes.servers[0].server_resources.max_connections == 100
