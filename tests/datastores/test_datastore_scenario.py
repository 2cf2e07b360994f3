"""Databases, caches, pools and their steps: what loads, and the messages of what does not."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from asyncflow.errors import ScenarioError
from asyncflow.scenario import parse_scenario
from asyncflow.scenario.schema import scenario_json_schema
from tests.datastores.conftest import stores

Mutation = Callable[[dict[str, Any]], object]
NODES = "topology_graph.nodes"
STEP = f"{NODES}.servers[0].endpoints[0].steps[2].step_operation.cache_get"
QUERY = f"{STEP}.on_miss[0].step_operation.db_query"


def _nodes(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = d["topology_graph"]["nodes"]
    return found


def _server(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = _nodes(d)["servers"][0]
    return found


def _db(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = _nodes(d)["databases"][0]
    return found


def _cache(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = _nodes(d)["caches"][0]
    return found


def _get(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = _server(d)["endpoints"][0]["steps"][2]["step_operation"]["cache_get"]
    return found


def _query(d: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = _get(d)["on_miss"][0]["step_operation"]["db_query"]
    return found


def _fixed_ratio(d: dict[str, Any]) -> None:
    _nodes(d)["caches"][0] = {"id": "cache-1", "hit_ratio": 0.5, "hit_latency": 0.001}


CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "unknown database",
        lambda d: _query(d).update(database="db-2"),
        [
            f"{QUERY}.database: unknown database 'db-2' (did you mean 'db-1'?)",
            f"{NODES}.databases[0]: database 'db-1' receives no queries (no db_query step "
            "names it)",
        ],
    ),
    (
        "unknown query",
        lambda d: _query(d).update(query="get_usr"),
        [f"{QUERY}.query: 'db-1' has no query 'get_usr' (did you mean 'get_user'?)"],
    ),
    (
        "no edge back from the database",
        lambda d: d["topology_graph"]["edges"].pop(4),
        [
            f"{QUERY}.database: no edge from 'db-1' back to 'srv-1': its answers have no way "
            "to travel"
        ],
    ),
    (
        "no edge to the cache",
        lambda d: d["topology_graph"]["edges"].pop(5),
        [f"{STEP}.cache: no edge from 'srv-1' to 'cache-1': the call has no way to travel"],
    ),
    ("repeat 0", lambda d: _query(d).update(repeat=0), [f"{QUERY}.repeat: must be >= 1 (got 0)"]),
    (
        "too many workers",
        lambda d: _db(d).update(workers=5000),
        [
            f"{NODES}.databases[0].workers: must be <= 1,024 cores: larger machines are "
            "modelled as several servers behind a load balancer (got 5000)"
        ],
    ),
    (
        "duplicate query",
        lambda d: _db(d)["queries"].append(dict(_db(d)["queries"][0])),
        [
            f"{NODES}.databases[0].queries[1].name: duplicate query name (also queries[0]) "
            "(got 'get_user')"
        ],
    ),
    (
        "a fixed ratio and a store",
        lambda d: _cache(d).update(hit_ratio=0.5),
        [
            f"{NODES}.caches[0].{key}: not allowed with hit_ratio (a fixed ratio has no store)"
            for key in ("capacity_items", "eviction", "keys")
        ],
    ),
    (
        "neither a ratio nor a store",
        lambda d: (_cache(d).pop("capacity_items"), _cache(d).pop("keys")),
        [
            f"{NODES}.caches[0].capacity_items: required (or give hit_ratio for a fixed ratio)",
            f"{NODES}.caches[0].keys: required with capacity_items",
        ],
    ),
    (
        "ttl without ttl_s",
        lambda d: _cache(d).update(eviction="ttl"),
        [f"{NODES}.caches[0].ttl_s: required for eviction ttl"],
    ),
    (
        "ttl_s with lru",
        lambda d: _cache(d).update(ttl_s=5),
        [f"{NODES}.caches[0].ttl_s: only allowed with eviction ttl (got 5.0)"],
    ),
    (
        "an exponent for uniform keys",
        lambda d: _cache(d)["keys"].update(popularity="uniform"),
        [f"{NODES}.caches[0].keys.exponent: only allowed with popularity zipf (got 0.9)"],
    ),
    (
        "coalesce given as a number",
        lambda d: _cache(d).update(coalesce=0),
        [f"{NODES}.caches[0].coalesce: must be true or false (got 0)"],
    ),
    (
        "too many keys",
        lambda d: _cache(d)["keys"].update(count=10**8),
        [
            f"{NODES}.caches[0].keys.count: must be <= 10,000,000 keys: the popularity of "
            "every key is tabulated before the run (got 100000000)"
        ],
    ),
    (
        "coalescing a fixed ratio",
        lambda d: (_fixed_ratio(d), _cache(d).update(coalesce=True), d.pop("events")),
        [
            f"{NODES}.caches[0].coalesce: needs capacity_items: a fixed hit_ratio has no keys "
            "to coalesce on (got True)"
        ],
    ),
    (
        "flushing a fixed ratio",
        _fixed_ratio,
        [
            "events[0].target_id: a cache_flush event needs a cache with a store "
            "(capacity_items), 'cache-1' is a cache with a fixed hit_ratio (nothing to flush)"
        ],
    ),
    (
        "unknown cache",
        lambda d: _get(d).update(cache="cache-2"),
        [
            f"{STEP}.cache: unknown cache 'cache-2' (neither a cache node nor a local cache of "
            "'srv-1') (did you mean 'cache-1'?)",
            f"{NODES}.caches[0]: cache 'cache-1' receives no lookups (no cache_get step names it)",
        ],
    ),
    (
        "a ram step on a miss",
        lambda d: _get(d)["on_miss"].append(
            {"kind": "ram", "step_operation": {"necessary_ram": 1}}
        ),
        [f"{STEP}.on_miss[1].kind: on_miss holds cpu, io and db_query steps only (got 'ram')"],
    ),
    (
        "a pool to an unknown database",
        lambda d: _server(d)["database_pools"][0].update(database="db-9"),
        [
            f"{NODES}.servers[0].database_pools[0].database: unknown database 'db-9' "
            "(did you mean 'db-1'?)"
        ],
    ),
    (
        "two pools to one database",
        lambda d: _server(d)["database_pools"].append({"database": "db-1", "size": 2}),
        [
            f"{NODES}.servers[0].database_pools[1].database: a second pool to this database "
            "(also database_pools[0]) (got 'db-1')"
        ],
    ),
    (
        "a pool of size 0",
        lambda d: _server(d)["database_pools"][0].update(size=0),
        [f"{NODES}.servers[0].database_pools[0].size: must be >= 1 (got 0)"],
    ),
    (
        "a flush with an end",
        lambda d: d["events"][0].update(end={"kind": "server_up", "t_end": 70}),
        ["events[0].end: not allowed for cache_flush (a flush happens at one instant)"],
    ),
    (
        "a flush of a database",
        lambda d: d["events"][0].update(target_id="db-1"),
        [
            "events[0].target_id: a cache_flush event needs a cache with a store "
            "(capacity_items), 'db-1' is a database"
        ],
    ),
    (
        "an outage without an end",
        lambda d: d["events"].append(
            {"event_id": "o", "target_id": "db-1", "start": {"kind": "server_down", "t_start": 5}}
        ),
        ["events[1].end: required field missing"],
    ),
    (
        "a call to a database",
        lambda d: _server(d)["endpoints"][0]["steps"][0].update(
            kind="call", step_operation={"call": {"target": "db-1"}}
        ),
        [
            f"{NODES}.servers[0].endpoints[0].steps[0].step_operation.call.target: 'db-1' is a "
            "database: calls go to a server or a load balancer"
        ],
    ),
    (
        "a database nobody queries",
        lambda d: _nodes(d)["databases"].append(
            {"id": "db-2", "queries": [{"name": "q", "latency": 0.001}]}
        ),
        [f"{NODES}.databases[1]: database 'db-2' receives no queries (no db_query step names it)"],
    ),
]


def test_the_base_scenario_loads_and_passes_the_schema() -> None:
    data = stores()
    scenario = parse_scenario(data)
    jsonschema.validate(data, scenario_json_schema())
    nodes = scenario.topology_graph.nodes
    assert [d.id for d in nodes.databases] == ["db-1"]
    assert nodes.caches[0].policy == "lru"
    assert nodes.servers[0].pool_id(nodes.servers[0].database_pools[0]) == "srv-1-db-1"
    assert scenario.events[0].is_flush
    assert scenario.events[0].t_end == 60


@pytest.mark.parametrize(
    ("mutation", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_datastores_are_named_with_path_rule_and_value(
    mutation: Mutation, expected: list[str]
) -> None:
    data = stores()
    mutation(data)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    assert list(info.value.problems) == expected


def test_the_schema_refuses_a_flush_with_an_end() -> None:
    data = stores()
    data["events"][0]["end"] = {"kind": "server_up", "t_end": 70}
    with pytest.raises(jsonschema.ValidationError, match=re.escape("is not of type 'null'")):
        jsonschema.validate(data, scenario_json_schema())


def test_a_local_cache_and_an_outage_of_a_database_load() -> None:
    data = stores()
    _server(data)["local_caches"] = [{"id": "near", "hit_ratio": 0.9}]
    _get(data)["cache"] = "near"
    data["topology_graph"]["nodes"].pop("caches")
    data["topology_graph"]["edges"] = data["topology_graph"]["edges"][:5]
    data["events"] = [
        {
            "event_id": "db-out",
            "target_id": "db-1",
            "start": {"kind": "server_down", "t_start": 10},
            "end": {"kind": "server_up", "t_end": 20},
        }
    ]
    scenario = parse_scenario(data)
    assert scenario.topology_graph.nodes.servers[0].local_caches[0].hit_ratio == 0.9


def test_the_builder_assembles_the_same_scenario_as_a_file() -> None:
    from asyncflow.scenario.builder import (
        ScenarioBuilder,
        cache_get,
        cpu,
        database_pool,
        db_query,
        endpoint,
        exponential,
        keys,
        local_cache,
    )

    built = (
        ScenarioBuilder("stores")
        .workload(users=20, requests_per_minute=60)
        .client()
        .server(
            "api",
            endpoints=[
                endpoint(
                    "/user",
                    cpu(0.001),
                    cache_get("near", cpu(0.0002)),
                    cache_get("redis", db_query("db", "get", repeat=2)),
                )
            ],
            database_pools=[database_pool("db", size=3, acquire_timeout_s=0.5, hold="request")],
            local_caches=[local_cache("near", hit_ratio=0.5)],
        )
        .database("db", workers=2, max_connections=10, queries={"get": exponential(0.004)})
        .cache("redis", hit_latency=0.0005, capacity_items=100, keys=keys(1000, exponent=1.2))
        .flush("redis", at=30)
        .wire(latency=0.0005)
        .settings(horizon_s=60)
        .build()
    )
    nodes = built.topology_graph.nodes
    assert nodes.databases[0].workers == 2
    assert nodes.caches[0].keys is not None
    assert nodes.caches[0].keys.exponent == 1.2
    assert nodes.servers[0].database_pools[0].hold == "request"
    edges = {(e.source, e.target) for e in built.topology_graph.edges}
    assert {("api", "db"), ("db", "api"), ("api", "redis"), ("redis", "api")} <= edges
    assert ("api", "near") not in edges
