"""Builder helpers for databases and caches (re-exported by :mod:`asyncflow.scenario.builder`).

Each returns the mapping a YAML file would hold::

    from asyncflow.scenario.builder import (
        ScenarioBuilder, cache_get, cpu, database_pool, db_query, endpoint, exponential, keys
    )

    scenario = (
        ScenarioBuilder("api, cache, database")
        .workload(users=50, requests_per_minute=60)
        .client()
        .server(
            "api",
            endpoints=[endpoint("/user", cpu(0.001), cache_get("redis", db_query("db", "get")))],
            database_pools=[database_pool("db", size=10, acquire_timeout_s=1.0)],
        )
        .database("db", workers=4, queries={"get": exponential(0.004)})
        .cache("redis", hit_latency=0.0005, capacity_items=10_000, keys=keys(1_000_000))
        .wire(latency=0.0005)
        .build()
    )
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "cache_get",
    "cache_spec",
    "database_pool",
    "database_spec",
    "db_query",
    "keys",
    "local_cache",
    "store_targets",
]


def db_query(database: str, query: str, *, repeat: int = 1) -> dict[str, Any]:
    """A ``db_query`` step: run ``query`` of ``database`` ``repeat`` times in a row."""
    spec: dict[str, Any] = {"database": database, "query": query}
    if repeat != 1:
        spec["repeat"] = repeat
    return {"kind": "db_query", "step_operation": {"db_query": spec}}


def cache_get(cache: str, *on_miss: Mapping[str, Any]) -> dict[str, Any]:
    """A ``cache_get`` step: look up in ``cache``, run ``on_miss`` steps on a miss."""
    spec = {"cache": cache, "on_miss": [dict(step) for step in on_miss]}
    return {"kind": "cache_get", "step_operation": {"cache_get": spec}}


def keys(count: int, *, popularity: str = "zipf", exponent: float | None = None) -> dict[str, Any]:
    """The key space of a cache: ``count`` keys, Zipf (exponent 1 by default) or uniform."""
    spec: dict[str, Any] = {"count": count, "popularity": popularity}
    if exponent is not None:
        spec["exponent"] = exponent
    return spec


def database_pool(
    database: str,
    *,
    size: int,
    acquire_timeout_s: float | None = None,
    hold: str = "query",
    id: str | None = None,
) -> dict[str, Any]:
    """A server's pool of ``size`` connections to ``database`` (for ``server(database_pools=)``)."""
    spec: dict[str, Any] = {"database": database, "size": size, "hold": hold}
    if acquire_timeout_s is not None:
        spec["acquire_timeout_s"] = acquire_timeout_s
    if id is not None:
        spec["id"] = id
    return spec


def _cache_model(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None and value is not False}


def local_cache(
    id: str,
    *,
    hit_ratio: float | None = None,
    capacity_items: int | None = None,
    eviction: str | None = None,
    ttl_s: float | None = None,
    keys: Mapping[str, Any] | None = None,
    coalesce: bool = False,
    hit_latency: float = 0.0,
) -> dict[str, Any]:
    """A cache in a server's process (for ``server(local_caches=)``)."""
    spec = _cache_model(
        hit_ratio=hit_ratio,
        capacity_items=capacity_items,
        eviction=eviction,
        ttl_s=ttl_s,
        keys=dict(keys) if keys is not None else None,
        coalesce=coalesce,
    )
    return {"id": id, **spec, "hit_latency": hit_latency}


def database_spec(
    id: str, queries: Mapping[str, Any], workers: int, max_connections: int | None
) -> dict[str, Any]:
    """The mapping of a database node."""
    spec: dict[str, Any] = {
        "id": id,
        "workers": workers,
        "queries": [{"name": name, "latency": latency} for name, latency in queries.items()],
    }
    if max_connections is not None:
        spec["max_connections"] = max_connections
    return spec


def cache_spec(id: str, hit_latency: Any, **options: Any) -> dict[str, Any]:
    """The mapping of a remote cache node (``options``: the cache's other keys)."""
    keys_spec = options.pop("keys", None)
    spec = _cache_model(**options, keys=dict(keys_spec) if keys_spec is not None else None)
    if spec.get("workers") == 1:
        del spec["workers"]
    return {"id": id, "hit_latency": hit_latency, **spec}


def store_targets(server: Mapping[str, Any]) -> list[str]:
    """The databases and remote caches a server's steps reach (to wire their edges)."""
    local = {c.get("id") for c in server.get("local_caches", []) if isinstance(c, Mapping)}
    targets: list[str] = []

    def walk(steps: Any) -> None:
        for step in steps if isinstance(steps, list) else []:
            operation = step.get("step_operation", {}) if isinstance(step, Mapping) else {}
            if "db_query" in operation:
                targets.append(operation["db_query"].get("database"))
            elif "cache_get" in operation:
                cache = operation["cache_get"].get("cache")
                if cache not in local:
                    targets.append(cache)
                walk(operation["cache_get"].get("on_miss", []))
            elif "branch" in operation:
                for arm in operation["branch"]:
                    walk(arm.get("steps", []))

    for spec in server.get("endpoints", []):
        walk(spec.get("steps", []))
    return [t for t in targets if isinstance(t, str)]
