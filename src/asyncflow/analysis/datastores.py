"""Databases, pools and caches in results: what a run counted, and their summary blocks.

:func:`collect` copies the counters of a finished run's datastores into
plain records (:class:`Datastores`, kept on ``Results.datastores``); the
levels (busy workers, queue, connections, pool in use and waiting, cache
items) are ordinary levels of the run (``Results.series(metric, node)``).
:func:`datastore_blocks` turns both into the summary's ``databases``,
``pools`` and ``caches`` blocks (flat ids; see ``docs/reference/summary.md``).
Figures are of the measured window (after the warm-up), like the rest of
the summary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from asyncflow.metrics.sketch import QuantileSketch

if TYPE_CHECKING:
    from asyncflow.results import Results

__all__ = [
    "CacheStats",
    "DatabaseStats",
    "Datastores",
    "PoolStats",
    "collect",
    "datastore_blocks",
    "hit_ratio_series",
    "pool_of",
]


@dataclass(frozen=True, slots=True)
class DatabaseStats:
    """A database's (or a remote cache's) counters.

    Attributes:
        workers: Its workers.
        max_connections: Its connection limit (None: unlimited).
        refused: Connections refused after the warm-up.
        time_in: Per query name, seconds each answered query spent inside
            (waiting for a worker and running).
    """

    workers: int
    max_connections: int | None
    refused: int
    time_in: dict[str, QuantileSketch]


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A pool's counters (acquisitions at or after the warm-up).

    Attributes:
        server, database: Who holds it, and what it connects to.
        size: Connections at most; ``opened`` were opened in the run.
        acquired, waited, wait_s: Connections taken, taken after a wait, seconds waited.
        timeouts: Queries that failed with ``pool_timeout``.
        refused: Connections the database refused to open.
    """

    server: str
    database: str
    size: int
    opened: int
    acquired: int
    waited: int
    wait_s: float
    timeouts: int
    refused: int


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A cache's counters.

    Attributes:
        where: ``remote`` (a cache node) or the id of the server it lives in.
        capacity_items: Items it holds at most (None with a fixed ratio).
        hits, misses, coalesced: Lookups after the warm-up (coalesced:
            misses that waited for another request's fallback).
        evictions, size, flushes: Whole-run evictions, items held at the
            end, flushes.
        bin_hits, bin_lookups: Lookups per series bin (the whole run).
    """

    where: str
    capacity_items: int | None
    hits: int
    misses: int
    coalesced: int
    evictions: int
    size: int
    flushes: int
    bin_hits: np.ndarray
    bin_lookups: np.ndarray


@dataclass(frozen=True, slots=True)
class Datastores:
    """Every datastore of a run, by id (empty without datastores)."""

    databases: dict[str, DatabaseStats] = field(default_factory=dict)
    cache_nodes: dict[str, DatabaseStats] = field(default_factory=dict)
    pools: dict[str, PoolStats] = field(default_factory=dict)
    caches: dict[str, CacheStats] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.databases or self.pools or self.caches)


def _node_stats(node: Any) -> DatabaseStats:
    names = [p.name for p in node.programs]
    return DatabaseStats(
        workers=int(node.workers),
        max_connections=node.max_connections,
        refused=int(node.refused),
        time_in={name: sketch.copy() for name, sketch in zip(names, node.time_in, strict=True)},
    )


def collect(runtime: Any, scenario: Any) -> Datastores:
    """The counters of a finished run's datastores (``runtime``: the wiring's ``Runtime``)."""
    where = {c.id: s.id for s in scenario.topology_graph.nodes.servers for c in s.local_caches}
    return Datastores(
        databases={i: _node_stats(d) for i, d in runtime.databases.items()},
        cache_nodes={i: _node_stats(c) for i, c in runtime.cache_nodes.items()},
        pools={
            i: PoolStats(
                server=p.server_id,
                database=p.database.id,
                size=p.size,
                opened=p.opened,
                acquired=p.acquired,
                waited=p.waited,
                wait_s=p.wait_s,
                timeouts=p.timeouts,
                refused=p.refused,
            )
            for i, p in runtime.pools.items()
        },
        caches={
            i: CacheStats(
                where=where.get(i, "remote"),
                capacity_items=m.capacity,
                hits=m.hits,
                misses=m.misses,
                coalesced=m.coalesced,
                evictions=m.evictions,
                size=m.size,
                flushes=m.flushes,
                bin_hits=np.asarray(m.bin_hits, dtype=np.int64),
                bin_lookups=np.asarray(m.bin_lookups, dtype=np.int64),
            )
            for i, m in runtime.caches.items()
        },
    )


# --------------------------------------------------------------------------- summary blocks


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _level(results: Results, node: str, metric: str) -> tuple[float, float]:
    return results.level_mean(metric, node), results.level_max(metric, node)


def _time_in(sketches: dict[str, QuantileSketch]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, sketch in sketches.items():
        count = sketch.count
        out[name] = {
            "count": count,
            "mean_s": sketch.mean if count else None,
            "p50_s": sketch.quantile(0.5) if count else None,
            "p99_s": sketch.quantile(0.99) if count else None,
        }
    return out


def _node_block(results: Results, node: str, stats: DatabaseStats, unit: str) -> dict[str, Any]:
    busy, _ = _level(results, node, "busy_cores")
    queue_mean, queue_max = _level(results, node, "ready_queue")
    open_mean, open_max = _level(results, node, "connections")
    return {
        "workers": stats.workers,
        "utilization": busy / stats.workers,
        "queue_mean": queue_mean,
        "queue_max": queue_max,
        "connections_mean": open_mean,
        "connections_max": open_max,
        "max_connections": stats.max_connections,
        "refused": stats.refused,
        unit: _time_in(stats.time_in),
    }


def _pool_block(results: Results, pool_id: str, stats: PoolStats) -> dict[str, Any]:
    in_use_mean, in_use_max = _level(results, pool_id, "in_use")
    waiting_mean, waiting_max = _level(results, pool_id, "waiting")
    return {
        "server": stats.server,
        "database": stats.database,
        "size": stats.size,
        "opened": stats.opened,
        "in_use_mean": in_use_mean,
        "in_use_max": in_use_max,
        "waiting_mean": waiting_mean,
        "waiting_max": waiting_max,
        "acquired": stats.acquired,
        "waited": stats.waited,
        "wait_mean_s": _ratio(stats.wait_s, stats.acquired),
        "timeouts": stats.timeouts,
        "refused": stats.refused,
    }


def _cache_block(results: Results, cache_id: str, stats: CacheStats) -> dict[str, Any]:
    lookups = stats.hits + stats.misses
    block: dict[str, Any] = {
        "where": stats.where,
        "lookups": lookups,
        "hit_ratio": _ratio(stats.hits, lookups),
        "hits": stats.hits,
        "misses": stats.misses,
        "coalesced": stats.coalesced,
        "capacity_items": stats.capacity_items,
        "size": stats.size,
        "size_mean": None,
        "evictions": stats.evictions,
        "flushes": stats.flushes,
    }
    if stats.capacity_items is not None:
        block["size_mean"] = results.level_mean("items", cache_id)
    return block


def datastore_blocks(results: Results) -> dict[str, Any]:
    """The summary's ``databases``, ``pools`` and ``caches`` blocks (none without datastores)."""
    stores: Datastores = results.datastores
    if not stores:
        return {}
    caches = {i: _cache_block(results, i, c) for i, c in stores.caches.items()}
    for cache_id, node in stores.cache_nodes.items():
        caches[cache_id]["node"] = _node_block(results, cache_id, node, "lookups_s")
    return {
        "databases": {
            i: _node_block(results, i, d, "queries") for i, d in stores.databases.items()
        },
        "pools": {i: _pool_block(results, i, p) for i, p in stores.pools.items()},
        "caches": caches,
    }


def hit_ratio_series(results: Results, cache_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin starts and the hit ratio of the lookups in each bin (NaN where none)."""
    stats = results.datastores.caches[cache_id]
    starts = np.arange(len(stats.bin_lookups)) * results.bin_s
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(
            stats.bin_lookups > 0, stats.bin_hits / np.maximum(stats.bin_lookups, 1), math.nan
        )
    return starts, ratio


# --------------------------------------------------------------------------- attribution


def _pool_ids(results: Results) -> dict[tuple[str, str], str]:
    """(server, database) → the id of the server's pool to it."""
    return {
        (server.id, pool.database): server.pool_id(pool)
        for server in results.scenario.topology_graph.nodes.servers
        for pool in server.database_pools
    }


def pool_of(results: Results, server: str, database: str) -> str:
    """The id of ``server``'s pool to ``database`` (the server's id when it has none)."""
    for spec in results.scenario.topology_graph.nodes.servers:
        if spec.id == server:
            for pool in spec.database_pools:
                if pool.database == database:
                    return spec.pool_id(pool)
    return server


def store_seconds(
    results: Results, by_site: np.ndarray, totals: dict[tuple[str, str], float]
) -> None:
    """Add the time of critical-path calls that datastores served to ``totals``.

    ``by_site`` holds, per call site (row), the slot sums of the calls made
    there that a database or a cache served. Their hops go to their edges,
    their ``db`` and ``cache`` time to the database or cache, and their
    ``pool_wait`` to the pool of the calling server.
    """
    from asyncflow.metrics.phases import HOP_SLOTS, PHASES

    stores = {*results.datastores.databases, *results.datastores.cache_nodes}
    pools = _pool_ids(results)
    for site_index in np.flatnonzero(by_site.any(axis=1)).tolist():
        site = results.sites[site_index]
        if site.target not in stores:
            continue
        sums = by_site[site_index]
        edges = store_edges(results, site_index)
        for hop, slot in enumerate(HOP_SLOTS):
            name = edges[hop] if hop < len(edges) else None
            if sums[slot] > 0 and name is not None:
                totals[(name, "network")] = totals.get((name, "network"), 0.0) + float(sums[slot])
        for spec in PHASES:
            seconds = float(sum(sums[s] for s in spec.slots))
            if spec.name == "network" or seconds <= 0:
                continue
            node = site.target
            if spec.name == "pool_wait":
                node = pools.get((site.caller, site.target), site.caller)
            totals[(node, spec.name)] = totals.get((node, spec.name), 0.0) + seconds


def store_edges(results: Results, site_index: int) -> tuple[str | None, ...]:
    """The edges of the calls a datastore serves at a call site (one target, one path)."""
    return next(iter(results.sites[site_index].edges.values()), (None, None, None, None))


def store_utilizations(results: Results) -> list[tuple[str, str, float]]:
    """``(node, resource, mean utilisation)`` of database and cache workers and of pools."""
    stores = results.datastores
    uses: list[tuple[str, str, float]] = []
    for label, nodes in (
        ("database workers", stores.databases),
        ("cache workers", stores.cache_nodes),
    ):
        for node, stats in nodes.items():
            uses.append((node, label, results.level_mean("busy_cores", node) / stats.workers))
    for pool_id, pool in stores.pools.items():
        uses.append(
            (pool_id, "pool connections", results.level_mean("in_use", pool_id) / pool.size)
        )
    return uses
