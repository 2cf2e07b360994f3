"""Calls that open connections: a calling server's keep-alive pool, and sockets at the callee."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import asyncflow
from asyncflow.errors import ScenarioError
from asyncflow.scenario import ScenarioBuilder
from asyncflow.scenario.builder import call, connection_pool, cpu, deterministic, endpoint, io

LATENCY_S = 0.001


def _scenario(pool: dict[str, Any] | None, *, round_trips: int = 0) -> Any:
    builder = (
        ScenarioBuilder("pooled calls")
        .workload(users=20, requests_per_minute=60, target="api")
        .client()
        .server(
            "api",
            cpu_cores=2,
            endpoints=[endpoint("/page", cpu(0.0005), call("back", "/data"))],
            connection_pool=pool,
        )
        .server(
            "back",
            endpoints=[endpoint("/data", cpu(0.001), io(0.002))],
            max_connections=64,
            tls={"round_trips": round_trips} if round_trips else None,
        )
        .wire(latency=deterministic(LATENCY_S))
    )
    return builder.settings(horizon_s=60, seed=5).build()


def _handshakes(results: asyncflow.Results) -> np.ndarray:
    done = results.requests.outcome == 1
    return np.asarray(results.requests.phases()["handshake"][done], dtype=float)


def test_without_keep_alive_every_call_opens_a_connection() -> None:
    # one TCP round trip and one TLS round trip, each two crossings of 1 ms
    results = asyncflow.run(_scenario(connection_pool(keep_alive=False), round_trips=1))
    np.testing.assert_allclose(_handshakes(results), 4 * LATENCY_S, rtol=1e-6)


def test_a_keep_alive_pool_reuses_the_connections_of_calls() -> None:
    results = asyncflow.run(_scenario(connection_pool(pool_size=8)))
    handshakes = _handshakes(results)
    opened = np.count_nonzero(handshakes > 0)
    # about 0.33 calls in flight on average (20 req/s x 16.5 ms): a handful of
    # connections are ever opened, every other call reuses one
    assert 0 < opened <= 8
    assert handshakes.size > 1000
    np.testing.assert_allclose(handshakes[handshakes > 0], 2 * LATENCY_S, rtol=1e-6)


def test_without_a_pool_a_call_takes_a_socket_but_pays_no_set_up() -> None:
    results = asyncflow.run(_scenario(None))
    assert np.all(_handshakes(results) == 0)
    assert "connections" in results.level_metrics("back")


def test_a_pool_on_a_server_that_makes_no_calls_is_refused() -> None:
    data = _scenario(None).model_dump(exclude_none=True)
    data["topology_graph"]["nodes"]["servers"][1]["connection_pool"] = {"pool_size": 4}
    with pytest.raises(ScenarioError) as caught:
        asyncflow.scenario.parse_scenario(data)
    assert caught.value.problems == (
        "topology_graph.nodes.servers[1].connection_pool: this server makes no calls, and a pool "
        "keeps the connections of calls: set connection_pool on the client or the load balancer",
    )
